"""Video consistency (mVC8, mVC16) against mIoU, one colour per model."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ovbench.plots.figure import NotApplicable, ResultFigure
from ovbench.plots.series import model_key, series_index, series_labels, series_style
from ovbench.plots.style import axes_grid, groups_of, new_figure, nice_limit, styled
from ovbench.protocols import get_protocol
from ovbench.reports import group_title, ranked


@styled
def mvc_figure(loaded: Sequence[tuple[Path, dict]], strict: bool = True) -> Figure:
    """mVC8 (circles) and mVC16 (triangles) against mIoU, one colour per model."""
    with_vc = [(p, r) for p, r in loaded if r["metrics"]["mvc8"] is not None or r["metrics"]["mvc16"] is not None]
    if not with_vc:
        raise NotApplicable(
            "no result has mVC8 or mVC16 (they need videos with more than 8 scored frames; Cityscapes has "
            "one scored frame per video)"
        )
    groups = groups_of(with_vc)
    styles = series_index(groups)
    fig = new_figure(5.8 * min(len(groups), 2), 3.8 * math.ceil(len(groups) / 2))
    for ax, (key, members) in zip(axes_grid(fig, len(groups)), groups.items()):
        results = [r for _, r in members]
        labels = series_labels(results)
        handles = []
        xs, ys = [], []
        for i in ranked(results):
            m = results[i]["metrics"]
            color = series_style(styles[model_key(results[i])])["color"]
            points = [(m["miou"], m[k], mk) for k, mk in (("mvc8", "o"), ("mvc16", "^")) if m[k] is not None]
            if len(points) == 2:
                ax.plot([m["miou"]] * 2, [points[0][1], points[1][1]], color=color, lw=0.8, alpha=0.6, zorder=2)
            for x, y, mk in points:
                ax.scatter(x, y, marker=mk, s=40, color=color, edgecolor="white", linewidth=0.6, zorder=3)
                xs.append(x)
                ys.append(y)
            handles.append(Patch(color=color, label=labels[i]))
        handles += [Line2D([], [], ls="", marker="o", color="0.3", label="mVC8"),
                    Line2D([], [], ls="", marker="^", color="0.3", label="mVC16")]  # fmt: skip
        ax.set_xlim(0, nice_limit(max(xs)))
        pad = max(2.0, (max(ys) - min(ys)) * 0.15)
        ax.set_ylim(max(0.0, min(ys) - pad), min(100.0, max(ys) + pad))
        ax.set_xlabel("mIoU over unseen classes (%)" if get_protocol(key[3]).unseen_only else "mIoU (%)")
        ax.set_ylabel("video consistency mVC (%)")
        ax.set_title(group_title(key))
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    return fig


FIGURE = ResultFigure("mvc", mvc_figure, "mVC8 and mVC16 against mIoU, one colour per model")
