"""Class colours for label maps: the dataset's own, else a bit-spread palette; black for ignore."""

from __future__ import annotations

import numpy as np

from ovbench.errors import OvbenchError


IGNORE_COLOR = (0, 0, 0)  # GT ignore and "no prediction" (255)


def bit_palette(n: int, start: int = 1) -> np.ndarray:
    """n distinct colours by spreading the bits of the index over R, G and B (the PASCAL VOC scheme).

    Starts at index 1 so no class is black, the colour of ignore.
    """
    colors = np.zeros((n, 3), dtype=np.uint8)
    for k in range(n):
        c, rgb = k + start, [0, 0, 0]
        for shift in range(7, -1, -1):
            for ch in range(3):
                rgb[ch] |= ((c >> ch) & 1) << shift
            c >>= 3
        colors[k] = rgb
    return colors


def dataset_colors(dataset: str):
    """The colours the dataset class declares; None for a dataset without them or not installed here."""
    from ovbench.registry import DATASETS

    if dataset not in DATASETS:
        return None
    try:
        return DATASETS.get(dataset).colors
    except OvbenchError:
        return None


def palette(dataset: str, num_classes: int) -> np.ndarray:
    """A 256×3 uint8 lookup table: class id -> colour; 255 (and anything unused) -> black."""
    lut = np.zeros((256, 3), dtype=np.uint8)
    table = dataset_colors(dataset)
    colors = np.asarray(table, dtype=np.uint8) if table and len(table) == num_classes else bit_palette(num_classes)
    lut[:num_classes] = colors
    lut[255] = IGNORE_COLOR
    return lut
