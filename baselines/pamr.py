"""Pixel-adaptive mask refinement (PAMR; Araslanov & Roth, CVPR 2020), as used by SCLIP and NACLIP.

Each pixel's 8 neighbours at every dilation d (3×3 ring, replicate padding) get affinities
a = softmax over neighbours of mean over channels of −|I(n) − I(p)| / (1e-8 + 0.1·σ(p)), where σ is
the per-channel standard deviation (unbiased) of the 3×3 dilated windows of all dilations pooled,
centres included. Logits are then propagated T times: M(p) ← Σ_n a_n · M(n).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

_RING = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


def _shifted(x: torch.Tensor, dy: int, dx: int, pad: int) -> torch.Tensor:
    """x (C×H×W) sampled at (y+dy, x+dx) with replicate padding ``pad`` ≥ |dy|, |dx|."""
    _, h, w = x.shape
    padded = F.pad(x[None], (pad, pad, pad, pad), mode="replicate")[0]
    return padded[:, pad + dy : pad + dy + h, pad + dx : pad + dx + w]


def pamr(image: torch.Tensor, logits: torch.Tensor, steps: int, dilations: Sequence[int]) -> torch.Tensor:
    """Refines ``logits`` (Q×H×W) along the colours of ``image`` (3×H×W, same size)."""
    if steps <= 0:
        return logits
    offsets = [(dy * d, dx * d, d) for d in dilations for dy, dx in _RING]
    windows = [_shifted(image, dy * d, dx * d, d) for d in dilations for dy, dx in [(0, 0)] + _RING]
    sigma = torch.stack(windows, dim=1).std(dim=1)  # 3×H×W
    scale = 1e-8 + 0.1 * sigma
    affinity = torch.stack([-(_shifted(image, dy, dx, d) - image).abs().div(scale).mean(0) for dy, dx, d in offsets])
    affinity = affinity.softmax(dim=0)  # N×H×W
    for _ in range(steps):
        logits = sum(a * _shifted(logits, dy, dx, d) for a, (dy, dx, d) in zip(affinity, offsets))
    return logits
