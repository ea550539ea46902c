"""Learning is real: OV2VSS trained on CamVid train's seen classes on a CPU, seen mIoU on CamVid val.

    python benchmarks/ov2vss_learning.py [--minutes 15] [--model ov2vss-lite] [--out DIR]

Trains with random CLIP weights (``--pretrained none``: no weights can be downloaded here) and a
small backbone, evaluating the gzsl seen mIoU on CamVid val before training and at every
checkpoint, and prints the curve (step, mean loss since the last checkpoint, seen mIoU, training
seconds so far, evaluation time excluded). The issue's bar: within 15
minutes, seen mIoU ≥ 20 and ≥ 2× the untrained model's. The run stops at the first checkpoint past
``--minutes``; ``--steps`` bounds it too.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CAMVID = ROOT / ".." / "shared" / "data" / "camvid"

MODEL_OPTIONS = dict(pretrained="none", backbone="ViT-S-16", input_size=224, templates="single", train_cache=4000)


def evaluate(model, name, val, split, protocol, max_frames):
    from ovbench.run import RunConfig, run_model

    result = run_model(model, name, val, split, protocol, RunConfig(max_frames=max_frames, show_progress=False))
    return result["metrics"]


class Stop(Exception):
    pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="ov2vss-lite")
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--checkpoint-every", type=int, default=50)
    parser.add_argument("--eval-frames", type=int, default=None, help="score only the first N val frames")
    parser.add_argument("--out", type=Path, default=Path("/tmp/ov2vss-learning"))
    parser.add_argument("--option", action="append", default=[], help="extra model option key=value")
    args = parser.parse_args()
    if not CAMVID.is_dir():
        print(f"skipped: {CAMVID} not found")
        return 0

    from ovbench.datasets import open_dataset
    from ovbench.protocols import get_protocol
    from ovbench.registry import get_model_class
    from ovbench.splits import load_split
    from ovbench.training import TrainConfig, train

    options = dict(MODEL_OPTIONS)
    for item in args.option:
        key, _, value = item.partition("=")
        options[key] = type(options.get(key, value))(value) if key in options else value
    split, protocol = load_split("camvid-7-4"), get_protocol("gzsl")
    train_set, val = open_dataset("camvid", CAMVID, "train"), open_dataset("camvid", CAMVID, "val")
    model = get_model_class(args.model)(dataset="camvid", **options)
    start = time.perf_counter()
    untrained = evaluate(model, args.model, val, split, protocol, args.eval_frames)
    curve = [{"step": 0, "loss": None, "miou_seen": untrained["miou_seen"], "miou_unseen": untrained["miou_unseen"],
              "elapsed_s": 0.0}]  # fmt: skip
    print(f"{'step':>5} {'loss':>8} {'seen mIoU':>10} {'unseen mIoU':>12} {'train s':>10}")
    print(f"{0:>5} {'-':>8} {untrained['miou_seen']:>10.2f} {untrained['miou_unseen']:>12.2f} {0:>10.0f}")
    train_start = time.perf_counter()
    eval_seconds = [0.0]

    def on_checkpoint(step, folder, history):
        tic = time.perf_counter()
        elapsed = tic - train_start - eval_seconds[0]  # training time only
        metrics = evaluate(model, args.model, val, split, protocol, args.eval_frames)
        eval_seconds[0] += time.perf_counter() - tic
        recent = history[-args.checkpoint_every :]
        loss = sum(h["loss"] for h in recent) / len(recent)
        curve.append({"step": step, "loss": loss, "miou_seen": metrics["miou_seen"],
                      "miou_unseen": metrics["miou_unseen"], "elapsed_s": elapsed})  # fmt: skip
        print(f"{step:>5} {loss:>8.4f} {metrics['miou_seen']:>10.2f} {metrics['miou_unseen']:>12.2f} {elapsed:>10.0f}",
              flush=True)  # fmt: skip
        if elapsed > args.minutes * 60:
            raise Stop

    config = TrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, warmup=20, crop_scale=1.0,
                         checkpoint_every=args.checkpoint_every)  # fmt: skip
    if args.out.exists():
        import shutil

        shutil.rmtree(args.out)
    try:
        train(model, args.model, train_set, split, args.out, config, show_progress=False, on_checkpoint=on_checkpoint)
    except Stop:
        pass
    best = max(curve[1:], key=lambda c: c["miou_seen"]) if len(curve) > 1 else curve[0]
    final = curve[-1]
    print(json.dumps({"untrained_miou_seen": untrained["miou_seen"], "final": final, "best": best,
                      "total_s": time.perf_counter() - start, "options": options}, indent=1))  # fmt: skip
    ok = final["miou_seen"] >= 20 and final["miou_seen"] >= 2 * untrained["miou_seen"]
    print("PASS" if ok else "FAIL", "(final checkpoint: seen mIoU >= 20 and >= 2x untrained)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
