"""CAT-Seg's cost aggregation and decoder as released (``transformer/model.py: Aggregator``), test time.

Per layer: spatial aggregation (two Swin blocks over each class's 24×24 cost map, windows of 12, the
second shifted by 6; the layer-normed appearance guidance joins the normed tokens for queries and keys
only), then class aggregation (per pixel, a linear-attention pass over the classes padded to 256 with
learned tokens, the projected text guidance joining queries and keys). At test the class pooling is
1×1, and the layer's residual is added to a result that already holds it: it returns 2x + Δ, as the
release does. The decoder upsamples ×2 twice with the CLIP-block guidance and ends in one logit per class.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

PAD_CLASSES = 256  # pad_len
WINDOW, SHIFT, HEADS = 12, 6, 4


class WindowAttention(nn.Module):
    def __init__(self, dim: int = 128, guidance: int = 128, heads: int = HEADS):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim + guidance, dim)
        self.k = nn.Linear(dim + guidance, dim)
        self.v = nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, dim: int, mask: torch.Tensor | None) -> torch.Tensor:
        """x: W×N×(dim+guidance) windows -> W×N×dim; ``mask``: windows-per-map×N×N additive (−100)."""
        w, n, _ = x.shape
        split = lambda t: t.reshape(w, n, self.heads, -1).transpose(1, 2)  # noqa: E731
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x[..., :dim]))
        bias = None
        if mask is not None:
            bias = mask.repeat(w // mask.shape[0], 1, 1)[:, None]  # windows are map-major
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        return self.proj(out.transpose(1, 2).reshape(w, n, -1))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int, act=nn.GELU):
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(dim, hidden), act(), nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


def shifted_window_mask(size: int, window: int, shift: int) -> torch.Tensor:
    """Swin's mask for the shifted windows of a size×size map: 0 within a region, −100 across."""
    regions = torch.zeros(size, size)
    spans = (slice(0, -window), slice(-window, -shift), slice(-shift, None))
    for i, (hs, ws) in enumerate((h, w) for h in spans for w in spans):
        regions[hs, ws] = i
    windows = _windows(regions[None, :, :, None], window).reshape(-1, window * window)
    return (windows[:, None, :] - windows[:, :, None]).ne(0).float() * -100.0


def _windows(x: torch.Tensor, s: int) -> torch.Tensor:  # B×H×W×C -> (B·nw)×s×s×C
    b, h, w, c = x.shape
    return x.reshape(b, h // s, s, w // s, s, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, s, s, c)


def _unwindows(x: torch.Tensor, s: int, h: int, w: int) -> torch.Tensor:
    c = x.shape[-1]
    return x.reshape(-1, h // s, w // s, s, s, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, h, w, c)


class SwinBlock(nn.Module):
    def __init__(self, dim: int = 128, guidance: int = 128, shift: int = 0, size: int = 24):
        super().__init__()
        self.shift = shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, guidance)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, 4 * dim)
        self.register_buffer("mask", shifted_window_mask(size, WINDOW, shift) if shift else None, persistent=False)

    def forward(self, x: torch.Tensor, guidance: torch.Tensor, h: int, w: int) -> torch.Tensor:
        """x: M×(h·w)×C per-class cost maps; guidance: M×(h·w)×G (normed appearance guidance)."""
        m, _, c = x.shape
        y = torch.cat([self.norm1(x), guidance], dim=-1).reshape(m, h, w, -1)
        if self.shift:
            y = torch.roll(y, shifts=(-self.shift, -self.shift), dims=(1, 2))
        windows = _windows(y, WINDOW).reshape(-1, WINDOW * WINDOW, y.shape[-1])
        y = _unwindows(self.attn(windows, c, self.mask), WINDOW, h, w)
        if self.shift:
            y = torch.roll(y, shifts=(self.shift, self.shift), dims=(1, 2))
        x = x + y.reshape(m, h * w, c)
        return x + self.mlp(self.norm2(x))


class SwinPair(nn.Module):
    def __init__(self, dim: int = 128, guidance: int = 128):
        super().__init__()
        self.block_1 = SwinBlock(dim, guidance, 0)
        self.block_2 = SwinBlock(dim, guidance, SHIFT)
        self.guidance_norm = nn.LayerNorm(guidance)

    def forward(self, x: torch.Tensor, appearance: torch.Tensor) -> torch.Tensor:  # B×C×T×H×W, B×G×H×W
        b, c, t, h, w = x.shape
        tokens = x.permute(0, 2, 3, 4, 1).reshape(b * t, h * w, c)
        guide = self.guidance_norm(appearance.flatten(2).transpose(1, 2)).repeat_interleave(t, dim=0)
        tokens = self.block_2(self.block_1(tokens, guide, h, w), guide, h, w)
        return tokens.reshape(b, t, h, w, c).permute(0, 4, 1, 2, 3)


