"""Synthetic data for tests and benchmarks: VSPW-layout videos of moving regions, and plausible predictions.

Not used by the harness at run time; benchmarks and tests share it so that they measure the same data.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from ovbench.testing.reference import vspw_remap


def synthetic_masks(rng: np.random.Generator, frames: int, height: int, width: int):
    """Raw VSPW masks (0..124, 255) of one video: a background of moving Voronoi regions
    (computed at 1/4 resolution, so boundaries are blocky), a few objects drifting across it, and
    void (255) along region boundaries and on one drifting blob."""
    scale = 4
    lh, lw = -(-height // scale), -(-width // scale)
    k = int(rng.integers(6, 12))
    seeds = rng.uniform([0, 0], [lh, lw], size=(k, 2))
    speed = rng.normal(0, 0.25, size=(k, 2))
    classes = rng.integers(0, 125, size=k)  # raw 0 = "others" appears as a region too
    yy, xx = np.mgrid[0:lh, 0:lw].astype(np.float32)
    objects = []
    for _ in range(int(rng.integers(2, 5))):
        h, w = int(rng.integers(height // 8, height // 3)), int(rng.integers(width // 10, width // 4))
        objects.append(
            dict(
                y=rng.uniform(0, height - h), x=rng.uniform(0, width - w), h=h, w=w,
                vy=rng.normal(0, 1.0), vx=rng.normal(0, 2.5), cls=int(rng.integers(1, 125)),
            )
        )  # fmt: skip
    blob = dict(y=rng.uniform(0, height), x=rng.uniform(0, width), r=rng.uniform(20, 60), vx=rng.normal(0, 2))
    gy, gx = np.ogrid[0:height, 0:width]
    for t in range(frames):
        pos = seeds + speed * t
        dist = (yy[None] - pos[:, 0, None, None]) ** 2 + (xx[None] - pos[:, 1, None, None]) ** 2
        low = classes[np.argmin(dist, axis=0)].astype(np.uint8)
        edge = np.zeros_like(low, dtype=bool)
        edge[:, 1:] |= low[:, 1:] != low[:, :-1]
        edge[1:, :] |= low[1:, :] != low[:-1, :]
        low[edge] = 255
        mask = np.repeat(np.repeat(low, scale, axis=0), scale, axis=1)[:height, :width].copy()
        for o in objects:
            y0 = int(np.clip(o["y"] + o["vy"] * t, 0, height - o["h"]))
            x0 = int(np.clip(o["x"] + o["vx"] * t, 0, width - o["w"]))
            mask[y0 : y0 + o["h"], x0 : x0 + o["w"]] = o["cls"]
        bx = blob["x"] + blob["vx"] * t
        mask[(gy - blob["y"]) ** 2 + (gx - bx) ** 2 < blob["r"] ** 2] = 255
        yield mask


def noisy_prediction(rng: np.random.Generator, gt_ids: np.ndarray, num_classes: int, confused: dict) -> np.ndarray:
    """A plausible prediction from GT class ids (255 stays 255 = no prediction): one class is
    confused with another, the whole map jitters by up to 2 pixels per frame (boundary flicker),
    and a few 16×16 blocks flip to a random class."""
    pred = gt_ids.copy()
    for src, dst in confused.items():
        pred[gt_ids == src] = dst
    dy, dx = rng.integers(-2, 3, size=2)
    pred = np.roll(pred, (int(dy), int(dx)), axis=(0, 1))
    h, w = pred.shape
    cells = rng.random((-(-h // 16), -(-w // 16))) < 0.004
    block = np.repeat(np.repeat(cells, 16, axis=0), 16, axis=1)[:h, :w]
    pred[block] = rng.integers(0, num_classes)
    return pred


def write_vspw(
    root: Path, *, videos: int, frames: int, height: int, width: int, seed: int, tag: str = "synthetic",
    photos: bool = False, predictions: Path | None = None,
) -> list[str]:  # fmt: skip
    """A VSPW ``val`` subset under ``root`` (``val.txt``, ``data/<video>/origin/*.jpg``, ``mask/*.png``)
    of :func:`synthetic_masks` videos named ``<i>_<tag>_<seed>``; returns the names.

    ``photos``: frames are region colours plus noise, JPEGs of a realistic size (for runs that decode
    them); otherwise one tiny placeholder hard-linked as every frame (evaluation never decodes frames).
    ``predictions``: also ``<predictions>/<video>/<stem>.png`` from :func:`noisy_prediction` of the GT
    class ids (VSPW's remap), as ``ovbench evaluate`` reads them.
    """
    rng = np.random.default_rng(seed)
    palette = rng.integers(0, 256, (256, 3), dtype=np.uint8) if photos else None
    names = [f"{i}_{tag}_{seed}" for i in range(videos)]
    (root / "data").mkdir(parents=True)
    (root / "val.txt").write_text("\n".join(names) + "\n")
    placeholder = root / "placeholder.jpg"
    if not photos:
        Image.new("RGB", (8, 8)).save(placeholder)
    class_ids = vspw_remap(np.arange(256, dtype=np.uint8))
    for name in names:
        origin, mask_dir = root / "data" / name / "origin", root / "data" / name / "mask"
        origin.mkdir(parents=True)
        mask_dir.mkdir(parents=True)
        confused = None
        if predictions is not None:
            (predictions / name).mkdir(parents=True)
            confused = {int(rng.integers(0, 124)): int(rng.integers(0, 124))}
        for t, raw in enumerate(synthetic_masks(rng, frames, height, width)):
            stem = f"{t + 1:08d}"
            if photos:
                image = palette[raw].astype(np.int16) + rng.integers(-12, 13, (height, width, 3))
                Image.fromarray(image.clip(0, 255).astype(np.uint8)).save(origin / f"{stem}.jpg", quality=90)
            else:
                os.link(placeholder, origin / f"{stem}.jpg")
            Image.fromarray(raw).save(mask_dir / f"{stem}.png")
            if predictions is not None:
                pred = noisy_prediction(rng, class_ids[raw], 124, confused)
                Image.fromarray(pred).save(predictions / name / f"{stem}.png")
    return names
