"""Video consistency mVC_n (VSPW ``VC_perclip.py``), computed in one streaming pass.

For a video of N scored frames and window length n, windows start at i = 0 … N−n−1 (the
official script never scores the last possible window; we keep that for comparability).
G = pixels whose GT is identical over the window, P = pixels whose prediction is identical,
VC = |G∩P| / |G|; windows with |G| = 0 are dropped; mVC_n is the mean over all windows pooled.

"Identical over frames i..i+n−1" equals "no change between consecutive frames after i", so we
keep, per pixel, the index of the frame where its current GT run (and prediction run) began:
the pixel is constant over the window iff its run began at or before i. Each frame is seen once.

The window values are summed *exactly*: each VC value is a float, and floats are dyadic rationals, so
their sum is kept as a :class:`~fractions.Fraction` and rounded once, in :meth:`compute`. The result
is therefore the correctly rounded mean of the window values, independent of the order in which
videos are added, of how they are split across processes and of resumed runs: merged or resumed
accumulators give bit-identical numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction

import numpy as np

ZERO = Fraction(0)


class VideoConsistency:
    """Streaming accumulator: ``begin_video``, ``update`` per scored frame in order, ``end_video``.

    State kept as sums (exact sum of window VC values and window count per n), so results from
    several processes or resumed runs combine by addition, exactly.
    """

    def __init__(self, window_sizes: Sequence[int] = (8, 16)):
        if any(n < 2 for n in window_sizes):
            raise ValueError("window sizes must be at least 2")
        self.window_sizes = tuple(window_sizes)
        self.reset()

    def reset(self) -> None:
        self.exact_sum: dict[int, Fraction] = {n: ZERO for n in self.window_sizes}
        self.windows = {n: 0 for n in self.window_sizes}
        self._video_open = False

    @property
    def vc_sum(self) -> dict[int, float]:
        """Sum of the window VC values per n (rounded to a float; :attr:`exact_sum` is exact)."""
        return {n: float(s) for n, s in self.exact_sum.items()}

    def begin_video(self) -> None:
        if self._video_open:
            raise RuntimeError("end_video() must close the previous video first")
        self._frame = 0
        self._gt_prev = self._pred_prev = None
        self._gt_run = self._pred_run = None
        self._pending: dict[int, list[tuple[int, int]]] = {n: [] for n in self.window_sizes}
        self._video_open = True

    def update(self, gt: np.ndarray, pred: np.ndarray) -> None:
        """Adds the next scored frame; the arrays are kept until the next call, so do not reuse them."""
        if not self._video_open:
            raise RuntimeError("begin_video() must come before update()")
        k = self._frame
        if k == 0:
            self._gt_run = np.zeros(gt.shape, dtype=np.int32)
            self._pred_run = np.zeros(gt.shape, dtype=np.int32)
        else:
            if gt.shape != self._gt_prev.shape:
                raise ValueError(f"frame size changed within a video: {self._gt_prev.shape} -> {gt.shape}")
            np.putmask(self._gt_run, gt != self._gt_prev, k)
            np.putmask(self._pred_run, pred != self._pred_prev, k)
        self._gt_prev, self._pred_prev = gt, pred
        for n in self.window_sizes:
            start = k - n + 1
            if start >= 0:
                stable_gt = self._gt_run <= start
                both = np.count_nonzero(stable_gt & (self._pred_run <= start))
                self._pending[n].append((both, int(np.count_nonzero(stable_gt))))
        self._frame += 1

    def end_video(self) -> dict[int, tuple[Fraction, int]]:
        """Closes the video; returns its (exact VC sum, window count) per n."""
        if not self._video_open:
            raise RuntimeError("end_video() without begin_video()")
        self._video_open = False
        per_video = {}
        for n, windows in self._pending.items():
            windows = windows[:-1]  # windows i = 0 … N−n−1: the one ending on the last frame is not scored
            ratios = [both / stable for both, stable in windows if stable > 0]
            per_video[n] = (sum(map(Fraction, ratios), ZERO), len(ratios))
        self._gt_prev = self._pred_prev = self._gt_run = self._pred_run = None
        self.add(per_video)
        return per_video

    def add(self, sums: Mapping[int, tuple[Fraction, int]]) -> None:
        """Adds finished videos' (exact VC sum, window count) per n, as returned by :meth:`end_video`."""
        if set(sums) != set(self.window_sizes):
            raise ValueError(f"window sizes {sorted(sums)} do not match {list(self.window_sizes)}")
        for n, (total, count) in sums.items():
            self.exact_sum[n] += Fraction(total)
            self.windows[n] += int(count)

    def merge(self, other: VideoConsistency) -> None:
        self.add({n: (other.exact_sum[n], other.windows[n]) for n in other.window_sizes})

    def compute(self) -> dict[int, float | None]:
        """mVC_n as a fraction (the correctly rounded mean), or None where no window was scored."""
        return {
            n: (float(self.exact_sum[n] / self.windows[n]) if self.windows[n] else None) for n in self.window_sizes
        }
