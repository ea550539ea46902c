"""The look every figure shares (colours, fonts, sizes), and writing a figure to files."""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ovbench.atomic import atomic_path
from ovbench.errors import OvbenchError
from ovbench.reports import group_key


FORMATS = ("png", "pdf", "svg")


# Okabe & Ito's colour-blind-safe set (yellow swapped for grey, which reads on white), for series.
SERIES_COLORS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#8C8C8C")


MARKERS = ("o", "s", "D", "^", "v", "P", "X", "h")


SEEN_COLOR, UNSEEN_COLOR = "#0072B2", "#E69F00"


STYLE = {
    "font.size": 9, "axes.titlesize": 9.5, "axes.labelsize": 9, "legend.fontsize": 8,
    "xtick.labelsize": 8, "ytick.labelsize": 8, "axes.spines.top": False, "axes.spines.right": False,
    "axes.grid": True, "grid.alpha": 0.3, "grid.linewidth": 0.6, "axes.axisbelow": True,
    "legend.frameon": False, "pdf.fonttype": 42, "ps.fonttype": 42, "svg.fonttype": "none",
}  # fmt: skip


def save_figure(fig: Figure, out_dir: str | Path, stem: str, formats: Sequence[str] = ("png", "pdf"),
                dpi: int = 150) -> list[Path]:  # fmt: skip
    """Writes ``out_dir/stem.<fmt>`` for each format, each atomically; returns the paths."""
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise OvbenchError(f"--formats {','.join(formats)}: choose from {', '.join(FORMATS)}")
    if not stem or stem in (".", "..") or "/" in stem or "\\" in stem or stem.startswith("."):
        raise OvbenchError(f"--name {stem!r}: a file name stem without folders or a leading dot, e.g. ablation-vspw")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise OvbenchError(f"--out {out_dir}: exists and is not a folder")
    written = []
    for fmt in formats:
        path = out_dir / f"{stem}.{fmt}"
        try:
            with atomic_path(path) as tmp, matplotlib.rc_context(STYLE):
                fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches="tight", pad_inches=0.05, facecolor="white")
        except OSError as exc:
            raise OvbenchError(f"{path}: cannot write ({exc.strerror or exc})") from None
        written.append(path)
    return written


def new_figure(width: float, height: float) -> Figure:
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def axes_grid(fig: Figure, n: int, ncols: int = 2, **kw) -> list:
    ncols = max(1, min(n, ncols))
    nrows = math.ceil(n / ncols)
    with matplotlib.rc_context(STYLE):
        axes = fig.subplots(nrows, ncols, squeeze=False, **kw).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return list(axes[:n])


def styled(function):
    """Runs a figure builder under STYLE, so every axis it creates picks the style up."""

    @functools.wraps(function)
    def wrapped(*args, **kwargs):
        with matplotlib.rc_context(STYLE):
            return function(*args, **kwargs)

    return wrapped


def groups_of(loaded, key=group_key) -> dict[tuple, list[tuple[Path, dict]]]:
    groups: dict[tuple, list[tuple[Path, dict]]] = defaultdict(list)
    for path, r in loaded:
        groups[key(r)].append((path, r))
    return dict(sorted(groups.items()))


def nice_limit(value: float, floor: float = 5.0) -> float:
    """A round upper axis limit a little above ``value``, at most 100."""
    value = max(value * 1.12, floor)
    step = 10 ** math.floor(math.log10(value)) / 2
    return min(100.0, math.ceil(value / step) * step)
