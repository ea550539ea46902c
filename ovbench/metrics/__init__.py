"""Streaming metric accumulators and the score formulas."""

from ovbench.metrics.confusion import ConfusionMatrix
from ovbench.metrics.consistency import VideoConsistency
from ovbench.metrics.scores import harmonic, segmentation_scores

# Display titles of the scalar metric keys, for table columns and figure labels.
METRIC_TITLES = {
    "miou": "mIoU", "miou_seen": "mIoU seen", "miou_unseen": "mIoU unseen", "hiou": "hIoU",
    "fwiou": "FWIoU", "pixel_acc": "pAcc", "mvc8": "mVC8", "mvc16": "mVC16",
}  # fmt: skip



def metric_title(key: str) -> str:
    """The column title of a result metric key: ovbench's own, a metric plugin's, else the key itself."""
    if key in METRIC_TITLES:
        return METRIC_TITLES[key]
    from ovbench.registry import METRICS

    for _, cls in METRICS.items():
        if key in cls.titles:
            return cls.titles[key]
    return key


__all__ = ["METRIC_TITLES", "metric_title", "ConfusionMatrix", "VideoConsistency", "harmonic", "segmentation_scores"]
