"""Which frames a target frame is fused with.

A clip for target t holds references at t−9, t−6, t−3 (the OV2VSS offsets, configurable) and one
extra frame: at test time the frame farthest from t, in training one drawn uniformly from the video.

Near a video's start a reference before frame 0 is replaced by frame 0 (indices are clamped), so
the first frames are fused with a shorter, partly repeated history rather than skipped; a
one-frame video uses that frame everywhere. (The released code hard-codes index sets for t < 9 and
falls back to a frame-level path for t ≤ 2; clamping covers every case with one rule.)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def reference_indices(target: int, offsets: Sequence[int]) -> list[int]:
    """References for ``target`` in temporal order, clamped at the first frame."""
    return [max(target + offset, 0) for offset in sorted(offsets)]


def farthest_index(target: int, length: int) -> int:
    """The frame farthest from ``target``: the last frame, or the first when it is farther."""
    last = length - 1
    return last if last - target >= target else 0


def random_extra_index(target: int, length: int, exclude: Sequence[int], rng: np.random.Generator) -> int:
    """A frame drawn uniformly from the video, avoiding the clip's frames when the video allows."""
    candidates = [i for i in range(length) if i not in set(exclude) and i != target]
    if not candidates:
        return farthest_index(target, length)
    return int(candidates[rng.integers(len(candidates))])
