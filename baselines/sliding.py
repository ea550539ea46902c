"""Sliding-window inference on the MMSeg grid, with window logits averaged where they overlap."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def window_grid(height: int, width: int, crop: int, stride: int) -> list[tuple[int, int, int, int]]:
    """(y1, y2, x1, x2) windows: ⌈(H−C)/s⌉+1 per axis, the last one aligned to the border."""
    if crop < 1 or stride < 1:
        raise ValueError("crop and stride must be positive")
    if stride > crop:
        raise ValueError(f"stride {stride} > crop {crop} leaves pixels that no window covers")
    rows = max(height - crop + stride - 1, 0) // stride + 1
    cols = max(width - crop + stride - 1, 0) // stride + 1
    windows = []
    for r in range(rows):
        for c in range(cols):
            y2, x2 = min(r * stride + crop, height), min(c * stride + crop, width)
            windows.append((max(y2 - crop, 0), y2, max(x2 - crop, 0), x2))
    return windows


def sliding_logits(
    image: torch.Tensor, crop: int, stride: int, batch_size: int, patch: int,
    crop_logits: Callable[[torch.Tensor], torch.Tensor],
) -> torch.Tensor:  # fmt: skip
    """Q×H×W logits of ``image`` (3×H×W) stitched from ``crop_logits`` (B×3×h×w -> B×Q×h'×w').

    Crops (all the same size on this grid) are zero-padded to a multiple of the patch size, run
    ``batch_size`` at a time, upsampled bilinearly to the padded crop, unpadded, summed onto a
    canvas and divided by the number of windows covering each pixel.
    """
    _, height, width = image.shape
    windows = window_grid(height, width, crop, stride)
    ch, cw = windows[0][1] - windows[0][0], windows[0][3] - windows[0][2]
    pad_h, pad_w = -ch % patch, -cw % patch
    canvas = count = None
    for start in range(0, len(windows), batch_size):
        batch = windows[start : start + batch_size]
        crops = torch.stack([image[:, y1:y2, x1:x2] for y1, y2, x1, x2 in batch])
        if pad_h or pad_w:
            crops = F.pad(crops, (0, pad_w, 0, pad_h))
        logits = crop_logits(crops).float()
        logits = F.interpolate(logits, size=(ch + pad_h, cw + pad_w), mode="bilinear", align_corners=False)
        if canvas is None:
            canvas = logits.new_zeros(logits.shape[1], height, width)
            count = logits.new_zeros(1, height, width)
        for (y1, y2, x1, x2), window_logits in zip(batch, logits):
            canvas[:, y1:y2, x1:x2] += window_logits[:, :ch, :cw]
            count[:, y1:y2, x1:x2] += 1
    return canvas / count
