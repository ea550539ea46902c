"""Decoding scored frames and their GT masks ahead of the model, in DataLoader worker processes.

``ovbench run --workers N`` starts N ``torch.utils.data.DataLoader`` workers that decode, in order,
every scored frame of the videos this process will run (RGB frame and GT mask; the mask only for
videos whose predictions come from the prediction cache), ``ahead`` items per worker in flight. The
decoded arrays reach this process through shared memory, without a copy. Processes rather than
threads: PIL holds the GIL for part of a decode and the scoring code holds it for most of a frame,
so decoding threads mostly wait for each other and measured slower than decoding inline.

The model sees nothing of this: :class:`~ovbench.datasets.Video` asks :meth:`FrameReader.frame`
for a frame before decoding it itself, and gets the prefetched one when the frame is a scored frame
of the current video that has not been handed out yet. Frames that a model skips are dropped when
the harness takes that frame's mask, so memory stays bounded by the model's own look-ahead.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from ovbench.datasets import Dataset, VideoRecord
from ovbench.datasets.io import read_rgb
from ovbench.errors import OvbenchError


class _Decode:
    """The worker side (a map-style dataset): item n -> (buffer, RGB shape or None, mask shape, error).

    The RGB frame (if asked for) and the mask travel in one shared-memory buffer, frame first: each
    tensor that crosses processes costs a file-descriptor handshake, so one per item, not two.
    """

    def __init__(self, dataset: Dataset, items: Sequence[tuple]):
        self.dataset = dataset
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, n: int):
        import torch

        frame, with_image = self.items[n]
        try:
            rgb = read_rgb(frame.image) if with_image else None
            gt = self.dataset.read_label(frame)
        except OvbenchError as exc:  # sent back as a value: re-raised here with its one-line message
            return None, None, None, (type(exc), str(exc))
        rgb_size = 0 if rgb is None else rgb.size
        buffer = torch.empty(rgb_size + gt.size, dtype=torch.uint8).share_memory_()
        view = buffer.numpy()
        if rgb is not None:
            view[:rgb_size] = rgb.reshape(-1)
        view[rgb_size:] = gt.reshape(-1)
        return buffer, None if rgb is None else rgb.shape, gt.shape, None


class FrameReader:
    """An ordered stream of decoded (frame, mask) pairs of ``videos``, consumed video by video."""

    def __init__(self, dataset: Dataset, videos: Sequence[VideoRecord], with_images: Sequence[bool], *,
                 workers: int, ahead: int = 2):  # fmt: skip
        from torch.utils.data import DataLoader

        self._keys = [(k, i) for k, record in enumerate(videos) for i in record.scored_indices]
        items = [
            (record.frames[i], image) for record, image in zip(videos, with_images) for i in record.scored_indices
        ]
        with warnings.catch_warnings():  # more workers than CPUs is the user's call, not worth a warning
            warnings.filterwarnings("ignore", message="This DataLoader will create", category=UserWarning)
            loader = DataLoader(_Decode(dataset, items), batch_size=None, shuffle=False, num_workers=workers,
                                prefetch_factor=max(1, ahead))  # fmt: skip
            self._stream = iter(loader)
        self._next = 0  # position in _keys of the next item the stream gives
        self._ready: dict[tuple[int, int], list] = {}  # key -> [frame or None, mask]

    def _fetch(self, key: tuple[int, int]) -> list | None:
        """The item of ``key``, reading the stream up to it; None if the stream is past it."""
        while key not in self._ready:
            if self._next >= len(self._keys) or self._keys[self._next] > key:
                return None
            buffer, rgb_shape, gt_shape, error = next(self._stream)
            if error is not None:
                kind, message = error
                raise kind(message)
            data = buffer.numpy()
            data.flags.writeable = False
            rgb_size = 0 if rgb_shape is None else int(np.prod(rgb_shape))
            rgb = None if rgb_shape is None else data[:rgb_size].reshape(rgb_shape)
            self._ready[self._keys[self._next]] = [rgb, data[rgb_size:].reshape(gt_shape)]
            self._next += 1
        return self._ready[key]

    def frame(self, video: int, index: int) -> np.ndarray | None:
        """Frame ``index`` of the ``video``-th video, if it was decoded ahead and not taken yet."""
        item = self._fetch((video, index))
        if item is None or item[0] is None:
            return None
        frame, item[0] = item[0], None
        return frame

    def mask(self, video: int, index: int) -> np.ndarray:
        """The GT mask of a scored frame (in the stream's order); drops frames the model skipped."""
        key = (video, index)
        item = self._fetch(key)
        if item is None:
            raise RuntimeError(f"mask {key} requested out of order")
        for earlier in [k for k in self._ready if k <= key]:
            del self._ready[earlier]
        return item[1]

    def close(self) -> None:
        self._ready.clear()
        stream, self._stream = self._stream, None
        shutdown = getattr(stream, "_shutdown_workers", None)
        if shutdown is not None:
            shutdown()
