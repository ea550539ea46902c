"""What a result-based figure is to the harness: a name, a drawing function and one line of help.

A figure is data (a :class:`ResultFigure` instance); others register in ``ovbench.registry.FIGURES``,
and ``ovbench plot NAME`` and ``ovbench plot all`` draw them like the built-in ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from matplotlib.figure import Figure

from ovbench.errors import OvbenchError


class NotApplicable(OvbenchError):
    """The inputs hold nothing this kind of figure can show (``ovbench plot all`` skips it)."""


@dataclass(frozen=True)
class ResultFigure:
    """``draw(loaded, strict)`` turns [(path, result)] into a figure, raising :class:`NotApplicable` when the
    inputs hold nothing it can show; ``strict=False`` (``plot all``) leaves out inputs it cannot use."""

    name: str
    draw: Callable[[Sequence[tuple[Path, dict]], bool], Figure]
    description: str = ""  # one line for ``ovbench plot --help`` and ``ovbench list figures``


def get_figure(name: str) -> ResultFigure:
    """The figure registered as ``name``; unknown names and misnamed plugins are one clear error."""
    from ovbench.registry import FIGURES

    return FIGURES.named(name)
