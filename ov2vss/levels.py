"""Per-level projections of the backbone maps and the SegFormer fuse, as the release's decode head has them.

``linear_down_c1..4`` (per-pixel Linear 256→256) feed the STF, the random-frame branch and the
appearance guidance. ``linear_c1..4`` + ``linear_fuse`` (1×1 conv, BatchNorm, ReLU over the four
levels concatenated c4, c3, c2, c1) form the SegFormer fuse, which only guides clip frame 0 (and every
frame on the frame-level fallback path), halved in size first.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class PixelLinear(nn.Module):
    """A Linear applied to every pixel of a B×C×h×w map (the release's ``MLP``, key ``proj``)."""

    def __init__(self, dim_in: int, dim_out: int):
        super().__init__()
        self.proj = nn.Linear(dim_in, dim_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class ConvBNReLU(nn.Module):
    """mmcv's ``ConvModule`` with a norm: conv without bias, BatchNorm (eval statistics), ReLU."""

    def __init__(self, dim_in: int, dim_out: int):
        super().__init__()
        self.conv = nn.Conv2d(dim_in, dim_out, 1, bias=False)
        self.bn = nn.BatchNorm2d(dim_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


class LevelProjections(nn.Module):
    def __init__(self, dim_in: int = 256, dim: int = 256):
        super().__init__()
        for level in (4, 3, 2, 1):
            self.add_module(f"linear_c{level}", PixelLinear(dim_in, dim))
            self.add_module(f"linear_down_c{level}", PixelLinear(dim_in, dim))
        self.linear_fuse = ConvBNReLU(4 * dim, dim)

    def down(self, levels: list[torch.Tensor]) -> list[torch.Tensor]:
        """``linear_down_c1..4`` of the maps [c1, c2, c3, c4], each B×256×h×w."""
        return [self.get_submodule(f"linear_down_c{i + 1}")(x) for i, x in enumerate(levels)]

    def fuse(self, levels: list[torch.Tensor]) -> torch.Tensor:
        """The SegFormer fuse of [c1, c2, c3, c4] at c1's size, B×256×h×w."""
        size = levels[0].shape[-2:]
        parts = []
        for level in (4, 3, 2, 1):
            x = self.get_submodule(f"linear_c{level}")(levels[level - 1])
            if x.shape[-2:] != size:
                x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
            parts.append(x)
        return self.linear_fuse(torch.cat(parts, dim=1))


def halved(fused: torch.Tensor) -> torch.Tensor:
    """The fuse resized to (int(h/2), int(w/2)), bilinear: the guidance the release hands on."""
    h, w = fused.shape[-2:]
    return F.interpolate(fused, size=(int(h / 2), int(w / 2)), mode="bilinear", align_corners=False)
