"""The run wing: one scoring loop, fed by a prediction source and drained by sinks.

Open :mod:`~ovbench.run.commands` for the two front doors (``run_model``, ``evaluate_predictions``),
:mod:`~ovbench.run.loop` for the loop, :mod:`~ovbench.run.sources` and :mod:`~ovbench.run.sinks` to
add a way to obtain or keep predictions.
"""

from ovbench.run.commands import check_split, evaluate_predictions, run_model, select_videos
from ovbench.run.config import RunConfig

__all__ = ["RunConfig", "check_split", "evaluate_predictions", "run_model", "select_videos"]
