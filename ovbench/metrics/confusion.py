"""Pixel confusion matrix pooled over all scored frames, kept as sums (mergeable across processes)."""

from __future__ import annotations

import numpy as np

from ovbench.datasets.base import IGNORE

MAX_CLASSES = 255  # ids 0..254; 255 is the ignore / no-prediction value


class ConfusionMatrix:
    """Counts (GT class, predicted class) pairs over pixels whose GT is a class.

    A prediction outside [0, C) (255 = no prediction) is a miss: it adds to that pixel's GT
    total but to no class's prediction total. Internally every (GT byte, prediction byte) pair is
    counted in one 256×256 bincount per frame (the fastest form on uint8 labels); GT values
    outside [0, C) (ignore) are dropped and predictions outside [0, C) folded into "missed" on read.
    """

    def __init__(self, num_classes: int):
        if not 0 < num_classes <= MAX_CLASSES:
            raise ValueError(f"num_classes must be in 1..{MAX_CLASSES}, got {num_classes}")
        self.num_classes = num_classes
        self.reset()

    def reset(self) -> None:
        self._counts = np.zeros(256 * 256, dtype=np.int64)

    def update(self, gt: np.ndarray, pred: np.ndarray) -> None:
        """Adds one frame; ``gt`` and ``pred`` are uint8 arrays of the same shape."""
        if gt.shape != pred.shape:
            raise ValueError(f"shape mismatch: gt {gt.shape} vs prediction {pred.shape}")
        if gt.dtype != np.uint8 or pred.dtype != np.uint8:
            raise TypeError(f"gt and prediction must be uint8, got {gt.dtype} and {pred.dtype}")
        pairs = np.left_shift(gt, 8, dtype=np.uint16)
        pairs |= pred
        self._counts += np.bincount(pairs.ravel(), minlength=256 * 256)

    def merge(self, other: ConfusionMatrix) -> None:
        self._counts += other._counts

    @property
    def pair_counts(self) -> np.ndarray:
        """Read-only view of the raw counts: entry ``gt << 8 | pred`` over all 256×256 byte pairs."""
        view = self._counts.view()
        view.flags.writeable = False
        return view

    def add_pair_counts(self, counts: np.ndarray) -> None:
        """Adds raw counts as returned by :attr:`pair_counts` (from another process or a saved video)."""
        counts = np.asarray(counts)
        if counts.shape != self._counts.shape or not np.issubdtype(counts.dtype, np.integer):
            raise ValueError(f"expected {self._counts.shape[0]} integer pair counts, got {counts.dtype} {counts.shape}")
        self._counts += counts

    @property
    def matrix(self) -> np.ndarray:
        """C×C counts, rows = GT, columns = prediction."""
        c = self.num_classes
        return self._counts.reshape(256, 256)[:c, :c].copy()

    @property
    def missed(self) -> np.ndarray:
        """Per GT class, pixels whose prediction was outside [0, C)."""
        c = self.num_classes
        return self._counts.reshape(256, 256)[:c, c:].sum(axis=1)

    def state_dict(self) -> dict:
        return {"matrix": self.matrix.tolist(), "missed": self.missed.tolist()}

    @classmethod
    def from_state(cls, matrix, missed) -> ConfusionMatrix:
        matrix = np.asarray(matrix, dtype=np.int64)
        cm = cls(matrix.shape[0])
        c = cm.num_classes
        full = cm._counts.reshape(256, 256)
        full[:c, :c] = matrix
        full[:c, IGNORE] = np.asarray(missed, dtype=np.int64)  # any column >= C means "missed"
        return cm
