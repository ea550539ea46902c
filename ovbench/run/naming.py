"""How a video is named on disk and recognised again: one place for every per-video file of a run.

Partial results, prediction-cache entries and saved prediction PNGs all name files after a video,
and resuming or reusing them must recognise the same video (same frames) again.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from ovbench.datasets import VideoRecord

_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,150}")


def file_stem(video_name: str) -> str:
    """The video's name where it is safe as a file name, else a hash of it (24 hex digits)."""
    if _SAFE_NAME.fullmatch(video_name):
        return video_name
    return hashlib.sha256(video_name.encode()).hexdigest()[:24]


def video_fingerprint(record: VideoRecord) -> str:
    """A hash of a video's name and frame list (every frame, scored or not: temporal models read them)."""
    h = hashlib.sha256(record.name.encode())
    for frame in record.frames:
        h.update(f"\n{frame.name}:{int(frame.scored)}".encode())
    return h.hexdigest()[:16]


def prediction_png(folder: Path, record: VideoRecord, index: int) -> Path:
    """``FOLDER/<video>/<frame stem>.png``: where ``--save-predictions`` writes and ``evaluate`` reads."""
    return Path(folder) / record.name / f"{record.frames[index].name}.png"


def canonical(value: Any) -> Any:
    """``value`` as it reads back from JSON (tuples become lists), so identities compare equal."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))
