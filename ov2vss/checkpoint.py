"""Reading the released checkpoint file as it is, and loading its tensors into the port's modules.

The release saves mmseg/mmcv's ``{"meta": ..., "state_dict": {official key: tensor}}`` (``100000.pth``).
Below one prefix per part, the port's modules carry the official names, so mapping a key is
swapping its part's prefix (``stf.`` ↔ ``decode_head.hypercorre_module.``); anything that does not
fit is one error naming the file and the first keys concerned.
"""

from __future__ import annotations

import hashlib
import pickle
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from torch import nn

from ovbench.api import OvbenchError

SHOWN = 5  # keys named in an error message


def read_checkpoint(path: str | Path) -> dict[str, torch.Tensor]:
    """The ``state_dict`` of a released OV2VSS checkpoint file (a plain state dict is accepted too)."""
    path = Path(path)
    if not path.is_file():
        raise OvbenchError(f"--checkpoint {path}: file not found (the released OV2VSS checkpoint is 100000.pth)")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, zipfile.BadZipFile, pickle.UnpicklingError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise OvbenchError(
            f"--checkpoint {path}: not a readable PyTorch checkpoint ({first}); the file may be truncated: "
            "download it again"
        ) from None
    if isinstance(data, Mapping) and "state_dict" in data:
        data = data["state_dict"]
    if not isinstance(data, Mapping) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        keys = list(data)[:SHOWN] if isinstance(data, Mapping) else type(data).__name__
        raise OvbenchError(
            f"--checkpoint {path}: not an OV2VSS checkpoint (expected mmseg's {{'meta', 'state_dict'}} with tensors; "
            f"found {keys})"
        )
    return dict(data)


# Buffers the release's modules register (BatchNorm statistics, attention masks, relative-position
# indices): saved with the weights, not counted as parameters.
BUFFER_NAMES = ("running_mean", "running_var", "num_batches_tracked", "attn_mask", "relative_position_index",
                "valid_ind_rolled")  # fmt: skip


def checkpoint_parameter_count(state: Mapping[str, torch.Tensor]) -> int:
    """Parameters of the released model (259,946,350 for vitb.py): every saved tensor but the buffers."""
    return sum(v.numel() for k, v in state.items() if not any(b in k.rsplit(".", 1)[-1] for b in BUFFER_NAMES))


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def _listed(keys) -> str:
    keys = sorted(keys)
    more = f" and {len(keys) - SHOWN} more" if len(keys) > SHOWN else ""
    return ", ".join(keys[:SHOWN]) + more


def official_key(key: str, prefixes: Sequence[tuple[str, str]]) -> str:
    """The checkpoint's name for the port's ``key``: the first (port prefix, official prefix) that matches."""
    for ours, theirs in prefixes:
        if key.startswith(ours):
            return theirs + key[len(ours) :]
    raise KeyError(key)


def load_state(
    module: nn.Module, state: Mapping[str, torch.Tensor], source: str | Path,
    prefixes: Sequence[tuple[str, str]], ignored: Sequence[str] = (),
) -> None:  # fmt: skip
    """Copies the checkpoint's tensor for every parameter and buffer of ``module``.

    Each tensor of ``module`` must be found, with its shape, and every checkpoint key must be used
    or start with one of ``ignored`` (modules the release builds but never runs); otherwise one
    error names ``source`` and the first keys that do not fit.
    """
    own = module.state_dict()
    names = {k: official_key(k, prefixes) for k in own}
    wanted = {names[k]: v for k, v in own.items()}
    missing = [k for k in wanted if k not in state]
    unexpected = [k for k in state if k not in wanted and not k.startswith(tuple(ignored))]
    misshapen = [
        f"{k} {tuple(state[k].shape)} (expected {tuple(v.shape)})"
        for k, v in wanted.items()
        if k in state and state[k].shape != v.shape
    ]
    problems = []
    if missing:
        problems.append(f"missing {_listed(missing)}")
    if unexpected:
        problems.append(f"unexpected {_listed(unexpected)}")
    if misshapen:
        problems.append(f"wrong shape {_listed(misshapen)}")
    if problems:
        raise OvbenchError(
            f"--checkpoint {source}: does not fit the released OV2VSS (vitb config): {'; '.join(problems)}"
        )
    module.load_state_dict({k: state[names[k]].to(v.dtype) for k, v in own.items()})
