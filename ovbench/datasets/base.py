"""What every dataset is made of: videos of frames, some of them scored, and a label encoding.

Loaders only list files (cheap); pixels are decoded on demand, each once per pass.
"""

from __future__ import annotations

import abc
import hashlib
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from ovbench.datasets.io import image_size, read_label_png, read_rgb
from ovbench.errors import DataError

IGNORE = 255


@dataclass(frozen=True)
class FrameRecord:
    """One frame on disk; ``label`` is None for frames without ground truth (not scored)."""

    name: str
    image: Path
    label: Path | None = None

    @property
    def scored(self) -> bool:
        return self.label is not None


@dataclass(frozen=True)
class VideoRecord:
    """A video: its frames in temporal (file-name) order."""

    name: str
    frames: tuple[FrameRecord, ...]

    @property
    def scored_indices(self) -> tuple[int, ...]:
        return tuple(i for i, f in enumerate(self.frames) if f.scored)

    def truncated(self, max_scored: int | None) -> VideoRecord:
        """The prefix of the video that ends with its ``max_scored``-th scored frame."""
        if max_scored is None:
            return self
        if max_scored < 1:
            raise ValueError(f"max_scored must be at least 1, got {max_scored}")
        scored = self.scored_indices
        if len(scored) <= max_scored:
            return self
        return VideoRecord(self.name, self.frames[: scored[max_scored - 1] + 1])


class LabelEncoding:
    """Maps raw mask values to evaluation ids 0..C-1 (255 = ignore); other values are errors."""

    def __init__(self, num_classes: int, mapping: dict[int, int]):
        self.num_classes = num_classes
        self.lut = np.full(256, IGNORE, dtype=np.uint8)
        self.invalid = np.ones(256, dtype=bool)
        for raw, target in mapping.items():
            if not (target == IGNORE or 0 <= target < num_classes):
                raise ValueError(f"raw value {raw} maps to {target}, outside 0..{num_classes - 1}")
            self.lut[raw] = target
            self.invalid[raw] = False

    @classmethod
    def offset(cls, num_classes: int, first_raw: int, ignore_raw: Sequence[int]) -> LabelEncoding:
        """raw r -> r - first_raw for the C class values; the listed raw values -> ignore."""
        mapping = {first_raw + c: c for c in range(num_classes)}
        mapping.update({r: IGNORE for r in ignore_raw})
        return cls(num_classes, mapping)

    def check(self, raw: np.ndarray, path: Path) -> None:
        if not self.invalid.take(raw).any():
            return
        present = np.flatnonzero(np.bincount(raw.ravel(), minlength=256))
        bad = present[self.invalid[present]]
        allowed = np.flatnonzero(~self.invalid)
        raise DataError(
            f"{path}: label value(s) {', '.join(map(str, bad[:10]))} outside the class set "
            f"(allowed raw values: {_ranges(allowed)}); the mask is corrupt or from another dataset"
        )

    def decode(self, path: Path) -> np.ndarray:
        """The mask at ``path`` as evaluation ids (uint8, 255 = ignore)."""
        raw = read_label_png(path)
        self.check(raw, path)
        return self.lut.take(raw)


def _ranges(values: np.ndarray) -> str:
    parts, start = [], None
    for i, v in enumerate(values):
        if start is None:
            start = v
        if i + 1 == len(values) or values[i + 1] != v + 1:
            parts.append(str(start) if start == v else f"{start}-{v}")
            start = None
    return ", ".join(parts)


