"""Decoding ahead of the scoring loop: scored frames, their GT masks and saved predictions, in order.

One reader serves both commands. ``ovbench run --workers N`` decodes in N
``torch.utils.data.DataLoader`` worker processes, ``ahead`` items per worker in flight; the arrays
reach this process through shared memory, without a copy. Processes rather than threads there: PIL
holds the GIL for part of a decode and a model's Python code holds it for most of a frame, so
decoding threads mostly wait for each other and measured slower than decoding inline.
``ovbench evaluate --workers N`` decodes GT and prediction PNGs in N threads instead (the loop does
little between frames, and starting processes would cost more than it saves). ``workers=0``
decodes inline, when asked.

The model sees nothing of this: :class:`~ovbench.datasets.Video` asks :meth:`FrameReader.frame`
for a frame before decoding it itself, and gets the prefetched one when the frame is a scored frame
of the current video that has not been handed out yet. Frames that a model skips are dropped when
the loop takes that frame's mask, so memory stays bounded by the model's own look-ahead.

A saved prediction that cannot be used (unreadable, or another size than its mask) is not an
exception in the reader: its message comes back as the item's ``problem``, so ``evaluate`` can
list every bad file at once.
"""

from __future__ import annotations

import warnings
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ovbench.datasets import Dataset, FrameRecord, VideoRecord
from ovbench.datasets.io import read_label_png, read_rgb
from ovbench.errors import OvbenchError, PredictionError

THREAD_AHEAD = 8  # items decoded ahead by the reader threads


@dataclass(frozen=True)
class Wanted:
    """What to decode for one video's scored frames besides the GT masks."""

    images: bool = False
    predictions: Path | None = None  # a folder of PRED/<video>/<frame stem>.png


@dataclass
class Decoded:
    rgb: np.ndarray | None
    mask: np.ndarray
    prediction: np.ndarray | None = None
    problem: str | None = None  # why the saved prediction cannot be scored


def decode(dataset: Dataset, frame: FrameRecord, images: bool, prediction: Path | None) -> Decoded:
    """One scored frame's wanted arrays; a dataset error (a bad frame or mask) propagates."""
    rgb = read_rgb(frame.image) if images else None
    mask = dataset.read_label(frame)
    pred = problem = None
    if prediction is not None:
        try:
            pred = read_label_png(prediction, error=PredictionError, what="prediction")
        except PredictionError as exc:
            problem = str(exc)
        else:
            if pred.shape != mask.shape:
                problem = (f"{prediction}: prediction is {pred.shape[1]}x{pred.shape[0]}, mask is "
                           f"{mask.shape[1]}x{mask.shape[0]}")  # fmt: skip
                pred = None
    return Decoded(rgb, mask, pred, problem)


class _InProcess:
    """The worker side (a map-style dataset): item n -> (buffer, shapes, problem, error).

    The arrays travel in one shared-memory buffer: each tensor that crosses processes costs a
    file-descriptor handshake, so one per item, not three.
    """

    def __init__(self, dataset: Dataset, items: Sequence[tuple]):
        self.dataset = dataset
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, n: int):
        import torch

        try:
            item = decode(self.dataset, *self.items[n])
        except OvbenchError as exc:  # sent back as a value: re-raised there with its one-line message
            return None, None, None, (type(exc), str(exc))
        arrays = [a for a in (item.rgb, item.mask, item.prediction) if a is not None]
        shapes = [None if a is None else a.shape for a in (item.rgb, item.mask, item.prediction)]
        buffer = torch.empty(sum(a.size for a in arrays), dtype=torch.uint8).share_memory_()
        view, at = buffer.numpy(), 0
        for a in arrays:
            view[at : at + a.size] = a.reshape(-1)
            at += a.size
        return buffer, shapes, item.problem, None


def _unpack(buffer, shapes, problem) -> Decoded:
    data = buffer.numpy()
    data.flags.writeable = False
    arrays, at = [], 0
    for shape in shapes:
        if shape is None:
            arrays.append(None)
            continue
        size = int(np.prod(shape))
        arrays.append(data[at : at + size].reshape(shape))
        at += size
    return Decoded(arrays[0], arrays[1], arrays[2], problem)


