"""Streaming metric accumulators and the score formulas."""

from ovbench.metrics.confusion import ConfusionMatrix
from ovbench.metrics.consistency import VideoConsistency
from ovbench.metrics.scores import harmonic, segmentation_scores

__all__ = ["ConfusionMatrix", "VideoConsistency", "harmonic", "segmentation_scores"]
