"""The release's frozen CLIP ViT-B/16: dense image tokens and the per-template class embeddings.

The architecture is open_clip's ``ViT-B-16-quickgelu`` (the OpenAI layout, whose parameter names the
checkpoint's ``decode_head.predictor.clip_model.*`` keys use); only the forward passes differ:

* image: the ImageNet-normalised network input (CLIP's own statistics are not used) squashed to
  384×384, positional grid resized bicubically 14×14 → 24×24, and the last block replaced by its
  value path (``forward_dense``: x + out_proj(v(ln_1 x)), then the MLP), ``ln_post`` and ``proj`` on
  every token;
* text: each class name (synonyms split at ", ") through the 80 ImageNet templates, every embedding
  L2-normalised, synonyms averaged per template, then the 80×512 block divided by its Frobenius norm,
  so each row has norm ≈ 1/√80. The checkpoint stores no text embeddings: they are recomputed here.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from clip_toolkit.dense import dense_tokens as toolkit_dense_tokens
from clip_toolkit.loading import untrained_clip
from clip_toolkit.text import encode_text, template_sets

CLIP_RESOLUTION = (384, 384)
CLIP_ARCHITECTURE = "ViT-B-16-quickgelu"


def build_clip() -> nn.Module:
    """An untrained open_clip ViT-B/16 (QuickGELU) to receive the checkpoint's CLIP weights."""
    return untrained_clip(CLIP_ARCHITECTURE)


def dense_tokens(clip: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """B×577×512 projected tokens (class token first) of B×3×H×W network inputs."""
    return toolkit_dense_tokens(clip, images, CLIP_RESOLUTION, residual="token")[0]


def class_embeddings(clip: nn.Module, classes: Sequence[Sequence[str]], tokenizer=None,
                     batch_size: int = 400) -> torch.Tensor:  # fmt: skip
    """C×80×512 embeddings of classes given as synonym lists, as the release's ``zeroshot_classifier``."""
    import open_clip

    tokenizer = tokenizer or open_clip.get_tokenizer("ViT-B-16")
    templates = template_sets()["imagenet80"]
    blocks = []
    for synonyms in classes:
        texts = [template(s) for template in templates for s in synonyms]  # template-major
        chunks = [encode_text(clip, tokenizer(texts[i : i + batch_size])) for i in range(0, len(texts), batch_size)]
        embeddings = F.normalize(torch.cat(chunks).float(), dim=-1)
        block = embeddings.reshape(len(templates), len(synonyms), -1).mean(dim=1)
        blocks.append(block / block.norm())
    return torch.stack(blocks)
