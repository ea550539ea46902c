"""Evaluation protocols: which names the model is asked for, which GT pixels count, which columns a table shows.

- ``gzsl`` (generalized zero-shot, SPNet/ZS3Net/ZegFormer): vocabulary = every class of the split;
  one confusion matrix; mIoU over all, seen and unseen classes; main score hIoU.
- ``zsl`` (the zero-shot tables of the video OV papers): vocabulary = the unseen names; GT pixels of
  seen classes are ignored; mIoU and FWIoU over unseen classes; main score mIoU.

A protocol is data (a :class:`Protocol` instance); others register in ``ovbench.registry.PROTOCOLS``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ovbench.datasets.base import IGNORE
from ovbench.metrics.scores import segmentation_scores
from ovbench.splits import ClassInfo, Split


@dataclass(frozen=True)
class Protocol:
    name: str
    main_metric: str  # the key of ``scores`` a leaderboard ranks by
    unseen_only: bool  # ask for and score the unseen classes only
    columns: tuple[str, ...] = field(default=("miou",))  # metric keys a leaderboard shows, in order
    description: str = ""  # one line for ``ovbench list protocols`` and table footnotes

    def scores_class(self, seen: bool) -> bool:
        """Whether a class with this seen flag is asked for and scored."""
        return not (self.unseen_only and seen)

    def vocabulary(self, split: Split) -> tuple[ClassInfo, ...]:
        """The classes whose names the model receives, in the order of its prediction indices."""
        return tuple(c for c in split.classes if self.scores_class(c.seen))

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


GZSL = Protocol(
    "gzsl", "hiou", unseen_only=False, columns=("miou", "miou_seen", "miou_unseen", "hiou", "mvc8", "mvc16"),
    description="every class of the split asked for and scored; mIoU over all, seen and unseen classes, hIoU",
)
ZSL = Protocol(
    "zsl", "miou", unseen_only=True, columns=("miou", "fwiou", "mvc8", "mvc16"),
    description="the unseen names asked for, seen pixels ignored; mIoU and FWIoU over the unseen classes",
)


def get_protocol(name: str) -> Protocol:
    """The protocol registered as ``name``; unknown names and misnamed plugins are one clear error."""
    from ovbench.registry import PROTOCOLS

    return PROTOCOLS.named(name)
