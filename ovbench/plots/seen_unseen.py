"""mIoU on seen against unseen classes, one point per model, with hIoU contours."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ovbench.plots.figure import NotApplicable, ResultFigure
from ovbench.plots.series import model_key, series_index, series_labels, series_style
from ovbench.plots.style import axes_grid, groups_of, new_figure, nice_limit, styled
from ovbench.reports import group_title, ranked


@styled
def seen_unseen_figure(loaded: Sequence[tuple[Path, dict]], strict: bool = True) -> Figure:
    """mIoU seen (x) against mIoU unseen (y), one point per model, hIoU contours; results scoring both only."""
    both = [(p, r) for p, r in loaded if r["metrics"]["miou_seen"] is not None and r["metrics"]["miou_unseen"] is not None]
    if not both:
        raise NotApplicable("the seen-unseen plot needs results that score seen and unseen classes (gzsl; zsl scores no seen classes)")
    groups = groups_of(both)
    styles = series_index(groups)
    fig = new_figure(5.6 * min(len(groups), 2), 4.2 * math.ceil(len(groups) / 2))
    for ax, (key, members) in zip(axes_grid(fig, len(groups)), groups.items()):
        results = [r for _, r in members]
        labels = series_labels(results)
        order = ranked(results)
        lim = nice_limit(max(max(r["metrics"]["miou_seen"], r["metrics"]["miou_unseen"]) for r in results))
        s = np.linspace(1e-6, lim, 400)
        for h in _contour_levels(lim):
            with np.errstate(divide="ignore", invalid="ignore"):
                u = h * s / (2 * s - h)
            ok = (s > h / 2) & (u >= 0) & (u <= lim)
            ax.plot(s[ok], u[ok], color="0.6", lw=0.7, ls="--", zorder=1)
            tip = np.flatnonzero(ok)
            if len(tip):  # label where the curve leaves the top of the axes
                ax.annotate(f"hIoU {h:g}", (s[tip[0]], u[tip[0]]), xytext=(2, -8), textcoords="offset points",
                            fontsize=6.5, color="0.45")  # fmt: skip
        ax.plot([0, lim], [0, lim], color="0.8", lw=0.7, ls=":", zorder=1)
        for i in order:
            m = results[i]["metrics"]
            style = series_style(styles[model_key(results[i])])
            ax.scatter(m["miou_seen"], m["miou_unseen"], s=42, zorder=3, edgecolor="white", linewidth=0.6, alpha=0.9,
                       label=f"{labels[i]} (hIoU {m['hiou']:.1f})", **style)  # fmt: skip
        ax.set_xlim(0, lim)
        ax.set_ylim(0, lim)
        ax.set_aspect("equal")
        ax.set_xlabel("mIoU seen (%)")
        ax.set_ylabel("mIoU unseen (%)")
        ax.set_title(group_title(key))
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    return fig


def _contour_levels(lim: float) -> list[float]:
    step = {True: 1, False: 5}[lim <= 10] if lim <= 50 else 10
    step = max(step, _round_step(lim / 4))
    return [step * k for k in range(1, int(lim // step) + 1)]


def _round_step(x: float) -> float:
    base = 10 ** math.floor(math.log10(x))
    for m in (1, 2, 2.5, 5, 10):
        if m * base >= x:
            return m * base
    return 10 * base


FIGURE = ResultFigure("seen-unseen", seen_unseen_figure, "mIoU on seen against unseen classes, one point per model, hIoU contours (gzsl results)")