class LinearAttentionLayer(nn.Module):
    """q, k from [x | guidance], v from x; φ = elu + 1; values scaled by 1/S and back (the release)."""

    def __init__(self, dim: int = 128, guidance: int = 128, heads: int = HEADS, eps: float = 1e-6):
        super().__init__()
        self.heads, self.eps = heads, eps
        self.q = nn.Linear(dim + guidance, dim)
        self.k = nn.Linear(dim + guidance, dim)
        self.v = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, guidance: torch.Tensor,
                padding: tuple[torch.Tensor, torch.Tensor, int] | None = None) -> torch.Tensor:  # fmt: skip
        """x: N×T×C, guidance N×T×G -> N×T×C. ``padding`` = (token C, guidance G, count): ``count`` copies
        of one token join every sequence's keys and values, as the release's padding to 256 classes
        does; their own outputs, which the release drops, are not computed, and their keys and values
        enter the sums once, times ``count`` (the same sums, in another order)."""
        n, t, c = x.shape
        count = padding[2] if padding is not None else 0
        s = t + count
        phi = lambda y: F.elu(y.reshape(*y.shape[:-1], self.heads, -1)) + 1  # noqa: E731
        joined = torch.cat([x, guidance], dim=-1)
        q, k = phi(self.q(joined)), phi(self.k(joined))
        v = self.v(x).reshape(n, t, self.heads, -1) / s
        kv = torch.einsum("nshd,nshv->nhdv", k, v)
        k_sum = k.sum(dim=1)
        if count:
            token, token_guidance = padding[0], padding[1]
            k_pad = phi(self.k(torch.cat([token, token_guidance])))
            v_pad = self.v(token).reshape(self.heads, -1) / s
            kv = kv + count * torch.einsum("hd,hv->hdv", k_pad, v_pad)
            k_sum = k_sum + count * k_pad
        z = 1 / (torch.einsum("nlhd,nhd->nlh", q, k_sum) + self.eps)
        return (torch.einsum("nlhd,nhdv,nlh->nlhv", q, kv, z) * s).reshape(n, t, c)


class ClassLayer(nn.Module):
    def __init__(self, dim: int = 128, guidance: int = 128):
        super().__init__()
        self.attention = LinearAttentionLayer(dim, guidance)
        self.MLP = nn.Sequential(nn.Linear(dim, 4 * dim), nn.ReLU(), nn.Linear(4 * dim, dim))
        self.norm1 = nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.padding_tokens = nn.Parameter(torch.zeros(1, 1, dim))
        self.padding_guidance = nn.Parameter(torch.zeros(1, 1, guidance))

    def forward(self, x: torch.Tensor, text: torch.Tensor) -> torch.Tensor:  # B×C×T×H×W, B×T×G
        """Per pixel, attention over the classes padded to 256 with the learned padding token (the
        padded rows' outputs are dropped by the release, so only the real rows are computed)."""
        b, c, t, h, w = x.shape
        pooled = x.permute(0, 3, 4, 2, 1).reshape(b * h * w, t, c)  # 1×1 pooling at test: identity
        padding = None
        if t < PAD_CLASSES:
            padding = (self.norm1(self.padding_tokens[0, 0]), self.padding_guidance[0, 0], PAD_CLASSES - t)
        guide = text.repeat_interleave(h * w, dim=0)
        pooled = pooled + self.attention(self.norm1(pooled), guide, padding)
        pooled = pooled + self.MLP(self.norm2(pooled))
        pooled = pooled.reshape(b, h, w, t, c).permute(0, 4, 3, 1, 2)
        return x + pooled  # pooled already holds x: 2x + Δ, as released


class AggregatorLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.swin_block = SwinPair()
        self.attention = ClassLayer()

    def forward(self, x, appearance, text):
        return self.attention(self.swin_block(x, appearance), text)


class Up(nn.Module):
    def __init__(self, dim_in: int, dim_out: int, guidance: int):
        super().__init__()
        self.up = nn.ConvTranspose2d(dim_in, dim_in - guidance, 2, stride=2)
        self.conv = nn.Module()
        self.conv.double_conv = nn.Sequential(
            nn.Conv2d(dim_in, dim_out, 3, padding=1, bias=False), nn.GroupNorm(dim_out // 16, dim_out), nn.ReLU(),
            nn.Conv2d(dim_out, dim_out, 3, padding=1, bias=False), nn.GroupNorm(dim_out // 16, dim_out), nn.ReLU(),
        )  # fmt: skip

    def forward(self, x: torch.Tensor, guidance: torch.Tensor) -> torch.Tensor:
        x = self.up(x)
        return self.conv.double_conv(torch.cat([x, guidance.repeat_interleave(x.shape[0] // guidance.shape[0], 0)], 1))


class Aggregator(nn.Module):
    """Names as the release's ``sem_seg_head.predictor.transformer``; ``embed`` is CLIP's joint width."""

    def __init__(self, embed: int = 512, templates: int = 1, hidden: int = 128):
        super().__init__()
        self.conv1 = nn.Conv2d(templates, hidden, 7, padding=3)
        self.guidance_projection = nn.Sequential(nn.Conv2d(embed, 128, 3, padding=1), nn.ReLU())
        self.text_guidance_projection = nn.Sequential(nn.Linear(embed, 128), nn.ReLU())
        self.decoder_guidance_projection = nn.ModuleList(
            [nn.Sequential(nn.Conv2d(256, 32, 3, padding=1), nn.ReLU()),
             nn.Sequential(nn.Conv2d(128, 16, 3, padding=1), nn.ReLU())]
        )  # fmt: skip
        self.layers = nn.ModuleList([AggregatorLayer(), AggregatorLayer()])
        self.decoder1 = Up(hidden, 64, 32)
        self.decoder2 = Up(64, 32, 16)
        self.head = nn.Conv2d(32, 1, 3, padding=1)

    def aggregate(self, embedded: torch.Tensor, appearance: torch.Tensor, text: torch.Tensor,
                  decoder: list[torch.Tensor]) -> torch.Tensor:  # fmt: skip
        """B×128×T×24×24 embedded costs -> B×T×96×96 logits."""
        x = embedded
        for layer in self.layers:
            x = layer(x, appearance, text)
        b, c, t, h, w = x.shape
        x = x.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)
        x = self.head(self.decoder2(self.decoder1(x, decoder[0]), decoder[1]))
        return x.reshape(b, t, *x.shape[-2:])
