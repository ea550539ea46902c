"""The release's cross-attention (its ``MulitHeadAttention``): q/k/v projections without bias, an output
projection with bias, softmax with scale 1/√(C/heads). Used by the RFE (8 heads × 32) and VTE (8 × 64)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class CrossAttention(nn.Module):
    def __init__(self, dim: int, heads: int = 8):
        super().__init__()
        self.heads = heads
        self.q_proj = nn.Linear(dim, dim, bias=False)
        self.k_proj = nn.Linear(dim, dim, bias=False)
        self.v_proj = nn.Linear(dim, dim, bias=False)
        self.proj = nn.Linear(dim, dim)

    def forward(self, queries: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        """…×N×C queries over …×M×C memory (keys = values) -> …×N×C."""
        c = queries.shape[-1]
        split = lambda x: x.unflatten(-1, (self.heads, c // self.heads)).transpose(-3, -2)  # noqa: E731
        q, k, v = split(self.q_proj(queries)), split(self.k_proj(memory)), split(self.v_proj(memory))
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(-3, -2).flatten(-2))
