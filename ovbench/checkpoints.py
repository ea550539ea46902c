"""Reading a published checkpoint file as it is, and loading it into a port's modules by key mapping.

For model plugins (through ``ovbench.api``): a port keeps the official parameter names below one
prefix per part, so a key maps by swapping its part's prefix; everything that does not fit (a file
of another model, missing, unexpected or misshapen tensors) is one error naming the file and the
first keys concerned.
"""

from __future__ import annotations

import hashlib
import pickle
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from torch import nn

from ovbench.errors import OvbenchError

SHOWN = 5  # keys named in an error message


def read_state_dict(path: str | Path, *, wrappers: Sequence[str], model: str) -> dict[str, torch.Tensor]:
    """The tensors of a checkpoint file: the first of ``wrappers`` (``"state_dict"``, ``"model"``) found
    in the pickled dict, or the dict itself. ``model`` names what was expected, for messages."""
    path = Path(path)
    if not path.is_file():
        raise OvbenchError(f"--checkpoint {path}: file not found (expected {model})")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, zipfile.BadZipFile, pickle.UnpicklingError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise OvbenchError(
            f"--checkpoint {path}: not a readable PyTorch checkpoint ({first}); the file may be truncated: "
            "download it again"
        ) from None
    if isinstance(data, Mapping):
        for key in wrappers:
            if key in data and isinstance(data[key], Mapping):
                data = data[key]
                break
    if not isinstance(data, Mapping) or not data or not all(isinstance(v, torch.Tensor) for v in data.values()):
        keys = list(data)[:SHOWN] if isinstance(data, Mapping) else type(data).__name__
        raise OvbenchError(f"--checkpoint {path}: not {model} (expected tensors under {list(wrappers)}; found {keys})")
    return dict(data)


def official_key(key: str, prefixes: Sequence[tuple[str, str]]) -> str:
    """The checkpoint's name for a port's ``key``: the first (port prefix, official prefix) that matches."""
    for ours, theirs in prefixes:
        if key.startswith(ours):
            return theirs + key[len(ours) :]
    raise KeyError(key)


def load_mapped_state(
    module: nn.Module, state: Mapping[str, torch.Tensor], source: str | Path, *,
    prefixes: Sequence[tuple[str, str]], ignored: Sequence[str] = (), model: str,
) -> None:  # fmt: skip
    """Copies the checkpoint's tensor into every parameter and buffer of ``module``.

    Each tensor of ``module`` must be found with its shape, and every checkpoint key must be used or
    start with one of ``ignored`` (modules the original builds but never runs at test time).
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
    problems = [f"{what} {_listed(keys)}" for what, keys in
                (("missing", missing), ("unexpected", unexpected), ("wrong shape", misshapen)) if keys]  # fmt: skip
    if problems:
        raise OvbenchError(f"--checkpoint {source}: does not fit {model}: {'; '.join(problems)}")
    module.load_state_dict({k: state[names[k]].to(v.dtype) for k, v in own.items()})


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
