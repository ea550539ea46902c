"""Scores a stream of (GT, prediction) frames, video by video, under one protocol.

Shaped like detectron2's ``DatasetEvaluator``: ``begin_video`` / ``process`` / ``end_video``,
then ``evaluate``. All state is sums, so evaluators from several processes ``merge`` exactly.
"""

from __future__ import annotations

import numpy as np

from ovbench.metrics import ConfusionMatrix, VideoConsistency
from ovbench.protocols import Protocol
from ovbench.splits import Split

WINDOW_SIZES = (8, 16)


class Evaluator:
    def __init__(self, split: Split, protocol: Protocol, window_sizes=WINDOW_SIZES):
        self.split = split
        self.protocol = protocol
        lut = protocol.gt_lut(split)
        self._gt_lut = None if np.array_equal(lut, np.arange(256)) else lut
        self.confusion = ConfusionMatrix(split.num_classes)
        self.consistency = VideoConsistency(window_sizes)
        self.num_videos = 0
        self.num_frames = 0

    def reset(self) -> None:
        self.confusion.reset()
        self.consistency.reset()
        self.num_videos = self.num_frames = 0

    def begin_video(self) -> None:
        self.consistency.begin_video()

    def process(self, gt: np.ndarray, pred: np.ndarray) -> None:
        """One scored frame: ``gt`` in evaluation ids (255 = ignore), ``pred`` in class ids (255 = none)."""
        if self._gt_lut is not None:
            gt = self._gt_lut.take(gt)
        self.confusion.update(gt, pred)
        self.consistency.update(gt, pred)
        self.num_frames += 1

    def end_video(self) -> None:
        self.consistency.end_video()
        self.num_videos += 1

    def merge(self, other: Evaluator) -> None:
        self.confusion.merge(other.confusion)
        self.consistency.merge(other.consistency)
        self.num_videos += other.num_videos
        self.num_frames += other.num_frames

    def evaluate(self) -> dict:
        """The metrics block of a result file (percent; None where undefined)."""
        metrics = self.protocol.scores(self.confusion.matrix, self.confusion.missed, self.split)
        for n, value in self.consistency.compute().items():
            metrics[f"mvc{n}"] = None if value is None else value * 100
        return metrics
