"""Pixel confusion matrix pooled over all scored frames, kept as sums (mergeable across processes)."""

from __future__ import annotations

import numpy as np

from ovbench.datasets.base import IGNORE


class ConfusionMatrix:
    """Counts (GT class, predicted class) pairs over pixels whose GT is a class.

    A prediction outside [0, C) (255 = no prediction) is a miss: it adds to that pixel's GT
    total but to no class's prediction total. Internally the matrix is (C+1)×(C+1): row C
    collects ignored GT pixels (dropped on read), column C collects misses.
    """

    def __init__(self, num_classes: int):
        if not 0 < num_classes < IGNORE:
            raise ValueError(f"num_classes must be in 1..254, got {num_classes}")
        self.num_classes = num_classes
        c = num_classes
        # Any GT value >= C (255 included) lands in row C; any prediction >= C in column C.
        self._row = np.minimum(np.arange(256), c).astype(np.uint16)
        self._col = self._row * 1  # same clamp for predictions
        self._row_offset = (self._row * (c + 1)).astype(np.uint16)
        self.reset()

    def reset(self) -> None:
        self._counts = np.zeros((self.num_classes + 1) * (self.num_classes + 1), dtype=np.int64)

    def update(self, gt: np.ndarray, pred: np.ndarray) -> None:
        """Adds one frame; ``gt`` and ``pred`` are uint8 arrays of the same shape."""
        if gt.shape != pred.shape:
            raise ValueError(f"shape mismatch: gt {gt.shape} vs prediction {pred.shape}")
        index = self._row_offset[gt].ravel()
        index += self._col[pred].ravel()
        self._counts += np.bincount(index, minlength=self._counts.size)

    def merge(self, other: ConfusionMatrix) -> None:
        self._counts += other._counts

    @property
    def matrix(self) -> np.ndarray:
        """C×C counts, rows = GT, columns = prediction."""
        c = self.num_classes
        return self._counts.reshape(c + 1, c + 1)[:c, :c].copy()

    @property
    def missed(self) -> np.ndarray:
        """Per GT class, pixels whose prediction was outside [0, C)."""
        c = self.num_classes
        return self._counts.reshape(c + 1, c + 1)[:c, c].copy()

    def state_dict(self) -> dict:
        return {"matrix": self.matrix.tolist(), "missed": self.missed.tolist()}

    @classmethod
    def from_state(cls, matrix, missed) -> ConfusionMatrix:
        matrix = np.asarray(matrix, dtype=np.int64)
        cm = cls(matrix.shape[0])
        full = cm._counts.reshape(cm.num_classes + 1, cm.num_classes + 1)
        full[: cm.num_classes, : cm.num_classes] = matrix
        full[: cm.num_classes, cm.num_classes] = np.asarray(missed, dtype=np.int64)
        return cm
