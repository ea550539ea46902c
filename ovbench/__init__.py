"""ovbench: benchmark and evaluation suite for open-vocabulary video semantic segmentation."""

__version__ = "0.1.0"
