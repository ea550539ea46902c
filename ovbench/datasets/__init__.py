"""Dataset loaders by name, and where their files are found."""

from __future__ import annotations

import os
from pathlib import Path

from ovbench.datasets.base import IGNORE, Dataset, FrameRecord, LabelEncoding, Video, VideoRecord, fingerprint
from ovbench.datasets.camvid import CamVid
from ovbench.datasets.cityscapes import Cityscapes
from ovbench.datasets.vspw import VSPW
from ovbench.errors import DataError, OvbenchError

DATASETS: dict[str, type[Dataset]] = {d.name: d for d in (VSPW, Cityscapes, CamVid)}
DATA_ENV = "OVBENCH_DATA"

# Folder names a dataset may have under a shared data root ($OVBENCH_DATA/<name>).
_SUBFOLDERS = {"vspw": ("vspw", "VSPW_480p", "VSPW"), "cityscapes": ("cityscapes",), "camvid": ("camvid", "CamVid")}

__all__ = [
    "DATASETS", "DATA_ENV", "IGNORE", "Dataset", "FrameRecord", "LabelEncoding", "Video", "VideoRecord",
    "fingerprint", "open_dataset", "resolve_root",
]  # fmt: skip


def resolve_root(name: str, data_root: str | os.PathLike | None) -> Path:
    """``--data-root`` if given, else ``$OVBENCH_DATA``; either the dataset folder or its parent."""
    if data_root is None:
        env = os.environ.get(DATA_ENV)
        if not env:
            raise OvbenchError(f"no data location: pass --data-root PATH or set {DATA_ENV}")
        data_root = env
    root = Path(data_root).expanduser()
    if not root.is_dir():
        raise DataError(f"{root}: data root is not a folder (from --data-root or {DATA_ENV})")
    for sub in _SUBFOLDERS[name]:
        if (root / sub).is_dir() and not _is_dataset_folder(name, root):
            return root / sub
    return root


def _is_dataset_folder(name: str, root: Path) -> bool:
    if name == "vspw":
        return VSPW.find_root(root) is not None and VSPW.find_root(root) == root
    if name == "cityscapes":
        return (root / "gtFine").is_dir()
    return CamVid.looks_like(root)


def open_dataset(name: str, data_root, subset: str) -> Dataset:
    if name not in DATASETS:
        raise OvbenchError(f"--dataset {name!r} is unknown; known datasets: {', '.join(sorted(DATASETS))}")
    return DATASETS[name](resolve_root(name, data_root), subset)
