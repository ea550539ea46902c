"""Grouped bars of one model's results with its boolean options switched on and off (an ablation grid)."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ovbench.errors import OvbenchError
from ovbench.plots.figure import NotApplicable, ResultFigure
from ovbench.plots.series import switch_label, switched_on, switches
from ovbench.plots.style import SERIES_COLORS, axes_grid, groups_of, new_figure, nice_limit, styled
from ovbench.protocols import get_protocol
from ovbench.reports import group_title


ABLATION_METRICS = (("miou", "mIoU"), ("hiou", "hIoU"), ("mvc8", "mVC8"), ("mvc16", "mVC16"))


def _ablations(loaded: Sequence[tuple[Path, dict]], strict: bool) -> list[tuple[tuple, str, tuple, list]]:
    """(group key, model name, switches, members) for every model with options switched on and off."""
    found = []
    for key, members in groups_of(loaded).items():
        by_model: dict[str, list[tuple[Path, dict]]] = defaultdict(list)
        for path, r in members:
            by_model[r["model"]["name"]].append((path, r))
        for name, runs in by_model.items():
            names = switches([r for _, r in runs])
            if names:
                found.append((key, name, names, runs))
            elif strict:
                raise NotApplicable(
                    f"{runs[0][0]}: model {name!r} has no boolean option that differs among its results on "
                    f"{group_title(key)}; the ablation plot compares one model's results with options switched on and off"
                )
    if not found:
        raise NotApplicable("no results of one model with boolean options switched on and off among the inputs")
    return found


@styled
def ablation_figure(loaded: Sequence[tuple[Path, dict]], strict: bool = True) -> Figure:
    """Grouped bars: one panel per model and dataset/split/protocol, one group per set of its boolean
    options switched on (those that differ among its results), one bar per metric.

    ``strict``: a result of a model without such options is an error; otherwise it is left out.
    """
    cells = []
    for key, name, names, members in _ablations(loaded, strict):
        by_set: dict[tuple, tuple[Path, dict]] = {}
        for path, r in members:
            on = switched_on(r["model"]["options"], names)
            if on in by_set:
                raise OvbenchError(
                    f"{by_set[on][0]} and {path} are both '{switch_label(on)}' on {group_title(key)}; "
                    "pass one result per set of options"
                )
            by_set[on] = (path, r)
        order = sorted(by_set, key=lambda on: (len(on), tuple(names.index(k) for k in on)))
        results = [by_set[on][1] for on in order]
        metrics = [(k, t) for k, t in ABLATION_METRICS if any(r["metrics"][k] is not None for r in results)]
        cells.append((key, name, order, results, metrics))
    most = max(len(c[2]) for c in cells)
    fig = new_figure(max(4.8, 1.25 * most + 1.6) * min(len(cells), 2), 3.4 * math.ceil(len(cells) / 2))
    for ax, (key, name, order, results, metrics) in zip(axes_grid(fig, len(cells)), cells):
        x = np.arange(len(order))
        width = 0.8 / max(1, len(metrics))
        top = 0.0
        for j, (k, title) in enumerate(metrics):
            values = [r["metrics"][k] for r in results]
            heights = [v if v is not None else 0.0 for v in values]
            color = SERIES_COLORS[[m for m, _ in ABLATION_METRICS].index(k)]  # one colour per metric everywhere
            bars = ax.bar(x + (j - (len(metrics) - 1) / 2) * width, heights, width * 0.92, label=title, color=color)
            ax.bar_label(bars, labels=[f"{v:.1f}" if v is not None else "n/a" for v in values], padding=1.5,
                         fontsize=6.5)  # fmt: skip
            top = max(top, *heights)
        ax.set_xticks(x, [switch_label(on) for on in order])
        ax.set_ylim(0, nice_limit(top) * 1.04)
        ax.set_xlabel(f"{name}: options switched on")
        ax.set_ylabel("score (%)")
        ax.grid(axis="x", visible=False)
        note = " (mIoU over unseen classes)" if get_protocol(key[3]).unseen_only else ""
        ax.set_title(f"{group_title(key)}{note}")
        ax.legend(ncols=len(metrics), loc="upper center", bbox_to_anchor=(0.5, -0.2), handlelength=1.0,
                  columnspacing=1.2)  # fmt: skip
    return fig


FIGURE = ResultFigure("ablation", ablation_figure, "Bars of mIoU, hIoU and mVC per set of a model's boolean options switched on (an ablation grid)")
