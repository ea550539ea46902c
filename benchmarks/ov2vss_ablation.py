"""The OV2VSS module-ablation grid: none (ov2vss-lite-frame), +STF, +STF+RFE, +STF+RFE+VTE.

    python benchmarks/ov2vss_ablation.py --dataset camvid --data-root ../shared/data/camvid \\
        --split camvid-7-4 --out runs/ablation [--steps 500] [--device cuda] [model options ...]

Each configuration is trained with ``ovbench train`` settings (same steps, seed and data order) on
the seen classes of the split, then evaluated on the val subset under gzsl and zsl; result files
land in ``OUT/results/`` (``ovbench compare OUT/results/*.json`` and ``ovbench plot`` read them).
Defaults are the CPU demonstration settings (random ViT-S-16 at 224 px); on a GPU with real weights
pass ``--pretrained openai --backbone ViT-B-16 --input-size 384``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

GRID = {
    "none": dict(stf=False, rfe=False, vte=False),
    "stf": dict(stf=True, rfe=False, vte=False),
    "stf-rfe": dict(stf=True, rfe=True, vte=False),
    "stf-rfe-vte": dict(stf=True, rfe=True, vte=True),
}
CPU_DEMO = dict(pretrained="none", backbone="ViT-S-16", input_size=224, templates="single", train_cache=4000)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="camvid")
    parser.add_argument("--data-root", default="../shared/data/camvid")
    parser.add_argument("--split", default=None)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--max-frames", type=int, default=None)
    parser.add_argument("--option", action="append", default=[], help="model option key=value (repeatable)")
    args = parser.parse_args()

    from ovbench.cli import default_split
    from ovbench.datasets import open_dataset
    from ovbench.protocols import get_protocol
    from ovbench.registry import get_model_class
    from ovbench.results import write_result
    from ovbench.run import RunConfig, run_model
    from ovbench.splits import load_split
    from ovbench.training import TrainConfig, train

    split = load_split(args.split or default_split(args.dataset))
    train_set = open_dataset(args.dataset, args.data_root, "train")
    val = open_dataset(args.dataset, args.data_root, "val")
    options = dict(CPU_DEMO)
    for item in args.option:
        key, _, value = item.partition("=")
        options[key] = type(options[key])(value) if key in options else value
    config = TrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, warmup=min(100, args.steps // 10),
                         crop_scale=1.0, checkpoint_every=args.steps)  # fmt: skip
    ov2vss = get_model_class("ov2vss-lite")
    for name, switches in GRID.items():
        model = ov2vss(device=args.device, dataset=args.dataset, **options, **switches)
        train(model, "ov2vss-lite", train_set, split, args.out / name, config, resume=True, show_progress=True)
        # evaluate the saved checkpoint, so each result names the weights file it scored (by hash)
        trained = ov2vss(device=args.device, dataset=args.dataset, checkpoint=str(args.out / name))
        for protocol in ("gzsl", "zsl"):
            result = run_model(trained, "ov2vss-lite", val, split, get_protocol(protocol), RunConfig(max_frames=args.max_frames))
            path = write_result(args.out / "results" / f"ov2vss-lite-{name}-{protocol}.json", result)
            m = result["metrics"]
            print(f"{name:<12} {protocol}: mIoU {m['miou']:.2f} hIoU {m['hiou'] or 0:.2f} mVC8 {m['mvc8'] or 0:.2f} -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
