"""detectron2's test input as the CLIP segmenters built on it (CAT-Seg, SAN) configure it:
``ResizeShortestEdge(640, max_size=2560)``, and the padding to a multiple of 32 of ``ImageList``.

The shorter side becomes 640 (the longer one scaled alike, capped at 2560), sides rounded half up,
resampled by PIL's bilinear filter on the uint8 frame (detectron2's ``ResizeTransform``).
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

SHORT, LONG = 640, 2560
SIZE_DIVISIBILITY = 32  # MASK_FORMER / SAN SIZE_DIVISIBILITY: the padded network input


def padded_size(size: tuple[int, int]) -> tuple[int, int]:
    """The size of an image padded bottom and right to a multiple of 32 (``ImageList.from_tensors``)."""
    return tuple(-(-side // SIZE_DIVISIBILITY) * SIZE_DIVISIBILITY for side in size)


def resized_size(height: int, width: int, short: int = SHORT, long: int = LONG) -> tuple[int, int]:
    scale = short / min(height, width)
    h, w = (short, scale * width) if height < width else (scale * height, short)
    if max(h, w) > long:
        factor = long / max(h, w)
        h, w = h * factor, w * factor
    return int(h + 0.5), int(w + 0.5)


def mapper_image(frame_rgb: np.ndarray) -> torch.Tensor:
    """3×H×W float32 (0..255) of an H₀×W₀×3 uint8 RGB frame, as the release's test mapper gives it."""
    h, w = resized_size(*frame_rgb.shape[:2])
    resized = Image.fromarray(np.ascontiguousarray(frame_rgb)).resize((w, h), Image.BILINEAR)
    return torch.from_numpy(np.asarray(resized).transpose(2, 0, 1).copy()).float()
