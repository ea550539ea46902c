"""VSPW (Miao et al., CVPR 2021) in its official layout.

``VSPW_480p/`` (or ``VSPW/``) with ``<subset>.txt`` (one video per line), ``data/<video>/origin/*.jpg``
and ``data/<video>/mask/<stem>.png``. Raw mask r in 1..124 is class r-1; 0 ("others") and
255 ("void") are ignored, as in every published VSPW number.
"""

from __future__ import annotations

from pathlib import Path

from ovbench.datasets.base import IGNORE, Dataset, FrameRecord, LabelEncoding, VideoRecord
from ovbench.errors import DataError
from ovbench.textfiles import read_text

FRAME_SUFFIXES = (".jpg", ".jpeg", ".png")


class VSPW(Dataset):
    name = "vspw"
    num_classes = 124
    default_split = "vspw-80-44"
    folder_names = ("vspw", "VSPW_480p", "VSPW")
    _encoding = LabelEncoding.offset(124, first_raw=1, ignore_raw=(0, IGNORE))

    @property
    def encoding(self) -> LabelEncoding:
        return self._encoding

    @staticmethod
    def find_root(root: Path) -> Path | None:
        for candidate in (root, root / "VSPW_480p", root / "VSPW"):
            if (candidate / "data").is_dir():
                return candidate
        return None

    @classmethod
    def is_root(cls, root: Path) -> bool:
        return cls.find_root(root) == root

    def __init__(self, root: Path, subset: str):
        super().__init__(root, subset)
        self.root = self.find_root(self.root) or self.root

    def exists(self) -> bool:
        return (self.root / f"{self.subset}.txt").is_file()

    def _list_videos(self) -> list[VideoRecord]:
        listing = self.root / f"{self.subset}.txt"
        if not listing.is_file():
            raise DataError(
                f"{listing}: missing video list; --data-root must be a VSPW_480p/ or VSPW/ folder "
                "holding train.txt, val.txt, test.txt and data/"
            )
        names = sorted({line.strip() for line in read_text(listing, "video list", DataError).splitlines() if line.strip()})
        needs_masks = self.subset != "test"
        videos = (self._video(name, needs_masks) for name in names)
        return [v for v in videos if v is not None]

    def _video(self, name: str, needs_masks: bool) -> VideoRecord | None:
        video_dir = self.root / "data" / name
        origin, mask_dir = video_dir / "origin", video_dir / "mask"
        if not origin.is_dir():
            return self._problem(f"{origin}: missing frame folder of video {name} listed in {self.subset}.txt")
        images = sorted(p for p in origin.iterdir() if p.suffix.lower() in FRAME_SUFFIXES)
        if not images:
            return self._problem(f"{origin}: video {name} has no frames")
        frames = []
        for image in images:
            mask = mask_dir / f"{image.stem}.png"
            if mask.is_file():
                frames.append(FrameRecord(image.stem, image, mask))
            elif needs_masks:
                self._problem(f"{mask}: missing mask for frame {image.name} of video {name}")
            else:
                frames.append(FrameRecord(image.stem, image))
        stems = {p.stem for p in images}
        if mask_dir.is_dir():
            orphans = sorted(p.name for p in mask_dir.glob("*.png") if p.stem not in stems)
            if orphans:
                self._problem(f"{mask_dir / orphans[0]}: mask without a frame in {origin} ({len(orphans)} such)")
        return VideoRecord(name, tuple(frames))
