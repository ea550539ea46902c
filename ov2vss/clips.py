"""Which frames the release reads for a target frame t (``CustomDataset_video4.prepare_test_img2``).

The clip is [far] + steps: steps are t−9, t−6, t−3 (those ≥ 0) and t, except that t = 3…8 use
fixed index sets; for t ≤ 2 only [t] remains, so the clip has two frames and the network takes its
frame-level fallback. The far ("random") frame is the last frame of the video when
len − t > steps[0] (t is compared with the clip's earliest index, not the distance to it), else
frame 0.
"""

from __future__ import annotations

OFFSETS = (-9, -6, -3)
EARLY_STEPS = {3: (0, 1, 2, 3), 4: (0, 2, 3, 4), 5: (0, 2, 4, 5), 6: (0, 2, 4, 6), 7: (0, 3, 5, 7), 8: (0, 3, 6, 8)}


def released_clip(target: int, length: int) -> tuple[int, ...]:
    """Frame indices of the release's test clip for ``target`` in a video of ``length`` frames."""
    if not 0 <= target < length:
        raise ValueError(f"frame {target} outside a video of {length} frames")
    steps = EARLY_STEPS.get(target) or (*(target + o for o in OFFSETS if target + o >= 0), target)
    far = length - 1 if length - target > steps[0] else 0
    return (far, *steps)


def stf_chain(clip: tuple[int, ...], chain: str) -> tuple[int, ...]:
    """The four frames the STF chain visits, seed first, target last (video clips of five frames).

    ``released``: [far, t−9, t−6, t], t−3 unused, as the code runs; ``figure``: [t−9, t−6, t−3, t],
    as the paper's figure draws it (a research variant; the far frame still feeds the RFE).
    """
    far, a, b, c, t = clip
    return (far, a, b, t) if chain == "released" else (a, b, c, t)
