"""A tiny open_clip architecture for fast tests, registered with open_clip under TINY_CLIP."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import open_clip

TINY_CLIP = "ovbench-test-tiny"
CONFIG = {
    "embed_dim": 32,
    "quick_gelu": True,
    "vision_cfg": {"image_size": 64, "layers": 6, "width": 64, "head_width": 16, "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


def register_tiny_clip() -> str:
    if TINY_CLIP not in open_clip.list_models():
        folder = Path(tempfile.mkdtemp(prefix="ovbench-open-clip-"))
        (folder / f"{TINY_CLIP}.json").write_text(json.dumps(CONFIG))
        open_clip.add_model_config(folder)
    return TINY_CLIP
