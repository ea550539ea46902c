"""Cityscapes 30-frame snippets around the fine-annotated frames.

Frames come from ``leftImg8bit_sequence/<subset>/<city>/``; labels are the 19 train ids in
``gtFine/<subset>/<city>/*_gtFine_labelTrainIds.png``. The annotated frame is index 19 of its
snippet and the only scored one. Without the sequence folder, ``leftImg8bit/`` gives one-frame videos.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PIL import Image

from ovbench.atomic import atomic_path
from ovbench.datasets.base import IGNORE, Dataset, FrameRecord, LabelEncoding, VideoRecord
from ovbench.datasets.io import read_label_png
from ovbench.errors import DataError, OvbenchError

SNIPPET_LENGTH = 30
ANNOTATED_INDEX = 19
TRAIN_IDS = "_gtFine_labelTrainIds.png"
LABEL_IDS = "_gtFine_labelIds.png"
_GT_NAME = re.compile(r"^(?P<city>.+)_(?P<seq>\d{6})_(?P<frame>\d{6})" + re.escape(TRAIN_IDS) + "$")


# Train ids 0..18: the `color` of each label in cityscapesScripts helpers/labels.py.
COLORS = (
    (128, 64, 128), (244, 35, 232), (70, 70, 70), (102, 102, 156), (190, 153, 153), (153, 153, 153),
    (250, 170, 30), (220, 220, 0), (107, 142, 35), (152, 251, 152), (70, 130, 180), (220, 20, 60),
    (255, 0, 0), (0, 0, 142), (0, 0, 70), (0, 60, 100), (0, 80, 100), (0, 0, 230), (119, 11, 32),
)  # fmt: skip


class Cityscapes(Dataset):
    name = "cityscapes"
    num_classes = 19
    default_split = "cityscapes-12-7"
    folder_names = ("cityscapes",)
    colors = COLORS
    _encoding = LabelEncoding(19, {**{c: c for c in range(19)}, IGNORE: IGNORE})

    @property
    def encoding(self) -> LabelEncoding:
        return self._encoding

    @classmethod
    def is_root(cls, root: Path) -> bool:
        return (root / "gtFine").is_dir()

    def exists(self) -> bool:
        return (self.root / "gtFine" / self.subset).is_dir()

    def _list_videos(self) -> list[VideoRecord]:
        gt_dir = self.root / "gtFine" / self.subset
        if not gt_dir.is_dir():
            raise DataError(f"{gt_dir}: missing; --data-root must hold gtFine/ and leftImg8bit_sequence/")
        labels = sorted(gt_dir.glob(f"*/*{TRAIN_IDS}"))
        if not labels:
            if any(gt_dir.glob(f"*/*{LABEL_IDS}")):
                raise DataError(
                    f"{gt_dir}: only *{LABEL_IDS} found; convert them once with "
                    f"`ovbench prepare cityscapes --data-root {self.root}`"
                )
            raise DataError(f"{gt_dir}: no *{TRAIN_IDS} files")
        converted = {p.name[: -len(TRAIN_IDS)] for p in labels}
        for source in sorted(gt_dir.glob(f"*/*{LABEL_IDS}")):
            if source.name[: -len(LABEL_IDS)] not in converted:
                self._problem(
                    f"{source.with_name(source.name[: -len(LABEL_IDS)] + TRAIN_IDS)}: missing; convert the "
                    f"labels once with `ovbench prepare cityscapes --data-root {self.root}`"
                )
        seq_dir = self.root / "leftImg8bit_sequence" / self.subset
        still_dir = self.root / "leftImg8bit" / self.subset
        if seq_dir.is_dir():
            videos = [self._snippet(seq_dir, label) for label in labels]
        elif still_dir.is_dir():
            videos = [self._still(still_dir, label) for label in labels]
        else:
            raise DataError(f"{seq_dir}: missing (and no {still_dir} to fall back to)")
        return [v for v in videos if v is not None]

    def _parse(self, label: Path) -> tuple[str, str, int] | None:
        m = _GT_NAME.match(label.name)
        if not m:
            return self._problem(f"{label}: name is not <city>_<seq>_<frame>{TRAIN_IDS}")
        return m["city"], m["seq"], int(m["frame"])

    def _snippet(self, seq_dir: Path, label: Path) -> VideoRecord | None:
        if (parsed := self._parse(label)) is None:
            return None
        city, seq, annotated = parsed
        first = annotated - ANNOTATED_INDEX
        frames = []
        for number in range(first, first + SNIPPET_LENGTH):
            stem = f"{city}_{seq}_{number:06d}_leftImg8bit"
            image = seq_dir / city / f"{stem}.png"
            if not image.is_file():
                return self._problem(f"{image}: missing sequence frame of snippet {city}_{seq}_{annotated:06d}")
            frames.append(FrameRecord(stem, image, label if number == annotated else None))
        return VideoRecord(f"{city}_{seq}_{annotated:06d}", tuple(frames))

    def _still(self, still_dir: Path, label: Path) -> VideoRecord | None:
        if (parsed := self._parse(label)) is None:
            return None
        city, seq, annotated = parsed
        stem = f"{city}_{seq}_{annotated:06d}_leftImg8bit"
        image = still_dir / city / f"{stem}.png"
        if not image.is_file():
            return self._problem(f"{image}: missing frame for {label.name}")
        return VideoRecord(f"{city}_{seq}_{annotated:06d}", (FrameRecord(stem, image, label),))


def label_id_to_train_id() -> np.ndarray:
    """A 256-entry table labelId -> trainId (255 = ignore), from the cityscapesscripts label list."""
    try:
        from cityscapesscripts.helpers.labels import labels
    except ImportError:
        raise OvbenchError(
            "converting Cityscapes labels needs the cityscapesscripts package: "
            "pip install 'ovbench[cityscapes]'"
        ) from None
    lut = np.full(256, IGNORE, dtype=np.uint8)
    for label in labels:
        if 0 <= label.id < 256 and 0 <= label.trainId < 255:
            lut[label.id] = label.trainId
    return lut


def prepare(root: Path, subsets=("train", "val", "test")) -> tuple[int, int]:
    """Writes ``*_gtFine_labelTrainIds.png`` next to every ``*_gtFine_labelIds.png`` lacking one.

    Returns (converted, already present). Each file is written to a temporary name and renamed,
    so an interrupted run never leaves a half-written label file.
    """
    root = Path(root)
    if not (root / "gtFine").is_dir():
        raise DataError(f"{root / 'gtFine'}: missing; --data-root must be the Cityscapes root folder")
    lut = label_id_to_train_id()
    converted = present = 0
    for subset in subsets:
        for src in sorted((root / "gtFine" / subset).glob(f"*/*{LABEL_IDS}")):
            dst = src.with_name(src.name[: -len(LABEL_IDS)] + TRAIN_IDS)
            if dst.exists():
                present += 1
                continue
            train_ids = lut[read_label_png(src, what="labelIds mask")]
            with atomic_path(dst) as tmp:
                Image.fromarray(train_ids).save(tmp, format="PNG")
            converted += 1
    return converted, present
