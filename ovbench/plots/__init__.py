"""Figures from result files and saved predictions, written as PNG, PDF or SVG with matplotlib's Agg canvas.

Result figures are registered (``ovbench.registry.FIGURES``; built in: ``ablation``, ``seen-unseen``,
``per-class``, ``mvc``), one module each; ``qualitative`` draws saved predictions over a dataset's frames.
pyplot is never imported: figures are plain :class:`~matplotlib.figure.Figure` objects on an Agg
canvas, so plotting works without a display and leaves no global state behind.

One job per module: ``figure`` (what a result figure is), ``style`` (look and saving), ``palettes``
(class colours), ``series`` (telling models apart), one module per figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ovbench.errors import OvbenchError
from ovbench.plots.ablation import ablation_figure
from ovbench.plots.figure import NotApplicable, ResultFigure, get_figure
from ovbench.plots.mvc import mvc_figure
from ovbench.plots.palettes import IGNORE_COLOR, bit_palette, palette
from ovbench.plots.per_class import per_class_figure
from ovbench.plots.qualitative import parse_prediction_args, pick_frames, qualitative_figure
from ovbench.plots.seen_unseen import seen_unseen_figure
from ovbench.plots.series import switch_label, switched_on, switches
from ovbench.plots.style import SEEN_COLOR, UNSEEN_COLOR, save_figure
from ovbench.reports import load_results


def plot_results(kind: str, files: Sequence[str | Path], out_dir: str | Path, name: str | None = None,
                 formats: Sequence[str] = ("png", "pdf"), dpi: int = 150) -> list[Path]:  # fmt: skip
    """Renders one registered result figure to ``out_dir/<name or kind>.<fmt>``."""
    figure = get_figure(kind)
    return save_figure(figure.draw(load_results(files), True), out_dir, name or kind, formats, dpi)


def plot_all(files: Sequence[str | Path], out_dir: str | Path, formats: Sequence[str] = ("png", "pdf"),
             dpi: int = 150) -> tuple[list[Path], list[str]]:  # fmt: skip
    """Every registered result figure the inputs allow: (paths written, "kind: why skipped" lines)."""
    from ovbench.registry import FIGURES

    loaded = load_results(files)
    written, skipped = [], []
    for kind in FIGURES.names():
        try:
            fig = get_figure(kind).draw(loaded, False)
        except NotApplicable as exc:
            skipped.append(f"{kind}: {exc}")
            continue
        written += save_figure(fig, out_dir, kind, formats, dpi)
    return written, skipped


def plot_qualitative(
    dataset_name: str, data_root, subset: str, split_name: str, predictions: Sequence[str], out_dir: str | Path,
    *, videos: Sequence[str] = (), frames: Sequence[str] = (), count: int = 4, name: str | None = None,
    formats: Sequence[str] = ("png", "pdf"), dpi: int = 150,
) -> list[Path]:  # fmt: skip
    """The strip of ``qualitative_figure`` for a dataset on disk and prediction folders (``LABEL=FOLDER``)."""
    from ovbench.datasets import open_dataset
    from ovbench.splits import load_split

    split = load_split(split_name)
    if split.dataset != dataset_name:
        raise OvbenchError(f"split {split.name!r} is for dataset {split.dataset!r}, not {dataset_name!r}")
    preds = parse_prediction_args(predictions)
    dataset = open_dataset(dataset_name, data_root, subset)
    fig = qualitative_figure(dataset, split, pick_frames(dataset, preds, videos, frames, count), preds)
    return save_figure(fig, out_dir, name or "qualitative", formats, dpi)


__all__ = [
    "IGNORE_COLOR", "SEEN_COLOR", "UNSEEN_COLOR", "NotApplicable", "OvbenchError", "ResultFigure", "ablation_figure", "bit_palette", "get_figure", "mvc_figure",
    "palette", "parse_prediction_args", "per_class_figure", "pick_frames", "plot_all", "plot_qualitative",
    "plot_results", "qualitative_figure", "save_figure", "seen_unseen_figure", "switch_label", "switched_on",
    "switches",
]  # fmt: skip
