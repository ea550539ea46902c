"""The released checkpoint (detectron2's ``{"model": state_dict}``), read as it is, and its key map.

The release splits one open_clip CLIP into three modules: ``clip_visual_extractor`` (the stem and the
first blocks), ``clip_rec_head`` (the remaining blocks, renumbered from 0, with ``ln_post`` and
``proj``) and ``ov_classifier`` (the text tower, plus the learned background embedding). The port
keeps one open_clip CLIP, so each of its keys swaps its prefix for the release's.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ovbench.api import read_state_dict

EXPECTED = "a SAN checkpoint (detectron2's {'model': ...}, such as the released san_vit_b_16.pth)"
# Saved by the release and not read at test time: the training loss's class weights, and the text
# causal mask that open_clip builds itself.
UNUSED_KEYS = ("criterion.", "ov_classifier.attn_mask")


def read_checkpoint(path: str | Path) -> dict[str, torch.Tensor]:
    return read_state_dict(path, wrappers=("model",), model=EXPECTED)


def key_prefixes(first_rec_block: int, blocks: int) -> tuple[tuple[str, str], ...]:
    """(port prefix, release prefix) pairs, most specific first, for a CLIP of ``blocks`` visual
    blocks whose blocks from ``first_rec_block`` on form the recognition head."""
    visual = "clip.visual.transformer.resblocks."
    rec = tuple((f"{visual}{i}.", f"clip_rec_head.resblocks.{i - first_rec_block}.")
                for i in range(first_rec_block, blocks))  # fmt: skip
    return rec + (
        (visual, "clip_visual_extractor.resblocks."),
        ("clip.visual.ln_post.", "clip_rec_head.ln_post."),
        ("clip.visual.proj", "clip_rec_head.proj"),
        ("clip.visual.", "clip_visual_extractor."),
        ("clip.", "ov_classifier."),
        ("bg_embed", "ov_classifier.bg_embed"),
        ("side_adapter.", "side_adapter_network."),
    )
