"""Small models for tests, registered in-process with ovbench.registry.register."""

from __future__ import annotations

import numpy as np

from ovbench.models import Option, VideoModel


class Constant(VideoModel):
    """Predicts one vocabulary index everywhere."""

    options = (
        Option("label", 0, "Vocabulary index to predict."),
        Option("batch", 1, "Speed-only knob.", affects_score=False),
        Option("untrained", False, "Declare the weights random (a smoke run).", affects_score=False),
    )

    @property
    def random_weights(self) -> bool:
        return self.config["untrained"]

    def predict_video(self, video, vocabulary):
        for i in video.scored_indices:
            h, w = video.frame_size(i)
            yield i, np.full((h, w), self.config["label"], dtype=np.int64)


class Flicker(VideoModel):
    """Index 0 on even frames, 1 on odd frames: temporally inconsistent on purpose."""

    def predict_video(self, video, vocabulary):
        for i in video.scored_indices:
            h, w = video.frame_size(i)
            yield i, np.full((h, w), i % 2, dtype=np.uint8)


class Reversed(VideoModel):
    def predict_video(self, video, vocabulary):
        for i in reversed(video.scored_indices):
            yield i, np.zeros(video.frame_size(i), dtype=np.uint8)


class WrongShape(VideoModel):
    def predict_video(self, video, vocabulary):
        for i in video.scored_indices:
            yield i, np.zeros((3, 3), dtype=np.uint8)


class Interrupted(VideoModel):
    """Simulates Ctrl-C after the first frame."""

    def predict_video(self, video, vocabulary):
        i = video.scored_indices[0]
        yield i, np.zeros(video.frame_size(i), dtype=np.uint8)
        raise KeyboardInterrupt


class NotAModel:
    pass
