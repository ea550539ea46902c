"""The released SAN at test time (``SAN.forward`` in evaluation, ``SEM_SEG_POSTPROCESS_BEFORE_INFERENCE``).

One frame: normalised with CLIP's statistics and padded to a multiple of 32 (zeros after
normalisation); CLIP's first blocks on the image at half size (0.7 for ViT-L/14), their features
fused into the side adapter running on the full image; the side adapter's masks, and its attention
biases steering CLIP's last blocks, where 100 copies of the class token become the masks' embeddings;
those against the 14-template class embeddings plus a learned background; per class, the sum over
masks of the class probability (softmax, background dropped) times the mask (sigmoid).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from clip_toolkit import MEAN, STD
from clip_toolkit.dense import grid_positions
from clip_toolkit.loading import untrained_clip
from clip_toolkit.shortest_edge import padded_size
from clip_toolkit.text import encode_text
from ovbench.api import load_mapped_state
from sanseg.checkpoint import UNUSED_KEYS, key_prefixes
from sanseg.side_adapter import SideAdapter

# CLIP_TEMPLATE_SET "vild" (san/model/clip_utils/utils.py)
VILD_TEMPLATES = (
    "a photo of a {}.", "This is a photo of a {}", "There is a {} in the scene", "There is the {} in the scene",
    "a photo of a {} in the scene", "a photo of a small {}.", "a photo of a medium {}.", "a photo of a large {}.",
    "This is a photo of a small {}.", "This is a photo of a medium {}.", "This is a photo of a large {}.",
    "There is a small {} in the scene.", "There is a medium {} in the scene.", "There is a large {} in the scene.",
)  # fmt: skip
MASK_OFF = -100.0  # the release's "cannot attend" value in the recognition mask


@dataclass(frozen=True)
class SANConfig:
    """What differs between the released configurations (``configs/*.yaml`` over ``san/config.py``)."""

    name: str
    clip: str  # open_clip architecture of CLIP_MODEL_NAME with the OpenAI weights (QuickGELU)
    clip_resolution: float  # CLIP_RESOLUTION: CLIP sees the padded image scaled by this
    first_rec_block: int  # FEATURE_LAST_LAYER_IDX: blocks from here on form the recognition head
    fusion: dict[int, int] = field(hash=False)  # FUSION_MAP: side block index -> CLIP feature index
    bias_heads: int = 12  # ATTN_BIAS.NUM_HEADS (CLIP's heads)
    description: str = ""

    @property
    def model(self) -> str:
        return f"the released SAN {self.description}"


VIT_B = SANConfig("san_clip_vit_res4_coco", "ViT-B-16-quickgelu", 0.5, 9, {0: 0, 1: 3, 2: 6, 3: 9}, 12,
                  "ViT-B/16 (configs/san_clip_vit_res4_coco.yaml)")  # fmt: skip
VIT_L = SANConfig("san_clip_vit_large_res4_coco", "ViT-L-14-336-quickgelu", 0.7, 18, {0: 0, 1: 6, 2: 12, 3: 18}, 16,
                  "ViT-L/14 (configs/san_clip_vit_large_res4_coco.yaml)")  # fmt: skip
CONFIGS = {c.name: c for c in (VIT_B, VIT_L)}


def config_of(state: dict[str, torch.Tensor]) -> SANConfig:
    """The configuration a checkpoint was trained in, told by its CLIP's visual width; ViT-B/16 where
    the file has no CLIP (loading then names what is missing)."""
    conv = state.get("clip_visual_extractor.conv1.weight")
    return VIT_L if conv is not None and conv.shape[0] == 1024 else VIT_B


class SAN(nn.Module):
    def __init__(self, config: SANConfig = VIT_B):
        super().__init__()
        self.config = config
        self.clip = untrained_clip(config.clip)
        visual = self.clip.visual
        self.side_adapter = SideAdapter(visual.transformer.width, config.fusion, config.bias_heads)
        self.bg_embed = nn.Parameter(torch.zeros(1, visual.output_dim))

    def load_checkpoint(self, state, source) -> None:
        prefixes = key_prefixes(self.config.first_rec_block, len(self.clip.visual.transformer.resblocks))
        load_mapped_state(self, state, source, prefixes=prefixes, ignored=UNUSED_KEYS, model=self.config.model)

    def text_embeddings(self, names: Sequence[str]) -> torch.Tensor:
        """C×E: each name (a class's synonyms joined by ", ", as the release passes them) in every vild
        template, normalised, averaged over the templates and normalised again."""
        import open_clip

        tokenizer = open_clip.get_tokenizer(self.config.clip)
        device = self.bg_embed.device
        per_template = [F.normalize(encode_text(self.clip, tokenizer([t.format(n) for n in names]).to(device)), dim=-1)
                        for t in VILD_TEMPLATES]  # fmt: skip
        return F.normalize(torch.stack(per_template).mean(dim=0), dim=-1)

    def classifier(self, text: torch.Tensor) -> torch.Tensor:
        """(C+1)×E: the class embeddings and the background, normalised, times CLIP's logit scale."""
        return self.clip.logit_scale.exp() * F.normalize(torch.cat([text, self.bg_embed]), dim=-1)

    def forward(self, image: torch.Tensor, classifier: torch.Tensor,
                boundaries: dict | None = None) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        """``image``: 3×H×W RGB in 0..255 (after the test resize) -> masks 1×Q×H'/16×W'/16 and mask
        class logits 1×Q×(C+1), H'×W' the padded size."""
        mean = torch.tensor([255 * m for m in MEAN], device=image.device).view(3, 1, 1)
        std = torch.tensor([255 * s for s in STD], device=image.device).view(3, 1, 1)
        h, w = image.shape[-2:]
        full_h, full_w = padded_size((h, w))
        padded = F.pad((image - mean) / std, (0, full_w - w, 0, full_h - h))[None]
        clip_input = F.interpolate(padded, scale_factor=self.config.clip_resolution, mode="bilinear")
        tokens, grid = self.clip_features(clip_input, boundaries)
        maps = {i: as_map(tokens[i], grid) for i in set(self.config.fusion.values())}
        masks, bias = self.side_adapter(padded, maps, boundaries)
        embeddings = self.recognize(tokens[self.config.first_rec_block], bias, grid)
        logits = torch.einsum("bqc,nc->bqn", embeddings, classifier)
        if boundaries is not None:
            boundaries.update({"san.clip_input": clip_input, "san.image_normalized_padded": padded,
                               "san.mask_embeddings": embeddings, "san.mask_class_logits": logits[0]})  # fmt: skip
        return masks, logits

    def clip_features(self, x: torch.Tensor, boundaries: dict | None = None) -> tuple[dict, tuple[int, int]]:
        """CLIP's tokens B×(1+hw)×W after ``ln_pre`` (0) and after each block i = 1 … first_rec_block."""
        visual = self.clip.visual
        x = visual.conv1(x)
        grid = tuple(x.shape[-2:])
        x = x.flatten(2).transpose(1, 2)
        x = torch.cat([visual.class_embedding.expand(x.shape[0], 1, -1).to(x.dtype), x], dim=1)
        x = visual.ln_pre(x + grid_positions(visual.positional_embedding, grid).to(x.dtype))
        tokens = {0: x}
        for i, block in enumerate(visual.transformer.resblocks[: self.config.first_rec_block], start=1):
            x = tokens[i] = block(x)
        if boundaries is not None:
            for i, t in tokens.items():
                boundaries[f"san.clip_features.{i}"] = as_map(t, grid)
                boundaries[f"san.clip_features.{i}_cls_token"] = t[:, :1].transpose(0, 1)
        return tokens, grid

    def recognize(self, tokens: torch.Tensor, bias: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        """B×Q×E normalised mask embeddings: CLIP's remaining blocks on [Q copies of the class token;
        class token; patches] under the additive mask — each copy sees itself and the patches (through
        the side adapter's bias, max-pooled to CLIP's grid), the class token and patches attend as usual."""
        b, heads, q = bias.shape[:3]
        bias = F.adaptive_max_pool2d(bias.reshape(b, heads * q, *bias.shape[-2:]), grid)
        n = grid[0] * grid[1]
        size = q + 1 + n
        mask = bias.new_zeros(size, size)
        mask[:, :q] = MASK_OFF
        mask[torch.arange(q), torch.arange(q)] = 0
        mask[:q, q] = MASK_OFF
        mask = mask.expand(b * heads, -1, -1).clone()
        mask[:, :q, -n:] = bias.reshape(b * heads, q, n)
        x = torch.cat([tokens[:, :1].expand(-1, q, -1), tokens], dim=1)
        visual = self.clip.visual
        for block in visual.transformer.resblocks[self.config.first_rec_block :]:
            x = block(x, attn_mask=mask)
        return F.normalize(visual.ln_post(x[:, :q]) @ visual.proj, dim=-1)


def as_map(tokens: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """B×W×h×w of B×(1+hw)×W tokens (class token dropped)."""
    return tokens[:, 1:].transpose(1, 2).reshape(tokens.shape[0], -1, *grid)


def semantic_scores(masks: torch.Tensor, logits: torch.Tensor, padded: tuple[int, int],
                    image_size: tuple[int, int], original_size: tuple[int, int]) -> torch.Tensor:  # fmt: skip
    """C×H₀×W₀ scores, as the release: masks bilinear to the padded input, cropped to the resized frame
    and resized to the original (``sem_seg_postprocess``), then Σ_q softmax(class)[:C] · sigmoid(mask)."""
    full = F.interpolate(masks, size=padded, mode="bilinear", align_corners=False)
    full = full[:, :, : image_size[0], : image_size[1]]
    full = F.interpolate(full, size=original_size, mode="bilinear", align_corners=False)[0]
    classes = F.softmax(logits[0], dim=-1)[:, :-1]
    return torch.einsum("qc,qhw->chw", classes, full.sigmoid())
