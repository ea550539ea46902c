"""Where ovbench keeps derived data that is expensive to recompute (text embeddings, …).

``$OVBENCH_CACHE`` if set, else ``~/.cache/ovbench``. Entries are keyed by a hash of everything
that determines their content, so a stale entry is never read; deleting the folder is always safe.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

CACHE_ENV = "OVBENCH_CACHE"


def cache_dir(kind: str) -> Path:
    root = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "ovbench")
    return root / kind


def cache_key(**parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]
