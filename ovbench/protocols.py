"""Evaluation protocols: which names the model is asked for and which GT pixels count.

- ``gzsl`` (generalized zero-shot, SPNet/ZS3Net/ZegFormer): vocabulary = every class of the split;
  one confusion matrix; mIoU over all, seen and unseen classes; main score hIoU.
- ``zsl`` (OV2VSS tables): vocabulary = the unseen names; GT pixels of seen classes are ignored;
  mIoU and FWIoU over unseen classes; main score mIoU.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ovbench.datasets.base import IGNORE
from ovbench.errors import OvbenchError
from ovbench.metrics.scores import segmentation_scores
from ovbench.splits import ClassInfo, Split


@dataclass(frozen=True)
class Protocol:
    name: str
    main_metric: str
    unseen_only: bool

    def vocabulary(self, split: Split) -> tuple[ClassInfo, ...]:
        """The classes whose names the model receives, in the order of its prediction indices."""
        return tuple(c for c in split.classes if not (self.unseen_only and c.seen))

    def gt_lut(self, split: Split) -> np.ndarray:
        """Evaluation id -> GT id under this protocol (seen classes -> ignore for zsl)."""
        lut = np.arange(256, dtype=np.uint8)
        if self.unseen_only:
            lut[list(split.seen_ids)] = IGNORE
        return lut

    def vocabulary_lut(self, split: Split) -> np.ndarray:
        """A model's vocabulary index -> evaluation class id; anything else -> 255 (a miss)."""
        lut = np.full(256, IGNORE, dtype=np.uint8)
        ids = [c.id for c in self.vocabulary(split)]
        lut[: len(ids)] = ids
        return lut

    def scores(self, matrix: np.ndarray, missed: np.ndarray, split: Split) -> dict:
        if not self.unseen_only:
            return segmentation_scores(matrix, missed, split.seen_ids, split.unseen_ids)
        scores = segmentation_scores(matrix, missed, (), split.unseen_ids)
        scores.update(miou_seen=None, hiou=None, macc_seen=None)
        return scores


PROTOCOLS = {p.name: p for p in (Protocol("gzsl", "hiou", False), Protocol("zsl", "miou", True))}


def get_protocol(name: str) -> Protocol:
    if name not in PROTOCOLS:
        raise OvbenchError(f"--protocol {name!r} is unknown; choose one of: {', '.join(PROTOCOLS)}")
    return PROTOCOLS[name]
