"""Dense patch embeddings from a CLIP ViT whose last block is replaced, per training-free method.

Blocks 0..L−2 run unchanged; the last block computes attention from the in-projection of
LN1(x) split into q, k, v (heads of width d, scale s = d^−½), then out_proj:

| method    | attention                         | residual + FFN in last block | source                   |
|-----------|-----------------------------------|------------------------------|--------------------------|
| clip      | softmax(q·kᵀ·s)                   | kept                         | CLIP                     |
| maskclip  | identity (value path only)        | kept (as MaskCLIP's code)    | Zhou et al., ECCV'22     |
| sclip     | softmax(q·qᵀ·s) + softmax(k·kᵀ·s) | kept                         | Wang et al., ECCV'24     |
| clearclip | softmax(q·qᵀ·s)                   | removed                      | Lan et al., ECCV'24      |
| naclip    | softmax(k·kᵀ·s + Ω), Ω Gaussian   | removed                      | Hajimiri et al., WACV'25 |

Ω[p, p'] = exp(−‖p − p'‖² / 2σ²) over patch-grid coordinates (σ = 5 patches), zero in the CLS row
and column. Tokens then go through ln_post and the projection, as in every method's code.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from clip_toolkit.positions import interpolate_positions


@dataclass(frozen=True)
class LastBlock:
    attention: str  # "qk", "v", "qq+kk", "qq", "kk+prior"
    keep_residual: bool


LAST_BLOCKS = {
    "clip": LastBlock("qk", True),
    "maskclip": LastBlock("v", True),
    "sclip": LastBlock("qq+kk", True),
    "clearclip": LastBlock("qq", False),
    "naclip": LastBlock("kk+prior", False),
}


def gaussian_prior(h: int, w: int, std: float, device=None, dtype=torch.float32) -> torch.Tensor:
    """NACLIP's neighbourhood prior Ω, (1+hw)×(1+hw) with the CLS token first."""
    ys, xs = torch.meshgrid(torch.arange(h, device=device), torch.arange(w, device=device), indexing="ij")
    coords = torch.stack([ys.flatten(), xs.flatten()], dim=1).to(torch.float32)
    prior = torch.exp(-torch.cdist(coords, coords).square() / (2 * std**2))
    return F.pad(prior, (1, 0, 1, 0)).to(dtype)


def last_block_forward(block, x: torch.Tensor, kind: LastBlock, prior: torch.Tensor | None = None) -> torch.Tensor:
    """The modified last block on tokens ``x`` (B×L×D, batch first)."""
    attn = block.attn
    b, n, dim = x.shape
    heads = attn.num_heads
    q, k, v = F.linear(block.ln_1(x), attn.in_proj_weight, attn.in_proj_bias).chunk(3, dim=-1)
    q, k, v = (t.reshape(b, n, heads, dim // heads).transpose(1, 2) for t in (q, k, v))
    sdpa = F.scaled_dot_product_attention
    if kind.attention == "qk":
        out = sdpa(q, k, v)
    elif kind.attention == "v":
        out = v
    elif kind.attention == "qq+kk":
        out = sdpa(q, q, v) + sdpa(k, k, v)
    elif kind.attention == "qq":
        out = sdpa(q, q, v)
    elif kind.attention == "kk+prior":
        out = sdpa(k, k, v, attn_mask=prior.to(k.dtype))
    else:
        raise ValueError(f"unknown attention {kind.attention!r}")
    out = attn.out_proj(out.transpose(1, 2).reshape(b, n, dim))
    if not kind.keep_residual:
        return out
    x = x + block.ls_1(out)
    return x + block.ls_2(block.mlp(block.ln_2(x)))


class DenseCLIP(torch.nn.Module):
    """Wraps an open_clip ViT image tower: normalised pixels (B×3×H×W) -> patch embeddings (B×h×w×E)."""

    def __init__(self, visual, method: str, gaussian_std: float = 5.0):
        super().__init__()
        self.visual = visual
        self.kind = LAST_BLOCKS[method]
        self.gaussian_std = gaussian_std
        self._positions: dict[tuple[int, int], torch.Tensor] = {}
        self._priors: dict[tuple[int, int], torch.Tensor] = {}

    @property
    def patch_size(self) -> int:
        return self.visual.conv1.kernel_size[0]

    def _grid_constants(self, h: int, w: int, device):
        if (h, w) not in self._positions:
            self._positions[(h, w)] = interpolate_positions(self.visual.positional_embedding, h, w)
            if self.kind.attention == "kk+prior":
                self._priors[(h, w)] = gaussian_prior(h, w, self.gaussian_std, device)
        return self._positions[(h, w)], self._priors.get((h, w))

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        v = self.visual
        x = v.conv1(pixels.to(v.conv1.weight.dtype))
        b, dim, h, w = x.shape
        positions, prior = self._grid_constants(h, w, x.device)
        x = x.flatten(2).transpose(1, 2)
        cls = v.class_embedding.to(x.dtype).expand(b, 1, dim)
        x = torch.cat([cls, x], dim=1) + positions.to(x.dtype)
        x = v.ln_pre(v.patch_dropout(x))
        for block in v.transformer.resblocks[:-1]:
            x = block(x)
        x = last_block_forward(v.transformer.resblocks[-1], x, self.kind, prior)
        tokens = v.ln_post(x)[:, 1:] @ v.proj
        return tokens.reshape(b, h, w, -1)
