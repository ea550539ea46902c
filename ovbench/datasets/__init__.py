"""Datasets by name, and where their files are found.

The names come from :data:`ovbench.registry.DATASETS`: the three built in, plus any installed in the
``ovbench.datasets`` entry-point group, listed in ``$OVBENCH_EXTRA_DATASETS`` or registered in
code. Each dataset class carries its own facts (default split, folder names, colours).
"""

from __future__ import annotations

import os
from pathlib import Path

from ovbench.datasets.base import IGNORE, Dataset, FrameRecord, LabelEncoding, Video, VideoRecord, fingerprint
from ovbench.errors import DataError, OvbenchError
from ovbench.registry import DATASETS

DATA_ENV = "OVBENCH_DATA"

__all__ = [
    "DATASETS", "DATA_ENV", "IGNORE", "Dataset", "FrameRecord", "LabelEncoding", "Video", "VideoRecord",
    "dataset_class", "fingerprint", "open_dataset", "resolve_root",
]  # fmt: skip


def dataset_class(name: str) -> type[Dataset]:
    """The class registered as ``name``; one clear error for an unknown name or a misnamed plugin."""
    cls = DATASETS.get(name)
    if getattr(cls, "name", None) != name:
        raise OvbenchError(
            f"--dataset {name!r}: the registered class {cls.__module__}.{cls.__qualname__} is named "
            f"{getattr(cls, 'name', None)!r}; register it under its own name"
        )
    return cls


def resolve_root(name: str, data_root: str | os.PathLike | None) -> Path:
    """``--data-root`` if given, else ``$OVBENCH_DATA``; either the dataset folder or its parent."""
    cls = dataset_class(name)
    if data_root is None:
        env = os.environ.get(DATA_ENV)
        if not env:
            raise OvbenchError(f"no data location: pass --data-root PATH or set {DATA_ENV}")
        data_root = env
    root = Path(data_root).expanduser()
    if not root.is_dir():
        raise DataError(f"{root}: data root is not a folder (from --data-root or {DATA_ENV})")
    for sub in cls.folder_names:
        if (root / sub).is_dir() and not cls.is_root(root):
            return root / sub
    return root


def open_dataset(name: str, data_root, subset: str) -> Dataset:
    return dataset_class(name)(resolve_root(name, data_root), subset)
