"""Positional embeddings of a CLIP ViT for a token grid other than the one it was trained on."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def interpolate_positions(pos: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Positional embeddings for an h×w grid: bicubic on the patch part, CLS kept (SCLIP/NACLIP form)."""
    g = math.isqrt(pos.shape[0] - 1)
    if (h, w) == (g, g):
        return pos
    grid = pos[1:].reshape(1, g, g, -1).permute(0, 3, 1, 2)
    grid = F.interpolate(
        grid.float(), scale_factor=((h + 0.1) / g, (w + 0.1) / g), mode="bicubic",
        align_corners=False, recompute_scale_factor=False,
    )  # fmt: skip
    return torch.cat([pos[:1], grid.permute(0, 2, 3, 1).reshape(h * w, -1).to(pos.dtype)])
