"""What the scoring loop tells as it goes: each scored frame's labels, and each finished video.

Sinks are called in their order; a video's ``end_video`` runs only once the video is whole, so the
order states what exists first: prediction PNGs, then the cache entry, then the partial result
that lets ``--resume`` skip the video.
"""

from __future__ import annotations

from concurrent.futures import Executor, Future
from pathlib import Path

import numpy as np
from PIL import Image

from ovbench.atomic import atomic_path
from ovbench.datasets import VideoRecord
from ovbench.evaluator import Tally
from ovbench.run.naming import prediction_png
from ovbench.run.partials import PartialStore
from ovbench.run.prediction_cache import PredictionCache, EntryWriter
from ovbench.run.sources import VideoStream


class VideoSink:
    """Callbacks of the loop; every one is optional."""

    def begin_video(self, record: VideoRecord, stream: VideoStream) -> None:
        pass

    def frame(self, record: VideoRecord, index: int, labels: np.ndarray, class_ids: np.ndarray) -> None:
        """``labels`` as the source gave them (vocabulary indices for a model), ``class_ids`` as scored."""

    def end_video(self, record: VideoRecord, tally: Tally, description: dict) -> None:
        pass

    def abort_video(self, record: VideoRecord) -> None:
        """The video failed or was interrupted: nothing of it may remain."""


def save_png(path: Path, array: np.ndarray) -> None:
    """Writes a label PNG via a temporary name, so no half-written prediction is left behind."""
    with atomic_path(path) as tmp:
        Image.fromarray(array).save(tmp, format="PNG")


class PredictionPngs(VideoSink):
    """``--save-predictions``: class-id PNGs in the layout ``evaluate`` reads, written by ``pool``."""

    def __init__(self, folder: Path, pool: Executor):
        self.folder, self.pool = Path(folder), pool
        self._pending: list[Future] = []

    def frame(self, record, index, labels, class_ids) -> None:
        self._pending.append(self.pool.submit(save_png, prediction_png(self.folder, record, index), class_ids))

    def end_video(self, record, tally, description) -> None:
        pending, self._pending = self._pending, []
        for future in pending:
            future.result()


def pngs_exist(folder: Path, record: VideoRecord) -> bool:
    """Whether every scored frame's PNG is in ``folder`` (a resumed video must have them)."""
    return all(prediction_png(folder, record, i).is_file() for i in record.scored_indices)


class CacheEntries(VideoSink):
    """Stores each video a model computed in its prediction cache (videos read from it are left alone)."""

    def __init__(self, cache: PredictionCache, pool: Executor):
        self.cache, self.pool = cache, pool
        self._entry: EntryWriter | None = None

    def begin_video(self, record, stream) -> None:
        self._entry = None if stream.cached else self.cache.writer(record, self.pool)

    def frame(self, record, index, labels, class_ids) -> None:
        if self._entry is not None:  # a copy: a model may reuse its output buffer
            self._entry.add(record.frames[index].name, np.array(labels, dtype=np.uint8, copy=True))

    def end_video(self, record, tally, description) -> None:
        entry, self._entry = self._entry, None
        if entry is not None:
            entry.commit(description)

    def abort_video(self, record) -> None:
        entry, self._entry = self._entry, None
        if entry is not None:
            entry.discard()


class PartialResults(VideoSink):
    """Saves each finished video's tally for ``--resume``."""

    def __init__(self, store: PartialStore):
        self.store = store

    def end_video(self, record, tally, description) -> None:
        self.store.save(record, tally, description)
