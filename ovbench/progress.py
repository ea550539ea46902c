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
def _bar(enabled: bool):
    """A rich Progress on stderr (None when disabled); it draws only on a terminal."""
    if not enabled:
        yield None
        return
    columns = (
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TextColumn("{task.fields[fps]}"),
    )  # fmt: skip
    console = Console(file=sys.stderr)
    with Progress(*columns, console=console, transient=False, disable=not console.is_terminal) as p:
        yield p


@contextlib.contextmanager
def frame_progress(videos: int, frames: int, label: str, enabled: bool = True):
    with _bar(enabled) as p:
        yield FrameProgress(p, videos, frames, label)


class StepProgress:
    def __init__(self, progress: Progress | None, total: int, start: int, label: str):
        self._p = progress
        if progress is not None:
            self._task = progress.add_task(f"train {label}", total=total, completed=start, fps="")

    def step(self, loss: float) -> None:
        if self._p is not None:
            self._p.advance(self._task)
            speed = self._p.tasks[self._task].speed
            rate = f", {speed:.2f} steps/s" if speed else ""
            self._p.update(self._task, fps=f"loss {loss:.4f}{rate}")


@contextlib.contextmanager
def training_progress(total: int, start: int, label: str, enabled: bool = True):
    with _bar(enabled) as p:
        yield StepProgress(p, total, start, label)
