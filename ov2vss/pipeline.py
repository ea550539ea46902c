"""The release's test pipeline for one frame: keep-ratio resize, size divisor 32, ImageNet normalisation.

``AlignedResize_clips(keep_ratio=True, size_divisor=32)`` then ``Normalize_clips``: ``mmcv.imrescale``
scales the frame to fit ``img_scale`` (long side ≤ max, short side ≤ min; sides rounded half up),
then ``mmcv.imresize`` stretches it to the next multiple of 32, both with OpenCV's bilinear filter on
uint8 pixels, which is why OpenCV is used here: its fixed-point rounding is part of the input.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

IMAGENET_MEAN = np.array([123.675, 116.28, 103.53], dtype=np.float64)  # RGB, as the release's config
IMAGENET_STD = np.array([58.395, 57.12, 57.375], dtype=np.float64)
VSPW_SCALE = (1024, 1024)  # the release's img_scale for VSPW test frames
SIZE_DIVISOR = 32


def rescaled_size(height: int, width: int, img_scale: tuple[int, int]) -> tuple[int, int]:
    """(h, w) after ``mmcv.imrescale(img, img_scale)``: one factor fitting both the long and short limits."""
    factor = min(max(img_scale) / max(height, width), min(img_scale) / min(height, width))
    return int(height * factor + 0.5), int(width * factor + 0.5)


def network_size(height: int, width: int, img_scale: tuple[int, int] = VSPW_SCALE) -> tuple[int, int]:
    h, w = rescaled_size(height, width, img_scale)
    return -(-h // SIZE_DIVISOR) * SIZE_DIVISOR, -(-w // SIZE_DIVISOR) * SIZE_DIVISOR


def network_input(frame_rgb: np.ndarray, img_scale: tuple[int, int] = VSPW_SCALE) -> torch.Tensor:
    """3×H×W float32 network input of an H₀×W₀×3 uint8 RGB frame."""
    height, width = frame_rgb.shape[:2]
    h, w = rescaled_size(height, width, img_scale)
    image = cv2.resize(np.ascontiguousarray(frame_rgb), (w, h), interpolation=cv2.INTER_LINEAR)
    ah, aw = network_size(height, width, img_scale)
    image = cv2.resize(image, (aw, ah), interpolation=cv2.INTER_LINEAR)  # identity when already aligned
    # mmcv.imnormalize: float32 pixels, OpenCV's subtract of the mean and multiply by 1/std.
    image = image.astype(np.float32)
    cv2.subtract(image, IMAGENET_MEAN.reshape(1, -1), image)
    cv2.multiply(image, 1 / IMAGENET_STD.reshape(1, -1), image)
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))
