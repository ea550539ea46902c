"""Video consistency mVC_n (VSPW ``VC_perclip.py``), computed in one streaming pass.

For a video of N scored frames and window length n, windows start at i = 0 … N−n−1 (the
official script never scores the last possible window; we keep that for comparability).
G = pixels whose GT is identical over the window, P = pixels whose prediction is identical,
VC = |G∩P| / |G|; windows with |G| = 0 are dropped; mVC_n is the mean over all windows pooled.

"Identical over frames i..i+n−1" equals "no change between consecutive frames after i", so we
keep, per pixel, the index of the frame where its current GT run (and prediction run) began:
the pixel is constant over the window iff its run began at or before i. Each frame is seen once.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class VideoConsistency:
    """Streaming accumulator: ``begin_video``, ``update`` per scored frame in order, ``end_video``.

    State kept as sums (sum of window VC values and window count per n), so results from
    several processes or resumed runs combine by addition.
    """

    def __init__(self, window_sizes: Sequence[int] = (8, 16)):
        if any(n < 2 for n in window_sizes):
            raise ValueError("window sizes must be at least 2")
        self.window_sizes = tuple(window_sizes)
        self.reset()

    def reset(self) -> None:
        self.vc_sum = {n: 0.0 for n in self.window_sizes}
        self.windows = {n: 0 for n in self.window_sizes}
        self._video_open = False

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

    def end_video(self) -> dict[int, tuple[float, int]]:
        """Closes the video; returns its (VC sum, window count) per n."""
        if not self._video_open:
            raise RuntimeError("end_video() without begin_video()")
        self._video_open = False
        per_video = {}
        for n, windows in self._pending.items():
            windows = windows[:-1]  # windows i = 0 … N−n−1: the one ending on the last frame is not scored
            ratios = [both / stable for both, stable in windows if stable > 0]
            total = float(sum(ratios))
            self.vc_sum[n] += total
            self.windows[n] += len(ratios)
            per_video[n] = (total, len(ratios))
        self._gt_prev = self._pred_prev = self._gt_run = self._pred_run = None
        return per_video

    def merge(self, other: VideoConsistency) -> None:
        for n in self.window_sizes:
            self.vc_sum[n] += other.vc_sum[n]
            self.windows[n] += other.windows[n]

    def compute(self) -> dict[int, float | None]:
        """mVC_n as a fraction, or None where no window was scored."""
        return {n: (self.vc_sum[n] / self.windows[n] if self.windows[n] else None) for n in self.window_sizes}
