"""The released checkpoint (detectron2's ``{"model": state_dict}``, ``model_base.pth``), read as it is.

The release's CLIP attention keeps separate ``q_proj_weight``, ``k_proj_weight`` and ``v_proj_weight``
(its ``model_vpt.Attention``); open_clip's module holds them stacked as ``in_proj_weight`` in that
order, so the three keys of each block are joined here. Everything else maps by prefix.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch

from ovbench.api import read_state_dict

EXPECTED = "a CAT-Seg checkpoint (detectron2's {'model': ...}, such as the released model_base.pth)"


def read_checkpoint(path: str | Path) -> dict[str, torch.Tensor]:
    return read_state_dict(path, wrappers=("model",), model=EXPECTED)


def joined_attention(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``state`` with every block's q/k/v projection weights stacked into one ``in_proj_weight``."""
    joined = dict(state)
    for key in [k for k in state if k.endswith(".attn.q_proj_weight")]:
        block = key[: -len("q_proj_weight")]
        parts = [block + f"{p}_proj_weight" for p in "qkv"]
        if all(p in state for p in parts):
            joined[block + "in_proj_weight"] = torch.cat([joined.pop(p) for p in parts])
    return joined
