"""Frames per second of the training-free baselines, and the share of time outside the backbone.

    python benchmarks/baseline_speed.py [--frames 20] [--device cpu|cuda] [--pretrained none]

Runs each model through ovbench's runner on CamVid val (``../shared/data/camvid``; synthetic
480×360 frames in the same layout when it is absent) and reports, per model: frames/s, wall time,
time inside the ViT forward, and the share outside it (text, resizing, stitching, upsampling,
argmax, decoding, metrics). Each model runs twice: with an empty text-embedding cache ("cold", the text cost counted)
and again with it filled ("warm", the usual case after a vocabulary's first run). With
``--batch-sizes 1,16`` it also reports the batched-crop speed-up.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODELS = ("clip", "maskclip", "sclip", "clearclip", "naclip")


def synthetic_camvid(root: Path, frames: int) -> Path:
    rng = np.random.default_rng(0)
    (root / "val").mkdir(parents=True)
    (root / "valannot").mkdir()
    for t in range(frames):
        name = f"0016E5_{t:05d}.png"
        Image.fromarray(rng.integers(0, 255, (360, 480, 3), dtype=np.uint8)).save(root / "val" / name)
        Image.fromarray(rng.integers(0, 12, (360, 480), dtype=np.uint8)).save(root / "valannot" / name)
    return root


def measure(name: str, dataset, split, protocol, frames: int, device: str, pretrained: str, batch_size: int):
    from ovbench.registry import get_model_class
    from ovbench.run import RunConfig, run_model

    model = get_model_class(name)(device=device, dataset="camvid", pretrained=pretrained, batch_size=batch_size)
    start = time.perf_counter()
    run_model(model, name, dataset, split, protocol, RunConfig(max_videos=1, max_frames=frames, show_progress=False))
    wall = time.perf_counter() - start
    return wall, model.timing["backbone_s"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--pretrained", default="none")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--batch-sizes", default="16", help="comma-separated; the first is the main one")
    args = parser.parse_args()

    import torch

    from ovbench.datasets import open_dataset
    from ovbench.protocols import get_protocol
    from ovbench.splits import load_split

    work = Path(tempfile.mkdtemp(prefix="ovbench-bench-"))
    camvid = ROOT / ".." / "shared" / "data" / "camvid"
    source = "CamVid val (real)" if camvid.is_dir() else "synthetic 480x360 frames"
    if not camvid.is_dir():
        camvid = synthetic_camvid(work / "camvid", args.frames)
    dataset, split, protocol = open_dataset("camvid", camvid, "val"), load_split("camvid-7-4"), get_protocol("gzsl")
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    device_name = torch.cuda.get_device_name() if args.device.startswith("cuda") else f"CPU ({torch.get_num_threads()} threads)"
    print(f"{source}, {args.frames} frames of 480x360, ViT-B-16, S=336, crop 224 / stride 112 (6 crops/frame), {device_name}")
    print(f"{'model':<10} {'batch':>5} {'text':>5} {'frames/s':>9} {'wall s':>8} {'backbone s':>11} {'outside':>8}")
    for name in args.models.split(","):
        for bs in batch_sizes:
            runs = ["cold", "warm"] if bs == batch_sizes[0] else ["warm"]
            for text_state in runs:
                if text_state == "cold":  # an empty text-embedding cache of its own
                    os.environ["OVBENCH_CACHE"] = tempfile.mkdtemp(dir=work, prefix="cache-")
                wall, backbone = measure(name, dataset, split, protocol, args.frames, args.device, args.pretrained, bs)
                print(f"{name:<10} {bs:>5} {text_state:>5} {args.frames / wall:>9.2f} {wall:>8.2f} {backbone:>11.2f} "
                      f"{(wall - backbone) / wall:>8.1%}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
