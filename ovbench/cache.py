"""Where ovbench keeps derived data that is expensive to recompute (text embeddings, …).

``$OVBENCH_CACHE`` if set, else ``~/.cache/ovbench``. Entries are keyed by a hash of everything
that determines their content, so a stale entry is never read; deleting the folder is always safe.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

CACHE_ENV = "OVBENCH_CACHE"


def cache_dir(kind: str) -> Path:
    root = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "ovbench")
    return root / kind


def cache_key(**parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


def cached_tensor(folder: str, compute: Callable[[], Any], *, load_to: str = "cpu", **parts) -> Any:
    """``compute()`` (a tensor), kept in ``cache_dir(folder)`` under ``cache_key(**parts)``; a stored
    entry is loaded onto the device ``load_to``.

    A damaged or unreadable entry is recomputed, never trusted; an unwritable folder only costs the
    recomputation next time.
    """
    from safetensors.torch import load_file, save_file

    from ovbench.atomic import atomic_path

    path = cache_dir(folder) / f"{cache_key(**parts)}.safetensors"
    try:
        if path.is_file():
            return load_file(path, device=str(load_to))["embedding"]
    except Exception:
        pass
    value = compute()
    try:
        with atomic_path(path) as tmp:
            save_file({"embedding": value.contiguous().cpu()}, str(tmp))
    except OSError:
        pass
    return value