class Dataset(abc.ABC):
    """A dataset subset on disk: a list of videos plus the label encoding of its masks.

    A dataset's facts live here as class data, so adding one is one file: ``default_split`` (the
    split ``--split`` defaults to: a name shipped with ovbench or a .yaml path), ``folder_names``
    (what its folder may be called under a shared ``$OVBENCH_DATA``), ``colors`` (RGB per class
    id for figures; None: generated). Register the class under ``name`` in the ``ovbench.datasets``
    entry-point group (see README, "Adding a dataset").
    """

    name: ClassVar[str]
    num_classes: ClassVar[int]
    subsets: ClassVar[tuple[str, ...]] = ("train", "val", "test")
    default_split: ClassVar[str | None] = None
    folder_names: ClassVar[tuple[str, ...]] = ()
    colors: ClassVar[tuple[tuple[int, int, int], ...] | None] = None

    @classmethod
    def is_root(cls, root: Path) -> bool:
        """Whether ``root`` is this dataset's own folder (rather than a folder holding it)."""
        return any(cls(root, subset).exists() for subset in cls.subsets)

    def __init__(self, root: Path, subset: str):
        if subset not in self.subsets:
            raise DataError(f"--subset {subset!r}: {self.name} has subsets {', '.join(self.subsets)}")
        self.root = Path(root)
        self.subset = subset
        self._videos: list[VideoRecord] | None = None
        self._problems: list[str] | None = None

    def _problem(self, message: str) -> None:
        """A per-file listing problem: raised at once, or collected when ``collect_problems`` runs."""
        if self._problems is None:
            raise DataError(message)
        self._problems.append(message)

    def collect_problems(self) -> tuple[list[VideoRecord], list[str]]:
        """The videos that list cleanly plus every listing problem, for ``ovbench check``."""
        self._problems = []
        try:
            return self._checked(self._list_videos()), self._problems
        finally:
            self._problems = None

    @property
    @abc.abstractmethod
    def encoding(self) -> LabelEncoding: ...

    @abc.abstractmethod
    def exists(self) -> bool:
        """Whether this subset's listing (list file or folder) is present at all."""

    @abc.abstractmethod
    def _list_videos(self) -> list[VideoRecord]:
        """Videos sorted by name, frames sorted by file name; raises DataError on layout problems."""

    def videos(self) -> list[VideoRecord]:
        if self._videos is None:
            videos = self._checked(self._list_videos())
            if not videos:
                raise DataError(f"{self.root}: no {self.subset} videos found for {self.name}")
            self._videos = videos
        return self._videos

    def _checked(self, videos: list[VideoRecord]) -> list[VideoRecord]:
        """``videos`` without those that cannot be scored honestly: names that are not UTF-8 (they
        cannot be recorded in result and progress files) or a frame listed twice (scored twice)."""
        kept = []
        for video in videos:
            problems = [
                f"{_shown(f.image)}: the frame name is not valid UTF-8; rename the file or folder"
                for f in video.frames if not _is_utf8(f.name)
            ]
            if not _is_utf8(video.name):
                problems.insert(0, f"{_shown(video.frames[0].image)}: the video name is not valid UTF-8; "
                                   "rename the file or folder")  # fmt: skip
            first = {}
            for f in video.frames:
                first.setdefault(f.name, f.image)
            problems += [
                f"{first[name]}: frame {name} of video {video.name} is listed {count} times; "
                "remove the duplicate lines from the subset's list file"
                for name, count in sorted(Counter(f.name for f in video.frames).items()) if count > 1
            ]
            for message in problems:
                self._problem(message)
            if not problems:
                kept.append(video)
        return kept

    def read_label(self, frame: FrameRecord) -> np.ndarray:
        if frame.label is None:
            raise DataError(f"{frame.image}: frame has no ground-truth mask")
        return self.encoding.decode(frame.label)


def _shown(path: Path) -> str:
    """A path printable whatever bytes its name holds (undecodable ones as \\xNN)."""
    return str(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes of a file name arrive as lone surrogates
        return False
    return True


def fingerprint(videos: Sequence[VideoRecord]) -> str:
    """A hash of which frames are scored, so results over different file lists never mix silently."""
    h = hashlib.sha256()
    for v in videos:
        for i in v.scored_indices:
            h.update(f"{v.name}/{v.frames[i].name}\n".encode())
    return h.hexdigest()[:16]


class Video(Sequence):
    """Random access to a video's decoded RGB frames, as given to models.

    ``video[i]`` decodes frame ``i`` (H×W×3 uint8, read-only); a few recent frames are cached so a
    temporal model that revisits its references does not decode them again. ``prefetched(i)``, when
    given, is asked first: it returns frame ``i`` if a background reader already decoded it (see
    :mod:`ovbench.run.decode`), else None.
    """

    def __init__(
        self, record: VideoRecord, cache_size: int = 32, *, prefetched: Callable[[int], np.ndarray | None] | None = None
    ):
        self.record = record
        self.name = record.name
        self.frame_names = tuple(f.name for f in record.frames)
        self.scored_indices = record.scored_indices
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._prefetched = prefetched

    def __len__(self) -> int:
        return len(self.record.frames)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"frame {i} outside video {self.name} of {len(self)} frames")
        if i in self._cache:
            self._cache.move_to_end(i)
            return self._cache[i]
        frame = self._prefetched(i) if self._prefetched is not None else None
        if frame is None:
            frame = _decode(self.record.frames[i].image)
        self._cache[i] = frame
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return frame

    def close(self) -> None:
        """Drops the cached frames."""
        self._cache.clear()
        self._prefetched = None

    def frame_size(self, i: int) -> tuple[int, int]:
        """(height, width) of frame ``i`` without decoding it."""
        return image_size(self.record.frames[i].image)


def _decode(path: Path) -> np.ndarray:
    frame = read_rgb(path)
    frame.flags.writeable = False
    return frame
