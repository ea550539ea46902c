"""IoU of every class, bars coloured seen/unseen, one panel per result."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ovbench.plots.figure import ResultFigure
from ovbench.plots.series import series_labels
from ovbench.plots.style import SEEN_COLOR, UNSEEN_COLOR, groups_of, new_figure, nice_limit, styled
from ovbench.protocols import get_protocol
from ovbench.reports import group_key, group_title, ranked


@styled
def per_class_figure(loaded: Sequence[tuple[Path, dict]], strict: bool = True) -> Figure:
    """IoU per class, one panel per result, bars coloured seen/unseen; dashed lines at mIoU seen/unseen."""
    shared = len({(group_key(r), r["split"]["hash"]) for _, r in loaded}) == 1
    panels = []
    for members in groups_of(loaded).values():
        results = [r for _, r in members]
        labels = series_labels(results)
        for i in ranked(results):
            r = results[i]
            scores_class = get_protocol(r["protocol"]).scores_class
            ids = [c for c, seen in enumerate(r["split"]["seen"]) if scores_class(seen)]
            panels.append((r, labels[i], ids))
    most = max(len(ids) for _, _, ids in panels)
    longest = max(len(r["split"]["classes"][c]) for r, _, ids in panels for c in ids)
    width = min(44.0, max(6.5, 0.26 * most + 1.5))
    tick_room = 0.065 * longest + 0.2
    fig = new_figure(width, 2.0 * len(panels) + tick_room * (1 if shared else len(panels)) + 0.8)
    axes = fig.subplots(len(panels), 1, squeeze=False, sharex=shared).ravel()

    def top_of(r, ids):
        m = r["metrics"]
        values = [m["per_class_iou"][c] for c in ids] + [m["miou_seen"], m["miou_unseen"], 1.0]
        return max(v for v in values if v is not None)

    common_top = nice_limit(max(top_of(r, ids) for r, _, ids in panels)) if shared else None
    any_seen = False
    for n, (ax, (r, label, ids)) in enumerate(zip(axes, panels)):
        names = [r["split"]["classes"][c] for c in ids]
        seen = [r["split"]["seen"][c] for c in ids]
        any_seen |= any(seen)
        iou = [r["metrics"]["per_class_iou"][c] for c in ids]
        x = np.arange(len(ids))
        colors = [SEEN_COLOR if s else UNSEEN_COLOR for s in seen]
        ax.bar(x, [v if v is not None else 0 for v in iou], 0.75, color=colors)
        for xi, v in zip(x, iou):
            if v is None:  # class absent from the GT (or not scored)
                ax.text(xi, 0.5, "n/a", ha="center", va="bottom", fontsize=6.5, color="0.45", rotation=90)
        m = r["metrics"]
        means = []
        for key, color, what in (("miou_seen", SEEN_COLOR, "seen"), ("miou_unseen", UNSEEN_COLOR, "unseen")):
            if m[key] is not None:
                ax.axhline(m[key], color=color, ls="--", lw=1.0)
                means.append(f"{what} {m[key]:.1f}")
        ax.set_ylim(0, common_top or nice_limit(top_of(r, ids)))
        ax.set_xlim(-0.6, len(ids) - 0.4)
        ax.set_ylabel("IoU (%)")
        ax.grid(axis="x", visible=False)
        where = "" if shared else f" · {r['dataset']['name']} {r['dataset']['subset']} · {r['protocol']}"
        ax.set_title(f"{label}{where}   (mIoU {', '.join(means)})", loc="left")
        if not shared or n == len(panels) - 1:
            ax.set_xticks(x, names, rotation=60, ha="right", rotation_mode="anchor")
            for tick, s in zip(ax.get_xticklabels(), seen):
                tick.set_color("black" if s else "#A65E00")
        else:
            ax.tick_params(axis="x", labelbottom=False)
    handles = [Patch(color=SEEN_COLOR, label="seen class")] if any_seen else []
    handles += [Patch(color=UNSEEN_COLOR, label="unseen class (name in orange)"),
                Line2D([], [], color="0.3", ls="--", lw=1.0, label="mIoU of seen / unseen classes")]  # fmt: skip
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), handlelength=1.6)
    if shared:
        fig.suptitle(f"Per-class IoU · {group_title(group_key(panels[0][0]))}", fontsize=10)
    return fig


FIGURE = ResultFigure("per-class", per_class_figure, "IoU of every class, bars coloured seen/unseen, one panel per result")
