"""Throughput of ``ovbench run`` with 1 and N processes, and how much decoding ahead hides.

    python benchmarks/run_scaling.py                                 # CPU: decode-bound model + clip
    python benchmarks/run_scaling.py --device cuda --nprocs 1,2,4    # GPUs (one per process)

Data: a synthetic dataset in the VSPW layout (853×480 JPEG frames, PNG masks of moving regions, as
``ovbench.testing.synthetic`` writes them for ``evaluate_speed.py`` too), ``--videos`` videos of ``--frames`` frames, in a temporary folder.

Per model, two tables (each configuration run ``--repeat`` times, the fastest kept):

1. one process, ``--workers`` 0 (decode inline) and W (DataLoader worker processes): frames/s and the
   main process's CPU time per frame; "decode moved off" = (CPU with 0 − CPU with W) / the time one
   thread takes to decode a frame and its mask. On a machine with idle cores that CPU time leaves the
   critical path; on a machine with no idle core it cannot, and the frames/s show it.
2. ``torchrun --standalone --nproc_per_node N -m ovbench run`` (a plain ``python -m ovbench run`` for
   N = 1): frames/s inside the run (``timing.frames_per_s``: from the start of the run to the result
   on rank 0, so process start-up and model loading are excluded) and the command's wall time.

Models: ``bench-decode`` reads each frame and thresholds it (decoding dominates: the case decoding
ahead is for) and ``clip`` (ViT-B/16, sliding window, 6 crops per frame; ``--pretrained none``, so the
same compute as with real weights, without a download; ``--templates single`` and a warm-up run, so
the one-time text embedding is not timed). Every run's metrics must be identical
across process counts and worker counts; the script checks it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent

from ovbench.models import VideoModel  # noqa: E402
from ovbench.testing.synthetic import write_vspw  # noqa: E402


class DecodeBound(VideoModel):
    """Reads every scored frame and labels it by brightness: costs little beyond decoding."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        import torch  # noqa: F401  (as every real model does when built: not counted in the run's time)

    def predict_video(self, video, vocabulary):
        for i in video.scored_indices:
            frame = video[i]
            yield i, (frame[..., 1] >> 5).astype(np.uint8) % len(vocabulary)


def decode_all(root: Path) -> tuple[float, int]:
    frames = sorted((root / "data").glob("*/origin/*.jpg"))
    masks = sorted((root / "data").glob("*/mask/*.png"))
    start = time.perf_counter()
    for path in frames + masks:
        np.asarray(Image.open(path).convert("RGB") if path.suffix == ".jpg" else Image.open(path))
    return time.perf_counter() - start, len(frames)


def run_torchrun(root: Path, work: Path, model: str, nproc: int, workers: int, device: str, extra: list[str]) -> dict:
    """``ovbench run`` as a user starts it (torchrun for nproc > 1); the result file's numbers."""
    out = work / f"{model}-{nproc}-{workers}.json"
    args = ["-m", "ovbench", "run", "--model", model, "--dataset", "vspw", "--data-root", str(root), "--split",
            "vspw-80-44", "--out", str(out), "--overwrite", "--no-progress", "--device", device, "--workers",
            str(workers), *extra]  # fmt: skip
    if nproc > 1:
        args = ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", *args]
    env = dict(os.environ, OVBENCH_EXTRA_MODELS="bench-decode=run_scaling:DecodeBound")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))
    start = time.perf_counter()
    done = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{model} with {nproc} process(es) failed:\n{done.stderr[-3000:]}")
    result = json.loads(out.read_text())
    return {"fps": result["timing"]["frames_per_s"], "wall": wall, "metrics": result["metrics"],
            "frames": result["dataset"]["num_frames"]}  # fmt: skip


