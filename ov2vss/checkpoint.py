"""The released checkpoint file (mmseg/mmcv's ``{"meta", "state_dict"}``, ``100000.pth``), read as it is.

Below one prefix per part the port's modules carry the official names, so mapping a key is swapping
its part's prefix (``stf.`` ↔ ``decode_head.hypercorre_module.``; the table is in ``ov2vss.network``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from torch import nn

from ovbench.api import load_mapped_state, read_state_dict

EXPECTED = "an OV2VSS checkpoint (mmseg's {'meta', 'state_dict'}, such as the released 100000.pth)"
MODEL = "the released OV2VSS (vitb config)"

# Buffers the release's modules register (BatchNorm statistics, attention masks, relative-position
# indices): saved with the weights, not counted as parameters.
BUFFER_NAMES = ("running_mean", "running_var", "num_batches_tracked", "attn_mask", "relative_position_index",
                "valid_ind_rolled")  # fmt: skip


def read_checkpoint(path: str | Path) -> dict[str, torch.Tensor]:
    """The ``state_dict`` of a released OV2VSS checkpoint file (a plain state dict is accepted too)."""
    return read_state_dict(path, wrappers=("state_dict",), model=EXPECTED)


def load_state(module: nn.Module, state: Mapping[str, torch.Tensor], source: str | Path,
               prefixes: Sequence[tuple[str, str]], ignored: Sequence[str] = ()) -> None:  # fmt: skip
    load_mapped_state(module, state, source, prefixes=prefixes, ignored=ignored, model=MODEL)


def checkpoint_parameter_count(state: Mapping[str, torch.Tensor]) -> int:
    """Parameters of the released model (259,946,350 for vitb.py): every saved tensor but the buffers."""
    return sum(v.numel() for k, v in state.items() if not any(b in k.rsplit(".", 1)[-1] for b in BUFFER_NAMES))
