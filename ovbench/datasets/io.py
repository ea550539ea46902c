"""Decoding of frames, masks and prediction PNGs, with errors that name the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ovbench.errors import DataError

_GREY_MODES = {"L", "P"}


def _too_large(path: Path, what: str, exc: Exception, error: type[Exception]) -> Exception:
    limit = Image.MAX_IMAGE_PIXELS * 2 if Image.MAX_IMAGE_PIXELS else 0
    return error(f"{path}: the {what}'s header claims more than {limit:,} pixels, Pillow's decompression-bomb "
                 f"limit ({exc}); the file is damaged or not a {what} of this dataset")  # fmt: skip


def _open_and_load(path: Path, error: type[Exception], what: str) -> Image.Image:
    try:
        img = Image.open(path)
        img.load()
    except FileNotFoundError:
        raise error(f"{path}: missing {what}") from None
    except Image.DecompressionBombError as exc:
        raise _too_large(path, what, exc, error) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise error(f"{path}: unreadable {what} ({exc}); replace or re-extract the file") from None
    return img


def read_label_png(path: Path, *, error: type[Exception] = DataError, what: str = "mask") -> np.ndarray:
    """A single-channel label PNG as a 2-D uint8 array (palette PNGs give their indices)."""
    img = _open_and_load(Path(path), error, what)
    if img.mode not in _GREY_MODES:
        raise error(
            f"{path}: {what} has mode {img.mode!r}; expected a single-channel (L or P) PNG of class ids"
        )
    return np.asarray(img)


def read_rgb(path: Path) -> np.ndarray:
    """A frame as an H×W×3 uint8 RGB array."""
    img = _open_and_load(Path(path), DataError, "frame")
    if img.mode != "RGB":
        img = img.convert("RGB")
    return np.asarray(img)


def image_size(path: Path, *, what: str = "frame") -> tuple[int, int]:
    """(height, width) read from the file header only."""
    try:
        with Image.open(path) as img:
            w, h = img.size
    except FileNotFoundError:
        raise DataError(f"{path}: missing {what}") from None
    except Image.DecompressionBombError as exc:
        raise _too_large(path, what, exc, DataError) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"{path}: unreadable {what} ({exc})") from None
    return h, w
