"""Models for the distributed and resume tests, importable in subprocesses through
``OVBENCH_EXTRA_MODELS=name=scaling_models:Class`` with ``tests/`` on ``PYTHONPATH``."""

from __future__ import annotations

import os
import signal
import time

import numpy as np

from ovbench.models import Option, VideoModel


class Pattern(VideoModel):
    """Reads every frame; labels drift over time and flip on bright pixels, so window VC values are
    fractions of all sorts (their float sum depends on the order of addition)."""

    options = (
        Option("shift", 0, "Added to every label."),
        Option("fail_video", "", "Return a wrongly shaped prediction in this video.", affects_score=False),
        Option("kill_after", 0, "SIGKILL this process in the middle of video N+1 (N videos finished).",
               affects_score=False),  # fmt: skip
        Option("sleep", 0.0, "Seconds to wait per frame.", affects_score=False),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.videos_started = 0

    def predict_video(self, video, vocabulary):
        self.videos_started += 1
        kill = self.config["kill_after"] and self.videos_started > self.config["kill_after"]
        for k, i in enumerate(video.scored_indices):
            if kill and k == 2:
                os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(self.config["sleep"])
            frame = video[i]
            h, w = frame.shape[:2]
            if video.name == self.config["fail_video"]:
                yield i, np.zeros((1, 1), dtype=np.uint8)
                return
            x = np.arange(w)[None, :]
            label = (x // 3 + (i // 6) * (x % 2) + (frame[..., 0] > 230) + self.config["shift"]) % len(vocabulary)
            yield i, label.astype(np.int64)
