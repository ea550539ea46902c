"""An example ovbench model: labels each pixel with the class whose name-derived colour is nearest.

It knows nothing about images, but it shows every part of the plugin interface: declared options,
random access to a video's frames (``--smooth`` averages each frame with the previous one),
the vocabulary, and predictions yielded per scored frame in order.
"""

from __future__ import annotations

import hashlib

import numpy as np

from ovbench.api import Option, VideoModel


def name_colour(name: str) -> np.ndarray:
    """A stable RGB colour for a class name (the same on every machine and Python version)."""
    return np.frombuffer(hashlib.sha256(name.encode()).digest()[:3], dtype=np.uint8).astype(np.float32)


class ColourPrototypes(VideoModel):
    """Nearest name-derived colour per pixel (an interface example, not a real model)."""

    options = (
        Option("downsample", 4, "Classify every Nth pixel per axis, then repeat (coarser, faster).", minimum=1),
        Option("smooth", False, "Average each frame with the previous frame before classifying."),
    )

    def predict_video(self, video, vocabulary):
        prototypes = np.stack([name_colour(entry.prompts[0]) for entry in vocabulary])  # V×3
        step = self.config["downsample"]
        for index in video.scored_indices:
            frame = video[index].astype(np.float32)
            if self.config["smooth"] and index > 0:
                frame = (frame + video[index - 1]) / 2
            small = frame[::step, ::step]
            distances = ((small[:, :, None, :] - prototypes[None, None]) ** 2).sum(-1)
            labels = distances.argmin(-1).astype(np.uint8)
            full = labels.repeat(step, 0).repeat(step, 1)[: frame.shape[0], : frame.shape[1]]
            yield index, full
