"""Video Text Encoding as released (``VideoSpecificPrompt``, one layer), applied to each frame on its own.

For a frame, every class's 80 template embeddings x attend to the frame's 576 CLIP patch tokens
(LayerNorm ``norm`` on the tokens): y = x + Attn(LN₁ x), L = y + MLP(LN₃ y) (QuickGELU), and the text
becomes text + α⊙L. Because L keeps its residual, that is (1 + α)⊙text + α⊙(attention + MLP).
Frames are independent: no state passes from one to the next (the paper's figure draws a chain).
"""

from __future__ import annotations

import torch
from torch import nn

from ov2vss.attention import CrossAttention


class _QuickGELU(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


class PromptLayer(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.cross_attn = CrossAttention(dim, heads)
        self.norm1 = nn.LayerNorm(dim)
        self.norm3 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), _QuickGELU(), nn.Dropout(0.0), nn.Linear(4 * dim, dim))

    def forward(self, x: torch.Tensor, visual: torch.Tensor) -> torch.Tensor:
        x = x + self.cross_attn(self.norm1(x), visual)
        return x + self.mlp(self.norm3(x))


class VideoTextEncoding(nn.Module):
    def __init__(self, dim: int = 512):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.decoder = nn.ModuleList([PromptLayer(dim, dim // 64)])
        self.alpha = nn.Parameter(torch.full((dim,), 1e-4))

    def forward(self, text: torch.Tensor, patches: torch.Tensor) -> torch.Tensor:
        """``text``: C×P×D class-template embeddings; ``patches``: F×HW×D frames' tokens -> F×C×P×D α⊙L.

        Every (class, template) query of a frame attends to that frame's tokens alone, so the
        classes are run as one query sequence per frame (the release repeats the tokens per class).
        """
        frames, (classes, templates, dim) = patches.shape[0], text.shape
        x = text.reshape(1, classes * templates, dim).expand(frames, -1, -1)
        visual = self.norm(patches)
        for layer in self.decoder:
            x = layer(x, visual)
        return (self.alpha * x).reshape(frames, classes, templates, dim)
