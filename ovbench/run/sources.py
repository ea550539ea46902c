"""Where the scoring loop's predictions come from: a model, a model behind its prediction cache, or a folder.

A source opens one video at a time as a :class:`VideoStream`: (frame index, labels) for each scored
frame, in order, plus the lookup from the labels to the split's class ids and the ``model`` block
that the result records. ``run`` and ``evaluate`` are the same loop over different sources.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ovbench.datasets import Video, VideoRecord
from ovbench.errors import PredictionError
from ovbench.models import VideoModel, VocabularyEntry
from ovbench.run.decode import FrameReader, Wanted
from ovbench.run.naming import canonical, prediction_png
from ovbench.run.prediction_cache import PredictionCache


@dataclass
class VideoStream:
    """One video's predictions as the loop reads them.

    ``frames`` yields (frame index, labels) for each scored frame, where labels are vocabulary
    indices when ``lut`` is given (``lut[index]`` = class id) and class ids otherwise; labels of
    None stand for a prediction the source could not use and has recorded (see
    :meth:`PredictionSource.finish`). ``cached`` says the labels were read back from the
    prediction cache.
    """

    frames: Iterator[tuple[int, np.ndarray | None]]
    lut: np.ndarray | None
    description: dict
    cached: bool = False
    close: Callable[[], None] = field(default=lambda: None)


class PredictionSource:
    """The interface the loop needs; ``label`` names the source in messages and the progress bar."""

    label: str = "predictions"
    name: str = ""

    def wanted(self, record: VideoRecord) -> Wanted:
        """What the reader should decode ahead for this video besides its masks."""
        return Wanted()

    def open(self, record: VideoRecord, reader: FrameReader, position: int) -> VideoStream:
        raise NotImplementedError

    def describe(self) -> dict:
        """The result's ``model`` block."""
        raise NotImplementedError

    def finish(self) -> None:
        """After the last video: raises for the problems recorded on the way (none by default)."""


def model_description(model_name: str, model: VideoModel, vocabulary: Sequence[VocabularyEntry]) -> dict:
    """The result's ``model`` block, as it reads back from JSON: the model's own description plus the
    prompt names it was asked for (recorded here, so ``describe()`` need not remember its last call)."""
    options = {**model.describe(), "prompts": [list(v.prompts) for v in vocabulary]}
    return canonical(
        {"name": model_name, "options": options, "weights": model.weights, "random_weights": bool(model.random_weights)}
    )


class ModelSource(PredictionSource):
    """Runs ``model`` on each video with the protocol's vocabulary."""

    def __init__(self, model: VideoModel, model_name: str, vocabulary: Sequence[VocabularyEntry], lut: np.ndarray):
        self.model, self.name, self.vocabulary, self.lut = model, model_name, list(vocabulary), lut
        self.label = f"model {model_name!r}"
        self._description = model_description(model_name, model, self.vocabulary)  # describe() is pure

    def wanted(self, record: VideoRecord) -> Wanted:
        return Wanted(images=True)

    def open(self, record: VideoRecord, reader: FrameReader, position: int) -> VideoStream:
        video = Video(record, prefetched=lambda i: reader.frame(position, i))
        frames = self.model.predict_video(video, self.vocabulary)
        return VideoStream(iter(frames), self.lut, self._description, close=video.close)

    def describe(self) -> dict:
        return self._description


class CachingSource(PredictionSource):
    """A model behind its prediction cache: videos found there are read back instead of run.

    Filling the cache is the :class:`~ovbench.run.sinks.CacheEntries` sink's job.
    """

    def __init__(self, inner: ModelSource, cache: PredictionCache):
        self.inner, self.cache = inner, cache
        self.label, self.name = inner.label, inner.name

    def wanted(self, record: VideoRecord) -> Wanted:
        return Wanted(images=not self.cache.contains(record))

    def open(self, record: VideoRecord, reader: FrameReader, position: int) -> VideoStream:
        cached = self.cache.get(record)
        if cached is None:
            return self.inner.open(record, reader, position)
        frames, description = cached
        return VideoStream(frames, self.inner.lut, description, cached=True)

    def describe(self) -> dict:
        return self.inner.describe()


class FolderSource(PredictionSource):
    """``PRED/<video>/<frame stem>.png`` holding class ids (255 = no prediction), saved by any code."""

    def __init__(self, folder: Path, model_name: str | None = None):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise PredictionError(f"{self.folder}: predictions folder not found")
        self.name = model_name or self.folder.resolve().name
        self.label = "evaluate"
        self.problems: list[str] = []

    def check_complete(self, videos: Sequence[VideoRecord]) -> None:
        """One error listing every scored frame without a prediction, before anything is read."""
        frames = [(v, i) for v in videos for i in v.scored_indices]
        missing = [f"{v.name}/{v.frames[i].name}.png" for v, i in frames if not prediction_png(self.folder, v, i).is_file()]
        if missing:
            raise PredictionError(
                list_problems(missing, f"of {len(frames)} predictions missing under {self.folder}",
                              "Every scored frame needs PRED/<video>/<frame stem>.png.")
            )  # fmt: skip

    def wanted(self, record: VideoRecord) -> Wanted:
        return Wanted(predictions=self.folder)

    def open(self, record: VideoRecord, reader: FrameReader, position: int) -> VideoStream:
        def frames():
            for index in record.scored_indices:
                item = reader.peek(position, index)
                if item.problem:
                    self.problems.append(item.problem)
                yield index, None if self.problems else item.prediction  # after a problem only the listing goes on

        return VideoStream(frames(), None, self.describe())

    def describe(self) -> dict:
        return {"name": self.name, "options": {"predictions": str(self.folder)}, "weights": None}

    def finish(self) -> None:
        if self.problems:
            raise PredictionError(list_problems(self.problems, "unreadable predictions", "No result was written."))


def list_problems(problems: list[str], what: str, fix: str) -> str:
    shown = "; ".join(problems[:5]) + (f"; … and {len(problems) - 5} more" if len(problems) > 5 else "")
    return f"{len(problems)} {what}: {shown}. {fix}"
