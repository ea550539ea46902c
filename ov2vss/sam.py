"""The SAM ViT-B image encoder as the OV2VSS release builds it (its ``ImageEncoderViT`` backbone).

It is SAM's encoder with three changes that move numbers, all kept here: the absolute positional
table has a class slot (1 × (64·64 + 1) × 768, resized bicubically to the token grid, the class token
then dropped), the block LayerNorms use PyTorch's default eps 1e-5 (SAM uses 1e-6), and one shared
neck (1×1 conv, LayerNorm2d, 3×3 conv, LayerNorm2d) is applied after every global-attention block,
giving four 256-channel maps, all at stride 16. Parameter names follow the checkpoint's ``backbone.*``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class SAMEncoderConfig:
    image_size: int = 1024  # sizes the positional table and the global blocks' relative-position tables
    patch_size: int = 16
    width: int = 768
    depth: int = 12
    heads: int = 12
    mlp_ratio: float = 4.0
    window: int = 14
    global_blocks: tuple[int, ...] = (2, 5, 8, 11)
    out_channels: int = 256

    @property
    def grid(self) -> int:
        return self.image_size // self.patch_size


class PatchEmbed(nn.Module):
    """16×16 patches; the image is first zero-padded right and bottom to a multiple of 16 (mmseg "corner")."""

    def __init__(self, patch_size: int, width: int):
        super().__init__()
        self.patch_size = patch_size
        self.projection = nn.Conv2d(3, width, patch_size, stride=patch_size)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        p = self.patch_size
        pad_h, pad_w = -images.shape[-2] % p, -images.shape[-1] % p
        if pad_h or pad_w:
            images = F.pad(images, (0, pad_w, 0, pad_h))
        return self.projection(images).permute(0, 2, 3, 1)  # B×h×w×C


class LayerNorm2d(nn.Module):
    """LayerNorm over the channels of a B×C×H×W map (eps 1e-6, as SAM's neck)."""

    def __init__(self, channels: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        x = (x - mean) / torch.sqrt(var + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


def relative_positions(table: torch.Tensor, size: int) -> torch.Tensor:
    """size×size×C embeddings of the offsets i − j along one axis, from a (2·S − 1)×C table.

    A table made for another size is first resized linearly along its rows (SAM's rule).
    """
    rows = 2 * size - 1
    if table.shape[0] != rows:
        table = F.interpolate(table.T[None], size=rows, mode="linear")[0].T
    offsets = torch.arange(size, device=table.device)
    return table[offsets[:, None] - offsets[None, :] + size - 1]


class Attention(nn.Module):
    """Multi-head self-attention over an H×W token grid with decomposed relative positions (MViTv2)."""

    def __init__(self, width: int, heads: int, table_size: int):
        super().__init__()
        self.heads = heads
        head_dim = width // heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.rel_pos_h = nn.Parameter(torch.zeros(2 * table_size - 1, head_dim))
        self.rel_pos_w = nn.Parameter(torch.zeros(2 * table_size - 1, head_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.attend(self.qkv(x)))

    def attend(self, qkv: torch.Tensor) -> torch.Tensor:
        """B×H×W×3C projected tokens -> B×H×W×C attention output (before ``proj``)."""
        b, h, w, width3 = qkv.shape
        width = width3 // 3
        q, k, v = qkv.reshape(b, h * w, 3, self.heads, -1).permute(2, 0, 3, 1, 4).unbind(0)  # B×heads×hw×d
        grid_q = q.reshape(b, self.heads, h, w, -1)
        bias_h = torch.einsum("bnyxc,ykc->bnyxk", grid_q, relative_positions(self.rel_pos_h, h))
        bias_w = torch.einsum("bnyxc,xkc->bnyxk", grid_q, relative_positions(self.rel_pos_w, w))
        bias = (bias_h[..., :, None] + bias_w[..., None, :]).reshape(b, self.heads, h * w, h * w)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)  # scale 1/√d, as the release
        return out.transpose(1, 2).reshape(b, h, w, width)


class MLPBlock(nn.Module):
    def __init__(self, width: int, hidden: int):
        super().__init__()
        self.lin1 = nn.Linear(width, hidden)
        self.lin2 = nn.Linear(hidden, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin2(F.gelu(self.lin1(x)))


class Block(nn.Module):
    """Pre-norm transformer block; ``window`` > 0 attends inside window×window tiles of the zero-padded grid."""

    def __init__(self, width: int, heads: int, mlp_ratio: float, window: int, grid: int):
        super().__init__()
        self.window = window
        self.norm1 = nn.LayerNorm(width)  # eps 1e-5: the release's torch.nn.LayerNorm(dim)
        self.attn = Attention(width, heads, window if window else grid)
        self.norm2 = nn.LayerNorm(width)
        self.mlp = MLPBlock(width, int(width * mlp_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm1(x)
        y = self._in_windows(y) if self.window else self.attn(y)
        x = x + y
        return x + self.mlp(self.norm2(x))

    def _in_windows(self, x: torch.Tensor) -> torch.Tensor:
        """Attention inside window×window tiles of the grid zero-padded to a multiple of the window.

        As in SAM, padded tokens are zeros after the norm and are attended to like any other (no
        mask). A zero token's q, k and v are the ``qkv`` bias, so the projection runs on the real
        tokens only and the padding is filled with the bias: the same numbers for fewer products.
        """
        b, h, w, _ = x.shape
        s = self.window
        hp, wp = h + (-h % s), w + (-w % s)
        qkv = self.attn.qkv(x)
        padded = self.attn.qkv.bias.expand(b, hp, wp, -1).clone()
        padded[:, :h, :w] = qkv
        c3 = qkv.shape[-1]
        tiles = padded.reshape(b, hp // s, s, wp // s, s, c3).permute(0, 1, 3, 2, 4, 5).reshape(-1, s, s, c3)
        out = self.attn.attend(tiles)
        c = out.shape[-1]
        out = out.reshape(b, hp // s, wp // s, s, s, c).permute(0, 1, 3, 2, 4, 5).reshape(b, hp, wp, c)
        return self.attn.proj(out[:, :h, :w])


class SAMImageEncoder(nn.Module):
    """B×3×H×W normalised images -> the neck's four B×256×⌈H/16⌉×⌈W/16⌉ maps (after each global block)."""

    def __init__(self, config: SAMEncoderConfig = SAMEncoderConfig()):
        super().__init__()
        self.config = config
        c = config
        self.patch_embed = PatchEmbed(c.patch_size, c.width)
        self.pos_embed = nn.Parameter(torch.zeros(1, c.grid * c.grid + 1, c.width))
        self.cls_token = nn.Parameter(torch.zeros(1, 1, c.width))  # in the checkpoint; dropped before the blocks
        self.blocks = nn.ModuleList(
            Block(c.width, c.heads, c.mlp_ratio, 0 if i in c.global_blocks else c.window, c.grid) for i in range(c.depth)
        )
        self.neck = nn.Sequential(
            nn.Conv2d(c.width, c.out_channels, 1, bias=False),
            LayerNorm2d(c.out_channels),
            nn.Conv2d(c.out_channels, c.out_channels, 3, padding=1, bias=False),
            LayerNorm2d(c.out_channels),
        )

    def positions(self, h: int, w: int) -> torch.Tensor:
        """h×w×C positional embeddings of the token grid.

        The release resizes its 64×64 table only when the token count differs from 64·64; a grid of
        another shape with the same count (32×128) gets the table's rows read in order, as there.
        """
        grid = self.config.grid
        table = self.pos_embed[0, 1:]
        if h * w == grid * grid:
            return table.reshape(h, w, -1)
        square = table.reshape(1, grid, grid, -1).permute(0, 3, 1, 2)
        resized = F.interpolate(square, size=(h, w), mode="bicubic", align_corners=False)
        return resized[0].permute(1, 2, 0)

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        x = self.patch_embed(images)
        x = x + self.positions(x.shape[1], x.shape[2])
        outs = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self.config.global_blocks:
                outs.append(self.neck(x.permute(0, 3, 1, 2)))
        return outs
