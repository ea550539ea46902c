"""The release's cost volume and decoder (``hyper_correlation_copy.Corr``), per CLIP frame.

Cosine costs between every patch token and every (class, template) embedding; a 7×7 conv over the
80 template channels of each class; then, of the four "ensemble" layers the release builds, only
the last one's result is kept, and it is a per-pixel Linear 208→80 over [costs | appearance
guidance]: every class is decoded on its own, with no spatial or class aggregation. The decoder
upsamples ×3 (transposed conv), joins the decoder guidance, and ends in one logit map per class at
72×72, resized to 120×120. The projected text guidance the release computes is never used.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

COST_SIZE = (24, 24)
DECODER_SIZE = (72, 72)
LOGIT_SIZE = (120, 120)


class _Up(nn.Module):
    def __init__(self, channels: int = 80, guidance: int = 64, out: int = 64):
        super().__init__()
        self.up = nn.ConvTranspose2d(channels, channels - guidance, 3, stride=3)
        self.conv = nn.Module()
        self.conv.double_conv = nn.Sequential(
            nn.Conv2d(channels, out, 3, padding=1, bias=False), nn.GroupNorm(out // 16, out), nn.ReLU()
        )

    def forward(self, x: torch.Tensor, guidance: torch.Tensor) -> torch.Tensor:
        return self.conv.double_conv(torch.cat([self.up(x), guidance], dim=1))


class _Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.decoder1 = _Up()
        self.head = nn.Conv2d(64, 1, 3, padding=1)


class CostVolumeHead(nn.Module):
    def __init__(self, templates: int = 80):
        super().__init__()
        self.conv1 = nn.Conv2d(templates, templates, 7, padding=3)
        self.downlinear = nn.Linear(templates + 128, templates)  # the release's layers[3].downlinear
        self.proj_img_1 = nn.Sequential(nn.Conv2d(256, 64, 3, padding=1), nn.ReLU())
        self.proj_img_c4 = nn.Sequential(nn.Conv2d(256, 128, 3, padding=1), nn.ReLU())
        self.decodeh1 = _Decoder()

    def forward(self, patches: torch.Tensor, text: torch.Tensor, appearance: torch.Tensor,
                decoder_guidance: torch.Tensor, boundaries: dict | None = None) -> torch.Tensor:  # fmt: skip
        """``patches`` F×512×24×24, ``text`` F×C×P×512, ``appearance`` F×256×h×w, ``decoder_guidance``
        F×256×h'×w' -> F×C×120×120 logits."""
        frames, classes, templates = text.shape[:3]
        costs = torch.einsum("fdhw,fcpd->fpchw", F.normalize(patches, dim=1), F.normalize(text, dim=-1))
        template = self.conv1(costs.permute(0, 2, 1, 3, 4).reshape(frames * classes, templates, *COST_SIZE))
        proj_c4 = self.proj_img_c4(appearance)
        guide = F.interpolate(proj_c4, size=COST_SIZE, mode="bilinear", align_corners=False)
        guide = guide.repeat_interleave(classes, dim=0)  # frame-major, as the costs
        joined = F.adaptive_avg_pool2d(torch.cat([template, guide], dim=1), COST_SIZE)  # identity at 24×24
        x = self.downlinear(joined.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)  # (F·C)×80×24×24
        proj_1 = self.proj_img_1(decoder_guidance)
        dguide = F.interpolate(proj_1, size=DECODER_SIZE, mode="bilinear", align_corners=False)
        decoded = self.decodeh1.head(self.decodeh1.decoder1(x, dguide.repeat_interleave(classes, dim=0)))
        decoded = decoded.reshape(frames, classes, *DECODER_SIZE)
        if boundaries is not None:
            boundaries.update({
                "corr.cost_volume": costs,
                "corr.template_conv": template,
                "corr.proj_img_c4": proj_c4, "corr.proj_img_1": proj_1,
                "corr.ensemble_last": x.reshape(frames, classes, templates, *COST_SIZE).permute(0, 2, 1, 3, 4),
                "corr.decoder": decoded,
            })  # fmt: skip
        return F.interpolate(decoded, size=LOGIT_SIZE, mode="bilinear", align_corners=False)
