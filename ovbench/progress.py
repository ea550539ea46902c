"""A rich progress bar for videos, frames and frames per second."""

from __future__ import annotations

import contextlib
import sys

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class FrameProgress:
    def __init__(self, progress: Progress | None, videos: int, frames: int, label: str):
        self._p = progress
        if progress is not None:
            self._videos = progress.add_task(f"{label} videos", total=videos, fps="")
            self._frames = progress.add_task(f"{label} frames", total=frames, fps="")

    def frame(self) -> None:
        if self._p is not None:
            self._p.advance(self._frames)
            speed = self._p.tasks[self._frames].speed
            if speed:
                self._p.update(self._frames, fps=f"{speed:.1f} frames/s")

    def video(self) -> None:
        if self._p is not None:
            self._p.advance(self._videos)


@contextlib.contextmanager
def frame_progress(videos: int, frames: int, label: str, enabled: bool = True):
    if not enabled:
        yield FrameProgress(None, videos, frames, label)
        return
    columns = (
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TextColumn("{task.fields[fps]}"),
    )  # fmt: skip
    console = Console(file=sys.stderr)
    with Progress(*columns, console=console, transient=False, disable=not console.is_terminal) as p:
        yield FrameProgress(p, videos, frames, label)
