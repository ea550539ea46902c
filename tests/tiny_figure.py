"""A figure plugin in one file: every result's main score as one labelled bar."""

from __future__ import annotations

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ovbench.api import NotApplicable, ResultFigure


def main_scores(loaded, strict):
    scored = [(r["model"]["name"], r["main_score"]) for _, r in loaded if r["main_score"] is not None]
    if not scored:
        raise NotApplicable("no result has a main score")
    fig = Figure(figsize=(4, 3))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    bars = ax.bar([name for name, _ in scored], [score for _, score in scored])
    ax.bar_label(bars, labels=[f"score {score:.2f}" for _, score in scored])
    return fig


FIGURE = ResultFigure("main-scores", main_scores, "every result's main score as one bar")