class FrameReader:
    """An ordered stream of decoded scored frames of ``videos``, consumed video by video.

    ``wanted[k]`` says what to decode for the ``k``-th video besides its masks; ``threads`` picks
    threads over processes for ``workers`` > 0.
    """

    def __init__(self, dataset: Dataset, videos: Sequence[VideoRecord], wanted: Sequence[Wanted | bool], *,
                 workers: int, ahead: int = 2, threads: bool = False):  # fmt: skip
        wanted = [w if isinstance(w, Wanted) else Wanted(images=bool(w)) for w in wanted]
        self._keys = [(k, i) for k, record in enumerate(videos) for i in record.scored_indices]
        items = [
            (record.frames[i], w.images,
             None if w.predictions is None else Path(w.predictions) / record.name / f"{record.frames[i].name}.png")
            for record, w in zip(videos, wanted) for i in record.scored_indices
        ]  # fmt: skip
        self._pool = self._loader_iter = None
        if workers == 0:  # frames are left to the model, which decodes them when it reads them
            self._stream: Iterator | None = (decode(dataset, frame, False, pred) for frame, _, pred in items)
        elif threads:
            self._pool = ThreadPoolExecutor(workers)
            self._stream = _ordered(self._pool, dataset, items, THREAD_AHEAD)
        else:
            from torch.utils.data import DataLoader

            with warnings.catch_warnings():  # more workers than CPUs is the user's call, not worth a warning
                warnings.filterwarnings("ignore", message="This DataLoader will create", category=UserWarning)
                loader = DataLoader(_InProcess(dataset, items), batch_size=None, shuffle=False, num_workers=workers,
                                    prefetch_factor=max(1, ahead))  # fmt: skip
                self._loader_iter = iter(loader)
            self._stream = _from_workers(self._loader_iter)
        self._next = 0  # position in _keys of the next item the stream gives
        self._ready: dict[tuple[int, int], Decoded] = {}
        self._inline = workers == 0

    def _fetch(self, key: tuple[int, int]) -> Decoded | None:
        """The item of ``key``, reading the stream up to it; None if the stream is past it."""
        while key not in self._ready:
            if self._next >= len(self._keys) or self._keys[self._next] > key:
                return None
            self._ready[self._keys[self._next]] = next(self._stream)
            self._next += 1
        return self._ready[key]

    def frame(self, video: int, index: int) -> np.ndarray | None:
        """Frame ``index`` of the ``video``-th video, if it was decoded ahead and not taken yet."""
        if self._inline:  # nothing is ahead: the model decodes its frames itself
            return None
        item = self._fetch((video, index))
        if item is None or item.rgb is None:
            return None
        frame, item.rgb = item.rgb, None
        return frame

    def peek(self, video: int, index: int) -> Decoded:
        """The decoded item of a scored frame, left in place for :meth:`take`."""
        item = self._fetch((video, index))
        if item is None:
            raise RuntimeError(f"frame {(video, index)} requested out of order")
        return item

    def take(self, video: int, index: int) -> Decoded:
        """The mask (and prediction) of a scored frame, in the stream's order; drops frames the model skipped."""
        key = (video, index)
        item = self._fetch(key)
        if item is None:
            raise RuntimeError(f"frame {key} requested out of order")
        for earlier in [k for k in self._ready if k <= key]:
            del self._ready[earlier]
        return item

    def mask(self, video: int, index: int) -> np.ndarray:
        return self.take(video, index).mask

    def close(self) -> None:
        self._ready.clear()
        self._stream = None
        loader_iter, self._loader_iter = self._loader_iter, None
        shutdown = getattr(loader_iter, "_shutdown_workers", None)
        if shutdown is not None:
            shutdown()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def _from_workers(loader_iter) -> Iterator[Decoded]:
    for buffer, shapes, problem, error in loader_iter:
        if error is not None:
            kind, message = error
            raise kind(message)
        yield _unpack(buffer, shapes, problem)


def _ordered(pool: ThreadPoolExecutor, dataset: Dataset, items: Sequence[tuple], ahead: int) -> Iterator[Decoded]:
    """``decode(dataset, *item)`` for each item, in order, with up to ``ahead`` decodes running."""
    queue: deque = deque()
    for item in items:
        queue.append(pool.submit(decode, dataset, *item))
        if len(queue) > ahead:
            yield queue.popleft().result()
    while queue:
        yield queue.popleft().result()
