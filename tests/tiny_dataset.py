"""A dataset plugin in one file, as a stranger would write it: ``<root>/<subset>/<video>/<frame>.png``
frames beside ``<root>/<subset>/<video>/gt/<frame>.png`` masks (0 and 1 classes, 255 ignore)."""

from __future__ import annotations

from ovbench.api import IGNORE, DataError, Dataset, FrameRecord, LabelEncoding, VideoRecord


class TinyVideos(Dataset):
    name = "tiny"
    num_classes = 2
    subsets = ("train", "val")
    folder_names = ("tiny",)
    colors = ((10, 20, 30), (200, 100, 50))
    _encoding = LabelEncoding(2, {0: 0, 1: 1, IGNORE: IGNORE})

    @property
    def encoding(self) -> LabelEncoding:
        return self._encoding

    def exists(self) -> bool:
        return (self.root / self.subset).is_dir()

    def _list_videos(self) -> list[VideoRecord]:
        if not self.exists():
            raise DataError(f"{self.root / self.subset}: missing; expected <subset>/<video>/<frame>.png")
        videos = []
        for folder in sorted(p for p in (self.root / self.subset).iterdir() if p.is_dir()):
            frames = tuple(
                FrameRecord(p.stem, p, folder / "gt" / p.name if (folder / "gt" / p.name).is_file() else None)
                for p in sorted(folder.glob("*.png"))
            )
            videos.append(VideoRecord(folder.name, frames))
        return videos


class Misnamed(TinyVideos):
    name = "something-else"
