"""Rebuilds the random-weight checkpoints behind ``../shared/fixtures`` from their ``keys.json`` rule.

The official code was run on exactly these weights, so a port that loads them must reproduce the
saved outputs. The rule (``../shared/fixtures/README.md``): each key draws a float64 standard normal
from a generator seeded by the fixture's seed and the key's CRC-32, scales it by its kind, optionally
rounds it through float16, and casts it to the key's dtype. Tests skip where ``../shared`` is absent.
"""

from __future__ import annotations

import hashlib
import json
import math
import zlib
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"
CAMVID = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "camvid"


def fixture_folder(name: str) -> Path:
    folder = FIXTURES / name
    if not (folder / "keys.json").is_file():
        pytest.skip(f"{folder} is absent (the shared official references)")
    return folder


def _draw(kind: str, arg: str, z: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    scales: dict[str, Callable[[], torch.Tensor]] = {
        "fan_in": lambda: float(arg or 1) * z / math.sqrt(math.prod(shape[1:])),
        "rows": lambda: z / math.sqrt(shape[0]),
        "last_dim": lambda: z / math.sqrt(shape[-1]),
        "convT": lambda: z / math.sqrt(shape[0] * float(arg)),
        "scaled": lambda: float(arg) * z,
        "norm_w": lambda: 1 + 0.1 * z,
        "bias": lambda: 0.02 * z,
        "bn_mean": lambda: 0.1 * z,
        "bn_var": lambda: torch.exp(0.2 * z),
        "alpha": lambda: 0.004 * (1 + 0.5 * z),
    }
    return scales[kind]()


def rule_tensor(rule: str, seed: int, key: str, shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    body, _, flag = rule.partition("|")
    kind, _, arg = body.partition(":")
    if kind == "zero":
        return torch.zeros(shape, dtype=dtype)
    if kind == "const":
        return torch.full(shape, float(arg), dtype=torch.float64).to(dtype)
    generator = torch.Generator().manual_seed((seed * 1_000_003 + zlib.crc32(key.encode())) % 2**63)
    value = _draw(kind, arg, torch.randn(shape, generator=generator, dtype=torch.float64), shape)
    if flag == "fp16":
        value = value.to(torch.float16).to(torch.float64)
    return value.to(dtype)


def released_state(folder: Path, keep: Callable[[str], bool] = lambda key: True) -> OrderedDict[str, torch.Tensor]:
    """The checkpoint's state dict (keys for which ``keep`` is true), in ``keys.json`` order."""
    spec = json.loads((folder / "keys.json").read_text())
    keys = spec["keys"]
    built = None
    state: OrderedDict[str, torch.Tensor] = OrderedDict()
    for key, (dtype, shape, rule) in keys.items():
        if not keep(key):
            continue
        if rule == "asbuilt":
            if built is None:
                from safetensors.torch import load_file

                built = load_file(str(folder / "buffers.safetensors"))
            state[key] = built[key]
        elif rule.startswith("same:"):
            other = rule[5:]
            state[key] = state[other] if other in state else rule_tensor(
                keys[other][2], spec["seed"], other, tuple(keys[other][1]), getattr(torch, keys[other][0])
            )
        else:
            state[key] = rule_tensor(rule, spec["seed"], key, tuple(shape), getattr(torch, dtype))
    return state


def state_digest(state: OrderedDict[str, torch.Tensor]) -> str:
    """SHA-256 of the key bytes, then each tensor's raw bytes, in order (``keys.json``'s ``sha256``)."""
    h = hashlib.sha256()
    for key, tensor in state.items():
        h.update(key.encode())
        h.update(tensor.contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def expected_sha256(folder: Path) -> str:
    return json.loads((folder / "keys.json").read_text())["sha256"]
