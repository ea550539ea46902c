"""``--prediction-cache DIR``: a model's predictions kept on disk and reused by later runs.

Entries live under ``DIR/<key>/``, where the key hashes everything that determines a model's output:
model name, every score-relevant option, weights, device type, dataset and subset, and the
vocabulary (class names and prompt names, in order). So the same model re-scored under another split
with the same names, with other metrics, or after ``--max-videos`` grows, reads its predictions back
instead of running again; anything that could change a prediction gives another key. ``model.json``
in that folder records the identity for people.

One entry per video, ``<video>-<fingerprint>/``: a PNG per scored frame holding the model's raw
vocabulary indices (255 = no prediction) and ``video.json`` with the frame names, the SHA-256 of
each PNG and the model's description. An entry is written in a temporary folder and renamed into
place when the video is complete, so it is whole or absent; a damaged one (missing or changed PNG)
is ignored and rewritten, and temporary folders that a killed run left behind are removed a day later.
A cache that cannot be written only costs the recomputation: the run goes on, with one warning.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future
from pathlib import Path

import numpy as np
from PIL import Image

from ovbench.atomic import write_text
from ovbench.cache import cache_key
from ovbench.datasets import VideoRecord
from ovbench.run.naming import file_stem, video_fingerprint

STALE_S = 24 * 3600


def _png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


class PredictionCache:
    def __init__(self, root: Path, identity: Mapping, vocabulary: Sequence, warn=lambda message: None):
        self.identity = dict(identity, vocabulary=[[v.name, list(v.prompts)] for v in vocabulary])
        self.folder = Path(root) / cache_key(**self.identity)
        self.hits = 0
        self._warn = warn
        self._writable = True
        self._warned_damaged = False
        self._swept = False

    def _entry(self, record: VideoRecord) -> Path:
        return self.folder / f"{file_stem(record.name)}-{video_fingerprint(record)}"

    def contains(self, record: VideoRecord) -> bool:
        """Whether an entry exists (cheap; :meth:`get` still checks it)."""
        return (self._entry(record) / "video.json").is_file()

    def get(self, record: VideoRecord) -> tuple[Iterator[tuple[int, np.ndarray]], dict] | None:
        """(an iterator of (frame index, vocabulary indices) like a model's, model description), or None."""
        entry = self._entry(record)
        try:
            meta = json.loads((entry / "video.json").read_text())
            names = [record.frames[i].name for i in record.scored_indices]
            if meta["frames"] != names or not isinstance(meta["model"], dict):
                raise ValueError("frame list")
            blobs = []
            for name, digest in zip(names, meta["sha256"], strict=True):
                data = (entry / f"{name}.png").read_bytes()
                if hashlib.sha256(data).hexdigest() != digest:
                    raise ValueError(f"{name}.png changed")
                blobs.append(data)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            if not self._warned_damaged:
                self._warn(f"prediction cache entry {entry} is damaged ({exc}); its video is run again")
                self._warned_damaged = True
            return None
        self.hits += 1

        def frames():
            for index, data in zip(record.scored_indices, blobs):
                yield index, np.asarray(Image.open(io.BytesIO(data)))

        return frames(), meta["model"]

    def writer(self, record: VideoRecord, pool: Executor | None) -> EntryWriter | None:
        if not self._writable:
            return None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            if not self._swept:  # entries that a killed run left half-written, a day or more ago
                self._swept = True
                for stale in self.folder.glob(".tmp-*"):
                    with contextlib.suppress(OSError):  # another run may be removing it too
                        if stale.stat().st_mtime < time.time() - STALE_S:
                            shutil.rmtree(stale, ignore_errors=True)
            if not (self.folder / "model.json").is_file():
                write_text(self.folder / "model.json", json.dumps(self.identity, indent=1, sort_keys=True) + "\n")
            tmp = self.folder / f".tmp-{uuid.uuid4().hex}"
            tmp.mkdir()
        except OSError as exc:
            self._disable(exc)
            return None
        return EntryWriter(self, record, tmp, pool)

    def _disable(self, exc: OSError) -> None:
        if self._writable:
            self._writable = False
            self._warn(f"prediction cache {self.folder.parent} is not writable ({exc.strerror or exc}); "
                       "predictions are not stored")  # fmt: skip


class EntryWriter:
    """Collects one video's predictions in a temporary folder; :meth:`commit` renames it into place."""

    def __init__(self, cache: PredictionCache, record: VideoRecord, tmp: Path, pool: Executor | None):
        self.cache, self.record, self.tmp, self.pool = cache, record, tmp, pool
        self.futures: list[Future | str] = []

    def add(self, frame_name: str, indices: np.ndarray) -> None:
        def write() -> str:
            data = _png_bytes(indices)
            (self.tmp / f"{frame_name}.png").write_bytes(data)
            return hashlib.sha256(data).hexdigest()

        self.futures.append(self.pool.submit(write) if self.pool is not None else write())

    def commit(self, model: Mapping) -> None:
        entry = self.cache._entry(self.record)
        try:
            digests = [f.result() if isinstance(f, Future) else f for f in self.futures]
            names = [self.record.frames[i].name for i in self.record.scored_indices]
            meta = {"video": self.record.name, "frames": names, "sha256": digests, "model": dict(model)}
            write_text(self.tmp / "video.json", json.dumps(meta, sort_keys=True, default=str) + "\n")
            if entry.exists():  # a damaged entry (a whole one would have been read instead)
                shutil.rmtree(entry, ignore_errors=True)
            try:
                os.rename(self.tmp, entry)
            except OSError:
                if not entry.is_dir():  # another run wrote the same entry first: keep theirs
                    raise
        except OSError as exc:
            self.cache._disable(exc)
        finally:
            self.discard()

    def discard(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)
