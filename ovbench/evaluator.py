"""Scores a stream of (GT, prediction) frames, video by video, under one protocol.

Shaped like detectron2's ``DatasetEvaluator``: ``begin_video`` / ``process`` / ``end_video``,
then ``evaluate``. All state is exact sums (integer pixel-pair counts, window VC values summed as
rationals), kept in a :class:`Tally`: ``end_video`` returns the finished video's tally, ``add``
adds one back (from a partial-results file, or from another process), and ``merge`` adds a whole
evaluator. Addition is exact, so the metrics do not depend on the order of videos, on how they were
split across processes, or on whether the run was interrupted and resumed: they are bit-identical.

Registered metric plugins (:class:`~ovbench.metrics.plugin.Metric`, ``ovbench.registry.METRICS``) ride
along: one instance per video, whose declared sum states travel in the tally's ``extra`` (as JSON values)
and are added to the totals the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from ovbench.errors import OvbenchError
from ovbench.metrics import ConfusionMatrix, VideoConsistency
from ovbench.metrics.plugin import Metric
from ovbench.protocols import Protocol
from ovbench.splits import Split

WINDOW_SIZES = (8, 16)
PAIRS = 256 * 256


@dataclass
class Tally:
    """Exact sums over some videos: everything :meth:`Evaluator.evaluate` needs from them.

    ``counts[gt << 8 | pred]`` counts pixels per (GT byte, prediction byte) pair (after the
    protocol's GT mapping); ``vc[n] = (exact sum of window VC values, number of windows)``.
    """

    videos: int = 0
    frames: int = 0
    counts: np.ndarray = field(default_factory=lambda: np.zeros(PAIRS, dtype=np.int64))
    vc: dict[int, tuple[Fraction, int]] = field(default_factory=dict)
    extra: dict[str, dict] = field(default_factory=dict)  # metric plugin name -> its states as JSON values

    def to_json(self) -> dict:
        """A compact JSON form: nonzero pair counts only, VC sums as exact ``"p/q"`` strings."""
        nonzero = np.flatnonzero(self.counts)
        data = {
            "videos": self.videos,
            "frames": self.frames,
            "pairs": nonzero.tolist(),
            "counts": self.counts[nonzero].tolist(),
            "vc": {str(n): [str(total), windows] for n, (total, windows) in sorted(self.vc.items())},
        }
        if self.extra:
            data["extra"] = self.extra
        return data

    @classmethod
    def from_json(cls, data: Mapping, window_sizes=WINDOW_SIZES, metric_names=()) -> Tally:
        """Inverse of :meth:`to_json`; raises ValueError on anything malformed or on plugin states other
        than ``metric_names``'."""
        try:
            pairs = np.asarray(data["pairs"], dtype=np.int64)
            values = np.asarray(data["counts"], dtype=np.int64)
            vc = {int(n): (Fraction(total), int(windows)) for n, (total, windows) in data["vc"].items()}
            videos, frames = int(data["videos"]), int(data["frames"])
            extra = data.get("extra", {})
        except (KeyError, TypeError, ValueError, ZeroDivisionError, OverflowError) as exc:
            raise ValueError(f"malformed tally ({type(exc).__name__}: {exc})") from None
        if pairs.ndim != 1 or pairs.shape != values.shape or (pairs.size and (pairs.min() < 0 or pairs.max() >= PAIRS)):
            raise ValueError("malformed tally (pair indices)")
        if (values < 0).any() or videos < 0 or frames < 0 or any(t < 0 or w < 0 for t, w in vc.values()):
            raise ValueError("malformed tally (negative counts)")
        if set(vc) != set(window_sizes):
            raise ValueError(f"tally has VC window sizes {sorted(vc)}, expected {list(window_sizes)}")
        if not isinstance(extra, dict) or sorted(extra) != sorted(metric_names):
            raise ValueError(f"tally has metric states {sorted(extra)}, expected {sorted(metric_names)}")
        counts = np.zeros(PAIRS, dtype=np.int64)
        np.add.at(counts, pairs, values)
        return cls(videos, frames, counts, vc, dict(extra))


def metric_plugins() -> dict[str, type[Metric]]:
    """Every registered metric plugin; a broken one is one clear error (a result must not silently lack it)."""
    from ovbench.registry import METRICS

    return {name: METRICS.get(name) for name in METRICS.names()}


class Evaluator:
    def __init__(self, split: Split, protocol: Protocol, window_sizes=WINDOW_SIZES, metrics=None):
        """``metrics``: name -> metric plugin class; default: every registered one."""
        self.split = split
        self.protocol = protocol
        self.window_sizes = tuple(window_sizes)
        lut = protocol.gt_lut(split)
        self._gt_lut = None if np.array_equal(lut, np.arange(256)) else lut
        self.confusion = ConfusionMatrix(split.num_classes)
        self.consistency = VideoConsistency(self.window_sizes)
        self.num_videos = 0
        self.num_frames = 0
        self._video: ConfusionMatrix | None = None  # the open video's counts, added at end_video
        self._video_frames = 0
        self.plugins = dict(metric_plugins() if metrics is None else metrics)
        self.extras = {name: cls(split, protocol) for name, cls in self.plugins.items()}  # the totals
        self._video_extras: dict[str, Metric] = {}
        own = set() if not self.extras else {f"mvc{n}" for n in self.window_sizes} | set(
            protocol.scores(np.zeros((split.num_classes,) * 2), np.zeros(split.num_classes), split)
        )  # the keys ovbench's own scores take, asked of the protocol (a plugin protocol may add some)
        for name, metric in self.extras.items():
            clash = sorted(own & set(metric.titles))
            if clash:
                raise OvbenchError(f"metric {name!r} returns {', '.join(clash)}, which ovbench computes itself; rename its keys")

    def reset(self) -> None:
        self.confusion.reset()
        self.consistency.reset()
        self.num_videos = self.num_frames = 0
        self._video = None
        for metric in self.extras.values():
            metric.reset()

    def begin_video(self) -> None:
        self.consistency.begin_video()
        self._video = ConfusionMatrix(self.split.num_classes)
        self._video_frames = 0
        self._video_extras = {name: cls(self.split, self.protocol) for name, cls in self.plugins.items()}

    def process(self, gt: np.ndarray, pred: np.ndarray) -> None:
        """One scored frame: ``gt`` in evaluation ids (255 = ignore), ``pred`` in class ids (255 = none)."""
        if self._video is None:
            raise RuntimeError("begin_video() must come before process()")
        if self._gt_lut is not None:
            gt = self._gt_lut.take(gt)
        self._video.update(gt, pred)
        self.consistency.update(gt, pred)
        for metric in self._video_extras.values():
            metric.update(gt, pred)
        self._video_frames += 1

    def end_video(self) -> Tally:
        """Closes the video, adds it to the totals and returns its own :class:`Tally`."""
        if self._video is None:
            raise RuntimeError("end_video() without begin_video()")
        vc = self.consistency.end_video()
        counts = self._video.pair_counts.copy()
        self.confusion.add_pair_counts(counts)
        self.num_videos += 1
        self.num_frames += self._video_frames
        self._video = None
        extra = {}
        for name, metric in self._video_extras.items():
            metric.end_video()
            self.extras[name].merge(metric.state_dict())
            extra[name] = metric.state_to_json()
        self._video_extras = {}
        return Tally(1, self._video_frames, counts, vc, extra)

    def add(self, tally: Tally) -> None:
        """Adds finished videos' tally (a saved partial result, or another process's totals)."""
        self.consistency.add(tally.vc)
        self.confusion.add_pair_counts(tally.counts)
        self.num_videos += tally.videos
        self.num_frames += tally.frames
        for name, metric in self.extras.items():
            metric.merge(metric.state_from_json(tally.extra[name]))

    def totals(self) -> Tally:
        """Everything added so far, as one :class:`Tally` (to send to another process)."""
        vc = {n: (self.consistency.exact_sum[n], self.consistency.windows[n]) for n in self.window_sizes}
        extra = {name: metric.state_to_json() for name, metric in self.extras.items()}
        return Tally(self.num_videos, self.num_frames, self.confusion.pair_counts.copy(), vc, extra)

    def merge(self, other: Evaluator) -> None:
        self.add(other.totals())

    def evaluate(self) -> dict:
        """The metrics block of a result file (percent; None where undefined)."""
        metrics = self.protocol.scores(self.confusion.matrix, self.confusion.missed, self.split)
        for n, value in self.consistency.compute().items():
            metrics[f"mvc{n}"] = None if value is None else value * 100
        for name, metric in self.extras.items():
            scores = metric.compute()
            if set(scores) != set(metric.titles):
                raise OvbenchError(f"metric {name!r} computed {sorted(scores)}, but declares {sorted(metric.titles)}")
            metrics.update(scores)
        return metrics
