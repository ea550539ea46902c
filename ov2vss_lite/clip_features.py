"""The frozen CLIP side of OV2VSS: dense patch embeddings, intermediate tokens, template embeddings."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from clip_toolkit.positions import interpolate_positions


class FrozenCLIPFeatures(nn.Module):
    """Runs the ViT once per frame and returns (dense B×h×w×E unit vectors, tokens B×h×w×(L·W)).

    ``dense`` are the last block's patch tokens after ln_post and the projection (the CAT-Seg cost
    volume input); ``tokens`` concatenates the residual stream after the given blocks (1-based), the
    appearance features taken from CLIP itself so no second backbone is needed.
    """

    def __init__(self, visual, layers: tuple[int, ...]):
        super().__init__()
        depth = len(visual.transformer.resblocks)
        if not layers or any(not 1 <= layer < depth for layer in layers):
            raise ValueError(f"appearance layers must lie in 1..{depth - 1}, got {layers}")
        self.visual = visual
        self.layers = tuple(sorted(layers))
        self._positions: dict[tuple[int, int], torch.Tensor] = {}
        self.requires_grad_(False)

    @torch.no_grad()
    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        v = self.visual
        x = v.conv1(pixels.to(v.conv1.weight.dtype))
        b, width, h, w = x.shape
        if (h, w) not in self._positions:
            self._positions[(h, w)] = interpolate_positions(v.positional_embedding, h, w)
        x = x.flatten(2).transpose(1, 2)
        x = torch.cat([v.class_embedding.to(x.dtype).expand(b, 1, width), x], dim=1)
        x = v.ln_pre(x + self._positions[(h, w)].to(x.dtype))
        taps = []
        for depth, block in enumerate(v.transformer.resblocks, start=1):
            x = block(x)
            if depth in self.layers:
                taps.append(x[:, 1:])
        dense = F.normalize((v.ln_post(x)[:, 1:] @ v.proj).float(), dim=-1).reshape(b, h, w, -1)
        tokens = torch.cat(taps, dim=-1).float().reshape(b, h, w, -1)
        return dense, tokens
