"""What a model or dataset plugin may import from ovbench: this module is the whole public face of the harness.

Everything else in ``ovbench`` may change between versions; the names below keep their meaning.
The training names import PyTorch, the report names the result schema and the figure names matplotlib, so
they are resolved only when asked for.
"""

from __future__ import annotations

from typing import Any

from ovbench.atomic import atomic_path, write_text
from ovbench.cache import cache_dir, cache_key, cached_tensor
from ovbench.checkpoints import file_sha256, load_mapped_state, official_key, read_state_dict
from ovbench.datasets.base import IGNORE, Dataset, FrameRecord, LabelEncoding, Video, VideoRecord
from ovbench.errors import DataError, OvbenchError
from ovbench.metrics.plugin import Metric
from ovbench.models import NO_PREDICTION, Option, VideoModel, VocabularyEntry
from ovbench.protocols import Protocol
from ovbench.splits import ClassInfo, Split

_TRAINING = ("TrainableVideoModel", "TrainingSample", "latest_checkpoint", "WEIGHTS", "OPTIONS")
_REPORTS = ("Cited", "ReportFormat", "Table", "best_cells", "cell_text")
_FIGURES = ("NotApplicable", "ResultFigure")

__all__ = [
    "NO_PREDICTION", "Option", "OvbenchError", "Video", "VideoModel", "VocabularyEntry",
    "IGNORE", "DataError", "Dataset", "FrameRecord", "LabelEncoding", "VideoRecord",
    "ClassInfo", "Metric", "Protocol", "Split",
    "atomic_path", "cache_dir", "cache_key", "cached_tensor", "file_sha256", "load_mapped_state", "official_key", "read_state_dict",
    "write_text", *_TRAINING, *_REPORTS, *_FIGURES,
]  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _TRAINING:
        from ovbench import training

        return getattr(training, name)
    if name in _REPORTS:
        from ovbench.reports import formats

        return getattr(formats, name)
    if name in _FIGURES:
        from ovbench.plots import figure

        return getattr(figure, name)
    raise AttributeError(f"module 'ovbench.api' has no attribute {name!r}")