def run_in_process(model, name: str, root: Path, workers: int, max_frames: int | None) -> dict:
    """One process: frames/s and this process's CPU time per frame (decoding workers excluded)."""
    from ovbench.datasets import open_dataset
    from ovbench.protocols import get_protocol
    from ovbench.run import RunConfig, run_model
    from ovbench.splits import load_split

    dataset = open_dataset("vspw", root, "val")
    wall, cpu = time.perf_counter(), time.process_time()
    config = RunConfig(max_frames=max_frames, show_progress=False, workers=workers)
    result = run_model(model, name, dataset, load_split("vspw-80-44"), get_protocol("gzsl"), config)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    frames = result["dataset"]["num_frames"]
    return {"fps": frames / wall, "cpu_ms": cpu / frames * 1000, "metrics": result["metrics"], "frames": frames}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=int, default=4)
    parser.add_argument("--frames", type=int, default=40, help="frames per video (all scored)")
    parser.add_argument("--size", default="853x480")
    parser.add_argument("--models", default="bench-decode,clip")
    parser.add_argument("--clip-frames", type=int, default=6, help="--max-frames per video for clip (default 6)")
    parser.add_argument("--nprocs", default="1,2")
    parser.add_argument("--workers", default="0,2", help="--workers values; the first is the baseline")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeat", type=int, default=1, help="run each configuration N times, keep the fastest")
    parser.add_argument("--keep", type=Path, help="write the data here (kept) instead of a temporary folder")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    nprocs = [int(n) for n in args.nprocs.split(",")]
    workers = [int(w) for w in args.workers.split(",")]
    repeat = max(1, args.repeat)

    with tempfile.TemporaryDirectory(prefix="ovbench-scaling-") as tmp:
        work = args.keep or Path(tmp)
        os.environ.setdefault("OVBENCH_CACHE", str(work / "cache"))  # one text-embedding cache for all runs
        root = work / "VSPW_480p"
        if not root.is_dir():
            write_vspw(root, videos=args.videos, frames=args.frames, height=height, width=width, seed=0, tag="bench",
                       photos=True)  # fmt: skip
        decode_s, frame_count = decode_all(root)
        decode_ms = decode_s / frame_count * 1000
        print(f"synthetic VSPW: {args.videos} videos × {args.frames} frames, {width}×{height} JPEG + PNG mask; "
              f"{os.cpu_count()} CPUs; device {args.device}; best of {repeat}")  # fmt: skip
        print(f"decoding one frame and its mask, one thread: {decode_ms:.1f} ms")
        for name in args.models.split(","):
            clip_options = {"pretrained": "none", "templates": "single"}
            extra = [] if name == "bench-decode" else [
                "--max-frames", str(args.clip_frames), *(x for k, v in clip_options.items() for x in (f"--{k}", v))
            ]  # fmt: skip
            max_frames = args.clip_frames if name != "bench-decode" else None
            print(f"\n{name}: one process, decoding inline or in --workers processes")
            print(f"{'workers':>7} {'frames':>6} {'frames/s':>9} {'speed-up':>8} {'main CPU ms/frame':>17} "
                  f"{'decode moved off':>16}")  # fmt: skip
            from ovbench.registry import get_model_class

            options = clip_options if name != "bench-decode" else {}
            model = (DecodeBound if name == "bench-decode" else get_model_class(name))(
                device=args.device, dataset="vspw", **options
            )
            run_in_process(model, name, root, 0, 1)  # warm-up: fills the text-embedding cache
            reference = None
            base = None
            for w in workers:
                r = max((run_in_process(model, name, root, w, max_frames) for _ in range(repeat)), key=lambda x: x["fps"])
                reference = reference or r["metrics"]
                assert r["metrics"] == reference, f"{name}: metrics differ with {w} workers"
                base = base or r
                moved = "" if r is base else f"{(base['cpu_ms'] - r['cpu_ms']) / decode_ms:.0%}"
                print(f"{w:>7} {r['frames']:>6} {r['fps']:>9.2f} {r['fps'] / base['fps']:>7.2f}× {r['cpu_ms']:>17.1f} "
                      f"{moved:>16}")  # fmt: skip
            print(f"\n{name}: N processes (torchrun --standalone --nproc_per_node N; frames/s inside the run)")
            print(f"{'procs':>5} {'workers':>7} {'frames':>6} {'frames/s':>9} {'speed-up':>8} {'command wall s':>14}")
            base = None
            for nproc in nprocs:
                for w in workers:
                    r = max((run_torchrun(root, work, name, nproc, w, args.device, extra) for _ in range(repeat)),
                            key=lambda x: x["fps"])  # fmt: skip
                    assert r["metrics"] == reference, f"{name}: metrics differ with {nproc} processes, {w} workers"
                    base = base or r
                    print(f"{nproc:>5} {w:>7} {r['frames']:>6} {r['fps']:>9.2f} {r['fps'] / base['fps']:>7.2f}× "
                          f"{r['wall']:>14.1f}")  # fmt: skip
        print("\nmetrics identical in every configuration: yes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
