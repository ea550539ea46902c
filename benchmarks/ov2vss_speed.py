"""Seconds per frame and parameter counts of ov2vss and catseg-frame at the default input size.

    python benchmarks/ov2vss_speed.py [--device cpu|cuda] [--frames 6]

Default model settings (ViT-B-16, 384×384 CLIP input, 80 templates), random weights (no weights can
be downloaded here; speed does not depend on them). Frames are CamVid val when present, else
random 480×360 frames. Text embeddings are computed (and cached) before timing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


class Frames:
    def __init__(self, frames):
        self.frames, self.name = frames, "bench"
        self.scored_indices = tuple(range(len(frames)))

    def __len__(self):
        return len(self.frames)

    def __getitem__(self, i):
        return self.frames[i]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--frames", type=int, default=6)
    args = parser.parse_args()

    import torch
    from PIL import Image

    from ov2vss_lite.model import OV2VSS, CatSegFrame
    from ovbench.models import VocabularyEntry
    from ovbench.splits import load_split

    camvid = ROOT / ".." / "shared" / "data" / "camvid" / "val"
    if camvid.is_dir():
        paths = sorted(camvid.glob("*.png"))[: args.frames]
        frames = [np.asarray(Image.open(p).convert("RGB")) for p in paths]
    else:
        rng = np.random.default_rng(0)
        frames = [rng.integers(0, 255, (360, 480, 3), dtype=np.uint8) for _ in range(args.frames)]
    vocabulary = [VocabularyEntry(c.name, c.prompts) for c in load_split("camvid-7-4").classes]
    device = torch.cuda.get_device_name() if args.device.startswith("cuda") else f"CPU, {torch.get_num_threads()} threads"
    print(f"{len(frames)} frames 480x360, vocabulary of 11 classes (15 prompt names), {device}")
    print(f"{'model':<13} {'s/frame':>8} {'trainable params':>17} {'frozen CLIP params':>19}")
    for name, cls in (("ov2vss-lite-frame", CatSegFrame), ("ov2vss-lite", OV2VSS)):
        model = cls(device=args.device, pretrained="none")
        list(model.predict_video(Frames(frames[:1]), vocabulary))  # warm-up, text embeddings
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        list(model.predict_video(Frames(frames), vocabulary))
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        per_frame = (time.perf_counter() - start) / len(frames)
        trainable = sum(p.numel() for p in model.network.parameters())
        frozen = sum(p.numel() for p in model.clip.parameters())
        print(f"{name:<13} {per_frame:>8.2f} {trainable / 1e6:>16.2f}M {frozen / 1e6:>18.1f}M")
    return 0


if __name__ == "__main__":
    sys.exit(main())
