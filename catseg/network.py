"""The released CAT-Seg at test time: the sliding-window protocol of ``eval.sh`` and the whole-image path.

Per 384×384 view (resized to CLIP's resolution, 384 for ViT-B/16 and 336 for ViT-L/14): dense CLIP tokens (the fine-tuned OpenAI ViT-B/16, last block on its value path
with the *class token's* input as residual, as the release's ``forward_dense``), the outputs of
blocks 3 and 7 (7 and 15 for ViT-L/14) upsampled by transposed convs (``upsample1``/``upsample2``) as decoder guidance, the
single-template text embeddings, the cosine cost volume, and the projections of the appearance,
decoder and text guidance that the aggregator reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from catseg.aggregator import Aggregator
from catseg.checkpoint import joined_attention
from clip_toolkit import MEAN, STD
from clip_toolkit.dense import dense_tokens
from clip_toolkit.loading import untrained_clip
from clip_toolkit.shortest_edge import padded_size
from clip_toolkit.text import encode_text
from ovbench.api import load_mapped_state

GRID = 24  # CLIP's patch grid in both configurations (384/16 = 336/14)
TEMPLATE = "A photo of a {} in the scene"  # PROMPT_ENSEMBLE_TYPE "single"
# CLIP's pixel statistics on the 0..255 scale (the release's CLIP_PIXEL_MEAN/STD), RGB.
CLIP_MEAN = tuple(255 * m for m in MEAN)
CLIP_STD = tuple(255 * s for s in STD)

KEY_PREFIXES = (
    ("clip.", "sem_seg_head.predictor.clip_model."),
    ("upsample1.", "upsample1."),
    ("upsample2.", "upsample2."),
    ("aggregator.", "sem_seg_head.predictor.transformer."),
)
# Saved by the release and not read here: CLIP's unused logit scale, and the shifted-window masks,
# which the port computes itself (``aggregator.shifted_window_mask``; equal, tested).
UNUSED_KEYS = ("sem_seg_head.predictor.clip_model.logit_scale",) + tuple(
    f"sem_seg_head.predictor.transformer.layers.{i}.swin_block.block_2.attn_mask" for i in (0, 1)
)


@dataclass(frozen=True)
class CATSegConfig:
    """What differs between the released configurations (``CATSeg.__init__`` and ``configs/*.yaml``)."""

    name: str
    clip: str  # the open_clip architecture of CLIP_PRETRAINED (OpenAI weights: QuickGELU)
    resolution: int  # clip_resolution
    guidance_blocks: tuple[int, int]  # 0-based blocks whose outputs the release hooks (layer_indexes)
    width: int  # the visual tower's width (proj_dim)
    embed: int  # the joint embedding width (TEXT/APPEARANCE_GUIDANCE_DIM)
    description: str

    @property
    def model(self) -> str:
        return f"the released CAT-Seg {self.description}"


VIT_B = CATSegConfig("vitb_384", "ViT-B-16-quickgelu", 384, (3, 7), 768, 512, "ViT-B/16 (configs/vitb_384.yaml)")
VIT_L = CATSegConfig("vitl_336", "ViT-L-14-336-quickgelu", 336, (7, 15), 1024, 768,
                     "ViT-L/14 (configs/vitl_336.yaml)")  # fmt: skip
CONFIGS = {c.name: c for c in (VIT_B, VIT_L)}


def config_of(state: dict[str, torch.Tensor]) -> CATSegConfig:
    """The configuration a checkpoint was trained in, told by its CLIP's visual width; ViT-B/16 where
    the file has no CLIP (loading then names what is missing)."""
    conv = state.get(KEY_PREFIXES[0][1] + "visual.conv1.weight")
    widths = {c.width: c for c in CONFIGS.values()}
    return widths.get(conv.shape[0], VIT_B) if conv is not None else VIT_B


class CATSeg(nn.Module):
    def __init__(self, config: CATSegConfig = VIT_B):
        super().__init__()
        self.config = config
        self.clip = untrained_clip(config.clip)
        self.upsample1 = nn.ConvTranspose2d(config.width, 256, 2, stride=2)
        self.upsample2 = nn.ConvTranspose2d(config.width, 128, 4, stride=4)
        self.aggregator = Aggregator(config.embed)

    def load_checkpoint(self, state, source) -> None:
        load_mapped_state(self, joined_attention(state), source, prefixes=KEY_PREFIXES, ignored=UNUSED_KEYS,
                          model=self.config.model)  # fmt: skip

    def text_embeddings(self, classes: Sequence[Sequence[str]]) -> torch.Tensor:
        """T×1×E: the release uses only each class's first synonym (``get_text_embeds``)."""
        import open_clip

        tokens = open_clip.get_tokenizer(self.config.clip)([TEMPLATE.format(synonyms[0]) for synonyms in classes])
        tokens = tokens.to(self.upsample1.weight.device)
        return F.normalize(encode_text(self.clip, tokens).float(), dim=-1)[:, None]

    def forward(self, views: torch.Tensor, text: torch.Tensor, boundaries: dict | None = None,
                stage: str = "slide") -> torch.Tensor:  # fmt: skip
        """``views``: B×3×h×w RGB in 0..255 (squashed to CLIP's resolution); ``text``: T×P×E -> B×T×96×96
        logits. ``stage`` prefixes the boundary names (``slide``/``whole``)."""
        inputs = self.aggregator_inputs(views, text, boundaries, stage)
        logits = self.aggregator.aggregate(inputs["cost_embed"], inputs["appearance"], inputs["text"], inputs["decoder"])
        if boundaries is not None:
            boundaries[f"{stage}.logits"] = logits
        return logits

    def aggregator_inputs(self, views: torch.Tensor, text: torch.Tensor, boundaries: dict | None = None,
                          stage: str = "slide") -> dict:  # fmt: skip
        """The CLIP side of each view: embedded costs and the projected appearance, decoder and text guidance."""
        mean = torch.tensor(CLIP_MEAN, device=views.device).view(1, 3, 1, 1)
        std = torch.tensor(CLIP_STD, device=views.device).view(1, 3, 1, 1)
        resolution = (self.config.resolution,) * 2
        tokens, (block3, block7) = dense_tokens(
            self.clip, (views - mean) / std, resolution, residual="cls", keep=self.config.guidance_blocks
        )
        as_map = lambda x: x[:, 1:].transpose(1, 2).reshape(x.shape[0], -1, GRID, GRID)  # noqa: E731
        res3, res4, res5 = as_map(tokens), self.upsample1(as_map(block3)), self.upsample2(as_map(block7))
        text = text[None].expand(views.shape[0], -1, -1, -1)  # B×T×P×C
        costs = torch.einsum("bchw,btpc->bpthw", F.normalize(res3, dim=1), F.normalize(text, dim=-1))
        agg = self.aggregator
        b, p, t = costs.shape[:3]
        embedded = agg.conv1(costs.permute(0, 2, 1, 3, 4).reshape(b * t, p, GRID, GRID))
        embedded = embedded.reshape(b, t, -1, GRID, GRID).permute(0, 2, 1, 3, 4)  # B×128×T×24×24
        text_mean = text.mean(dim=-2)
        inputs = {
            "cost_embed": embedded,
            "appearance": agg.guidance_projection(res3),
            "decoder": [proj(g) for proj, g in zip(agg.decoder_guidance_projection, (res4, res5))],
            "text": agg.text_guidance_projection(text_mean / text_mean.norm(dim=-1, keepdim=True)),
        }
        if boundaries is not None:
            boundaries.update({f"{stage}.{name}": value for name, value in {
                "clip_dense_features": tokens, "img_feats": res3, "guidance.res3": res3,
                "guidance.res4": res4, "guidance.res5": res5, "cost_volume": costs,
                "cost_embed": embedded, "proj_guidance": inputs["appearance"],
                "proj_decoder_guidance.0": inputs["decoder"][0], "proj_decoder_guidance.1": inputs["decoder"][1],
                "proj_text_guidance": inputs["text"],
            }.items()})  # fmt: skip
        return inputs


def sliding_views(image: torch.Tensor, crop: int = 384, overlap: float = 0.333,
                  size: tuple[int, int] = (640, 640)) -> torch.Tensor:  # fmt: skip
    """The release's 5 test views of a 3×H×W image (0..255): the image squashed to 640×640 cut into
    crop×crop windows at stride int(crop·(1 − overlap)) = 256 (row-major), then the whole image
    squashed to crop×crop."""
    stride = int(crop * (1 - overlap))
    squashed = F.interpolate(image[None], size=size, mode="bilinear", align_corners=False)[0]
    crops = [squashed[:, y : y + crop, x : x + crop]
             for y in range(0, size[0] - crop + 1, stride) for x in range(0, size[1] - crop + 1, stride)]  # fmt: skip
    whole = F.interpolate(image[None], size=(crop, crop), mode="bilinear", align_corners=False)[0]
    return torch.stack([*crops, whole])


def merged_probabilities(logits: torch.Tensor, original_size: tuple[int, int], crop: int = 384,
                         overlap: float = 0.333, size: tuple[int, int] = (640, 640)) -> torch.Tensor:  # fmt: skip
    """T×H₀×W₀ class probabilities from the 5 views' B×T×96×96 logits, as the release merges them:
    resized to the crop, sigmoid, crops folded onto 640×640 and divided by their overlap count, the
    global view resized to 640×640, the two averaged, then resized to the original frame."""
    stride = int(crop * (1 - overlap))
    probs = torch.sigmoid(F.interpolate(logits, size=(crop, crop), mode="bilinear", align_corners=False))
    whole = F.interpolate(probs[-1:], size=size, mode="bilinear", align_corners=False)
    crops = probs[:-1]
    columns = crops.flatten(1).T[None]  # 1×(T·crop²)×L, as nn.Fold reads nn.Unfold's layout
    folded = F.fold(columns, size, crop, stride=stride)
    count = F.fold(F.unfold(torch.ones(1, 1, *size, device=logits.device), crop, stride=stride), size, crop, stride=stride)
    merged = (folded / count + whole) / 2
    return F.interpolate(merged, size=original_size, mode="bilinear", align_corners=False)[0]


def whole_view(image: torch.Tensor) -> torch.Tensor:
    """1×3×H'×W': the whole-image path's input, the 3×H×W image (0..255) padded bottom and right to a
    multiple of 32 with CLIP's mean, which normalises to the 0 that ``ImageList.from_tensors`` pads the
    normalised image with (exactly: (m − m)/s = 0). The network then squashes it to CLIP's resolution."""
    h, w = image.shape[-2:]
    padded_h, padded_w = padded_size((h, w))
    mean = torch.tensor(CLIP_MEAN, dtype=image.dtype, device=image.device).view(3, 1, 1)
    padded = mean.expand(3, padded_h, padded_w).clone()
    padded[:, :h, :w] = image
    return padded[None]


def whole_probabilities(logits: torch.Tensor, image_size: tuple[int, int],
                        original_size: tuple[int, int]) -> torch.Tensor:  # fmt: skip
    """T×H₀×W₀ from the whole view's 1×T×96×96 logits, as the release: sigmoid on the 96×96 map, then
    ``sem_seg_postprocess`` — crop to the resized image's size (a no-op on a 96×96 map, so the padded
    columns stay in the output, a quirk kept) and bilinear to the original frame."""
    probs = torch.sigmoid(logits)[:, :, : image_size[0], : image_size[1]]
    return F.interpolate(probs, size=original_size, mode="bilinear", align_corners=False)[0]
