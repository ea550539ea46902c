"""Dense CLIP image tokens the way CAT-Seg-family code takes them from an OpenAI-layout ViT.

The image is squashed to ``resolution``, the positional grid resized bicubically by size, blocks
0…L−2 run as trained, and the last block replaced by its value path (``forward_dense``): no
attention, out_proj(v(ln_1 x)) plus a residual, then the MLP; ``ln_post`` and ``proj`` on every token.
The residual is where implementations differ: OV2VSS adds each token's own input (``"token"``),
CAT-Seg adds the class token's input to every token (``"cls"``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def dense_tokens(
    clip: nn.Module, images: torch.Tensor, resolution: tuple[int, int], residual: str = "token",
    keep: Sequence[int] = (),
) -> tuple[torch.Tensor, list[torch.Tensor]]:  # fmt: skip
    """(B×(1+hw)×E projected tokens, class token first; the outputs of blocks ``keep``, B×(1+hw)×W).

    ``clip`` is an open_clip CLIP (or its ``visual``) with the OpenAI ViT layout.
    """
    if residual not in ("token", "cls"):
        raise ValueError(f"residual must be 'token' or 'cls', got {residual!r}")
    visual = getattr(clip, "visual", clip)
    x = F.interpolate(images, size=resolution, mode="bilinear", align_corners=False)
    x = visual.conv1(x).flatten(2).transpose(1, 2)
    x = torch.cat([visual.class_embedding.expand(x.shape[0], 1, -1).to(x.dtype), x], dim=1)
    x = x + resized_positions(visual.positional_embedding, x.shape[1]).to(x.dtype)
    x = visual.ln_pre(x)
    blocks = visual.transformer.resblocks
    kept = []
    for i, block in enumerate(blocks[:-1]):
        x = block(x)
        if i in keep:
            kept.append(x)
    x = value_path(blocks[-1], x, residual)
    return visual.ln_post(x) @ visual.proj, kept


def resized_positions(table: torch.Tensor, tokens: int) -> torch.Tensor:
    """The (1+hw)×W positional table for a square grid of ``tokens − 1`` patches: bicubic by size."""
    side = int((tokens - 1) ** 0.5)
    return table if tokens == table.shape[0] else grid_positions(table, (side, side))


def grid_positions(table: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """The (1+h·w)×W positional table of a (1+s²)×W one for an h×w patch grid: the class position
    kept, the s×s grid resized bicubically by size (align_corners=False, no antialiasing)."""
    side = int((table.shape[0] - 1) ** 0.5)
    if (side, side) == tuple(grid):
        return table
    square = table[1:].reshape(1, side, side, -1).permute(0, 3, 1, 2)
    resized = F.interpolate(square, size=tuple(grid), mode="bicubic", align_corners=False)
    return torch.cat([table[:1], resized[0].reshape(table.shape[1], -1).T])


def value_path(block: nn.Module, x: torch.Tensor, residual: str = "token") -> torch.Tensor:
    """The last block without attention: x' = out_proj(v(ln_1 x)) + (x or x[CLS]), then x' + MLP(ln_2 x')."""
    attn = block.attn
    width = x.shape[-1]
    v = F.linear(block.ln_1(x), attn.in_proj_weight[2 * width :], attn.in_proj_bias[2 * width :])
    x = attn.out_proj(v) + (x if residual == "token" else x[:, :1])
    return x + block.mlp(block.ln_2(x))
