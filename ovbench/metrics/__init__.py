"""Streaming metric accumulators and the score formulas."""

from ovbench.metrics.confusion import ConfusionMatrix
from ovbench.metrics.consistency import VideoConsistency
from ovbench.metrics.scores import harmonic, segmentation_scores

# Display titles of the scalar metric keys, for table columns and figure labels.
METRIC_TITLES = {
    "miou": "mIoU", "miou_seen": "mIoU seen", "miou_unseen": "mIoU unseen", "hiou": "hIoU",
    "fwiou": "FWIoU", "pixel_acc": "pAcc", "mvc8": "mVC8", "mvc16": "mVC16",
}  # fmt: skip

__all__ = ["METRIC_TITLES", "ConfusionMatrix", "VideoConsistency", "harmonic", "segmentation_scores"]
