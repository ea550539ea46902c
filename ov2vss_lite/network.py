"""The OV2VSS network as plain PyTorch modules, configured by :class:`OV2VSSConfig`.

Data flow for a target frame t with references (t−9, t−6, t−3) and one extra frame:

    frozen CLIP ViT ──► dense patch embeddings (cost volume)  +  intermediate tokens (appearance U)
    STF:  I = U_{t−9};  I = STF_k(I, U_next) for U_next in (U_{t−6}, U_{t−3}, U_t)      → Î_t
    RFE:  class contexts of the extra frame (text-scored soft regions) → cross-attention  → Ô_t
    VTE:  text_{c,m} ← text_{c,m} + α ⊙ Block(text, patches_f) for each clip frame f, α₀ = 1e−4
    head: cosine cost volume (classes × templates) → template conv → spatial aggregation with
          appearance and text guidance → class aggregation → upsampling decoder → one logit per class

Nothing depends on the number of classes, so any vocabulary works at test time. Each video module
is an identity when switched off; with all three off the network is a frame-level CAT-Seg-style model.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class OV2VSSConfig:
    clip_dim: int  # E: dimension of CLIP's projected patch and text embeddings
    clip_width: int  # W: width of the ViT's residual stream (intermediate tokens)
    num_references: int = 3
    stf: bool = True
    rfe: bool = True
    vte: bool = True
    feature_dim: int = 128  # D: appearance / fusion features
    cost_dim: int = 64  # A: aggregated cost channels per class
    guidance_dim: int = 32  # appearance and text guidance channels
    pool_ratios: tuple[int, ...] = (2, 4, 6, 8)
    heads: int = 8
    vte_init: float = 1e-4

    def to_dict(self) -> dict:
        return asdict(self)


class PyramidPool(nn.Module):
    """Adaptive average pools at 1/r of each side, each refined by a depthwise 3×3 conv, as tokens."""

    def __init__(self, dim: int, ratios: tuple[int, ...]):
        super().__init__()
        self.ratios = ratios
        self.refine = nn.ModuleList(nn.Conv2d(dim, dim, 3, padding=1, groups=dim) for _ in ratios)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # B×D×h×w -> B×N×D
        h, w = x.shape[-2:]
        tokens = []
        for ratio, refine in zip(self.ratios, self.refine):
            pooled = F.adaptive_avg_pool2d(x, (max(round(h / ratio), 1), max(round(w / ratio), 1)))
            tokens.append((pooled + refine(pooled)).flatten(2))
        return self.norm(torch.cat(tokens, dim=2).transpose(1, 2))


class FusionStep(nn.Module):
    """One STF step: every pixel of the next frame attends to pooled tokens of the fused previous one.

    Cost O(HW·N) with N ≈ HW/13 pooled tokens. Each key token's affinity map (an h×w image) is
    refined by a small convolution before the softmax, as in the paper's affinity refinement.
    """

    def __init__(self, dim: int, ratios: tuple[int, ...]):
        super().__init__()
        self.pool = PyramidPool(dim, ratios)
        self.query, self.key, self.value = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.refine = nn.Conv2d(1, 1, 3, padding=1)
        self.out = nn.Linear(dim, dim)

    def forward(self, previous: torch.Tensor, current: torch.Tensor) -> torch.Tensor:
        b, d, h, w = current.shape
        tokens = self.pool(previous)  # B×N×D
        n = tokens.shape[1]
        q = self.query(current.flatten(2).transpose(1, 2))  # B×HW×D
        affinity = q @ self.key(tokens).transpose(1, 2) / math.sqrt(d)  # B×HW×N
        maps = affinity.transpose(1, 2).reshape(b * n, 1, h, w)
        maps = maps + self.refine(maps)
        attention = maps.reshape(b, n, h * w).transpose(1, 2).softmax(dim=-1)
        fused = self.out(attention @ self.value(tokens))  # B×HW×D
        return current + fused.transpose(1, 2).reshape(b, d, h, w)


class SpatialTemporalFusion(nn.Module):
    """The gradual cascade t−9 → t−6 → t−3 → t (one step, with its own weights, per transition)."""

    def __init__(self, dim: int, steps: int, ratios: tuple[int, ...]):
        super().__init__()
        self.steps = nn.ModuleList(FusionStep(dim, ratios) for _ in range(steps))

    def forward(self, references: list[torch.Tensor], target: torch.Tensor) -> torch.Tensor:
        fused = references[0]
        for step, frame in zip(self.steps, references[1:] + [target]):
            fused = step(fused, frame)
        return fused


class RandomFrameEnhancement(nn.Module):
    """Class contexts from an extra frame, read by the target through cross-attention.

    The extra frame's pooled tokens are scored against each class's text embedding, softmaxed over
    tokens (OCR-style soft regions) and averaged into one context vector per class; the target's
    pixels attend to those contexts (8 heads) and the result is added to the target's features.
    Scoring with text instead of a fixed-size classifier keeps the vocabulary open.
    """

    def __init__(self, dim: int, text_dim: int, heads: int, ratios: tuple[int, ...]):
        super().__init__()
        self.pool = PyramidPool(dim, ratios)
        self.token_proj = nn.Linear(dim, dim)
        self.text_proj = nn.Linear(text_dim, dim)
        self.attention = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm = nn.LayerNorm(dim)

    def forward(self, target: torch.Tensor, extra: torch.Tensor, class_text: torch.Tensor) -> torch.Tensor:
        b, d, h, w = target.shape
        tokens = self.pool(extra)  # B×N×D
        scores = self.token_proj(tokens) @ self.text_proj(class_text).transpose(-1, -2) / math.sqrt(d)  # B×N×C
        contexts = scores.softmax(dim=1).transpose(1, 2) @ tokens  # B×C×D
        query = target.flatten(2).transpose(1, 2)
        read, _ = self.attention(self.norm(query), contexts, contexts, need_weights=False)
        return target + read.transpose(1, 2).reshape(b, d, h, w)


class VideoTextEncoding(nn.Module):
    """Text embeddings adapted to the video: for each clip frame in order, every (class, template)
    embedding cross-attends to that frame's CLIP patch tokens (one layer with an MLP), and the result,
    scaled by a learnable per-channel α initialised at 1e−4, is added to the text (X-CLIP style)."""

    def __init__(self, dim: int, heads: int, init: float):
        super().__init__()
        self.norm_text, self.norm_visual = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.norm_attn, self.norm_mlp = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attention = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.alpha = nn.Parameter(torch.full((dim,), init))

    def forward(self, text: torch.Tensor, frames: list[torch.Tensor]) -> torch.Tensor:
        """text B×C×M×E, frames: B×HW×E patch tokens per clip frame (temporal order) -> B×C×M×E."""
        b, c, m, e = text.shape
        x = text.reshape(b, c * m, e)
        for patches in frames:
            visual = self.norm_visual(patches)
            y = self.norm_text(x)
            y = y + self.attention(self.norm_attn(y), visual, visual, need_weights=False)[0]
            y = y + self.mlp(self.norm_mlp(y))
            x = x + self.alpha * y
        return x.reshape(b, c, m, e)


class CostAggregationHead(nn.Module):
    """CAT-Seg-style head: cost volume → template conv → guided spatial and class aggregation → decoder."""

    def __init__(self, config: OV2VSSConfig, templates: int):
        super().__init__()
        a, g, d = config.cost_dim, config.guidance_dim, config.feature_dim
        self.template_conv = nn.Conv2d(templates, a, 7, padding=3)
        self.appearance = nn.Sequential(nn.Conv2d(d, g, 3, padding=1), nn.ReLU())
        self.text = nn.Linear(config.clip_dim, g)
        self.spatial = nn.Sequential(
            nn.Conv2d(a + 2 * g, a, 3, padding=1), nn.GroupNorm(4, a), nn.GELU(),
            nn.Conv2d(a, a, 3, padding=1), nn.GroupNorm(4, a), nn.GELU(),
        )  # fmt: skip
        self.class_attention = nn.MultiheadAttention(a, 4, batch_first=True)
        self.class_norm = nn.LayerNorm(a)
        self.upsample = nn.ConvTranspose2d(a, a // 2, 2, stride=2)
        self.decoder_guidance = nn.Sequential(nn.Conv2d(d, g, 3, padding=1), nn.ReLU())
        self.decoder = nn.Sequential(
            nn.Conv2d(a // 2 + g, a // 2, 3, padding=1), nn.GroupNorm(4, a // 2), nn.GELU(),
            nn.Conv2d(a // 2, 1, 1),
        )  # fmt: skip

    def forward(self, dense: torch.Tensor, text: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """dense B×h×w×E (unit), text B×C×M×E, features B×D×h×w -> logits B×C×2h×2w."""
        b, h, w, _ = dense.shape
        c, m = text.shape[1:3]
        cost = torch.einsum("bhwe,bcme->bcmhw", dense, F.normalize(text, dim=-1)).reshape(b * c, m, h, w)
        cost = self.template_conv(cost)
        appearance = self.appearance(features).repeat_interleave(c, dim=0)
        text_guide = self.text(F.normalize(text.mean(dim=2), dim=-1)).reshape(b * c, -1, 1, 1).expand(-1, -1, h, w)
        x = cost + self.spatial(torch.cat([cost, appearance, text_guide], dim=1))
        a = x.shape[1]
        per_pixel = x.reshape(b, c, a, h * w).permute(0, 3, 1, 2).reshape(b * h * w, c, a)
        normed = self.class_norm(per_pixel)
        per_pixel = per_pixel + self.class_attention(normed, normed, normed, need_weights=False)[0]
        x = per_pixel.reshape(b, h * w, c, a).permute(0, 2, 3, 1).reshape(b * c, a, h, w)
        up = self.upsample(x)
        guide = F.interpolate(features, size=up.shape[-2:], mode="bilinear", align_corners=False)
        guide = self.decoder_guidance(guide).repeat_interleave(c, dim=0)
        return self.decoder(torch.cat([up, guide], dim=1)).reshape(b, c, 2 * h, 2 * w)


class OV2VSSNetwork(nn.Module):
    """Everything trainable in OV2VSS (the CLIP ViT stays frozen outside this module)."""

    def __init__(self, config: OV2VSSConfig, templates: int, appearance_layers: int):
        super().__init__()
        self.config = config
        d = config.feature_dim
        self.appearance = nn.Sequential(nn.Linear(appearance_layers * config.clip_width, d), nn.LayerNorm(d))
        self.stf = SpatialTemporalFusion(d, config.num_references, config.pool_ratios) if config.stf else None
        self.rfe = RandomFrameEnhancement(d, config.clip_dim, config.heads, config.pool_ratios) if config.rfe else None
        self.vte = VideoTextEncoding(config.clip_dim, config.heads, config.vte_init) if config.vte else None
        self.head = CostAggregationHead(config, templates)
        self.aux_text = nn.Linear(config.clip_dim, d)
        self.aux_scale = nn.Parameter(torch.tensor(10.0))

    def appearance_features(self, tokens: torch.Tensor) -> torch.Tensor:
        """Intermediate ViT tokens B×h×w×(L·W) -> appearance features B×D×h×w."""
        return self.appearance(tokens).permute(0, 3, 1, 2)

    def forward(self, frames: dict, text: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``frames``: per role ("target", "references" list, "extra"), a (dense, tokens) pair from CLIP.

        Returns (logits B×Q×2h×2w, auxiliary logits B×Q×h×w from the fused feature before RFE).
        """
        dense_t, tokens_t = frames["target"]
        b = dense_t.shape[0]
        text = text.unsqueeze(0).expand(b, -1, -1, -1) if text.dim() == 3 else text
        class_text = F.normalize(text.mean(dim=2), dim=-1)
        fused = self.appearance_features(tokens_t)
        if self.stf is not None:
            references = [self.appearance_features(tokens) for _, tokens in frames["references"]]
            fused = self.stf(references, fused)
        aux_features = F.normalize(fused, dim=1)
        aux = torch.einsum("bdhw,bcd->bchw", aux_features, F.normalize(self.aux_text(class_text), dim=-1))
        if self.rfe is not None:
            fused = self.rfe(fused, self.appearance_features(frames["extra"][1]), class_text)
        if self.vte is not None:
            clip_frames = [dense for dense, _ in frames["references"]] + [dense_t]
            text = self.vte(text, [dense.flatten(1, 2) for dense in clip_frames])
        return self.head(dense_t, text, fused), aux * self.aux_scale
