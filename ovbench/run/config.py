"""What a user chooses about a run, in one value instead of a list of keyword arguments."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ovbench.errors import OvbenchError


@dataclass(frozen=True)
class RunConfig:
    """The choices of ``ovbench run`` / ``ovbench evaluate`` that are not the model, data, split or protocol.

    ``max_videos`` / ``max_frames`` select a prefix of the data (recorded in the result);
    ``workers`` decode frames and masks ahead of the scoring loop (processes for ``run``, threads
    for ``evaluate``; 0 decodes inline); ``save_predictions`` and ``prediction_cache`` are folders
    written beside the result.
    """

    max_videos: int | None = None
    max_frames: int | None = None
    workers: int = 0
    save_predictions: Path | None = None
    prediction_cache: Path | None = None
    show_progress: bool = True

    def __post_init__(self) -> None:
        for flag, value in (("--max-videos", self.max_videos), ("--max-frames", self.max_frames)):
            if value is not None and value < 1:
                raise OvbenchError(f"{flag} must be at least 1, got {value}")
        if self.workers < 0:
            raise OvbenchError(f"--workers must be 0 or more, got {self.workers}")
