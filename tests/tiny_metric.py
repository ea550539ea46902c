"""A metric plugin in one file: pixel accuracy per video, averaged over videos (short videos count fully)."""

from __future__ import annotations

from fractions import Fraction

from ovbench.api import IGNORE, Metric


class VideoAccuracy(Metric):
    """Pixel accuracy of each video, averaged over videos."""

    titles = {"video_acc": "vAcc"}

    def __init__(self, split, protocol):
        super().__init__(split, protocol)
        self.add_state("correct", 0)  # pixels of the open video (summed over videos in the totals)
        self.add_state("valid", 0)
        self.add_state("accuracy_sum", Fraction(0))  # Σ over finished videos of correct/valid, exact
        self.add_state("videos", 0)

    def update(self, gt, pred):
        valid = gt != IGNORE
        self.correct += int((gt[valid] == pred[valid]).sum())
        self.valid += int(valid.sum())

    def end_video(self):
        if self.valid:
            self.accuracy_sum += Fraction(self.correct, self.valid)
            self.videos += 1

    def compute(self):
        return {"video_acc": float(self.accuracy_sum / self.videos * 100) if self.videos else None}


class Clashing(VideoAccuracy):
    titles = {"miou": "mine"}
