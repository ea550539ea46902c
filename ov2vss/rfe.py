"""Random Frame Enhancement as released: the far frame's pooled tokens become 81 class contexts that
the target's fused feature reads with 8-head cross-attention, replacing it.

The 81 is the training vocabulary's size (80 VSPW seen classes + background), fixed in the weights
whatever the test vocabulary. The read-out is written back with a raw reshape of its hw×256 buffer
into 256×h×w (not a transpose), and it replaces the feature (no residual), both as in the release.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ov2vss.attention import CrossAttention
from ov2vss.stf import PyramidPool

TRAINING_CLASSES = 81


class RandomFrameEnhancement(nn.Module):
    def __init__(self, dim: int = 256, classes: int = TRAINING_CLASSES):
        super().__init__()
        for level in (1, 2, 3, 4):
            self.add_module(f"pooling_mhsa_c{level}", PyramidPool(dim))
        self.pooling_linear = nn.Linear(4 * dim, dim)
        self.dsn_head = nn.Sequential(
            nn.Conv2d(dim, 512, 3, padding=1), nn.BatchNorm2d(512), nn.ReLU(), nn.Dropout2d(0.05),
            nn.Conv2d(512, classes, 1),
        )  # fmt: skip
        self.mul_attention = CrossAttention(dim)

    def forward(self, far: list[torch.Tensor], target: torch.Tensor, shape: tuple[int, int],
                boundaries: dict | None = None) -> torch.Tensor:  # fmt: skip
        """``far``: the far frame's ``linear_down`` maps [c1..c4] (1×C×h×w); ``target``: the STF's hw×C
        feature of t -> the C×h×w feature that replaces it."""
        pooled = [self.get_submodule(f"pooling_mhsa_c{i + 1}")(x) for i, x in enumerate(far)]  # each 1×T×C
        tokens = self.pooling_linear(torch.cat(pooled, dim=-1))[0]  # T×C, levels concatenated c1..c4
        strip = tokens.T[None, :, None, :]  # 1×C×1×T: the 3×3 conv runs along the token sequence
        logits = self.dsn_head(strip)  # 1×81×1×T
        contexts = F.softmax(logits.flatten(2)[0], dim=1) @ tokens  # 81×C, softmax over the tokens
        read = self.mul_attention(target, contexts)  # hw×C
        if boundaries is not None:
            for i, p in enumerate(pooled):
                boundaries[f"rfe.pooled_random_frame.c{i + 1}"] = p[None]
            boundaries.update({
                "rfe.pooling_linear": tokens[None], "rfe.token_map": strip, "rfe.dsn_logits": logits,
                "rfe.class_contexts": contexts.T[None, :, :, None], "rfe.out": read[None],
            })  # fmt: skip
        return read.reshape(target.shape[1], *shape)  # raw reshape of the token-major buffer
