"""Per-clip CPU time of the OV2VSS port against the official code's, at the fixture sizes.

    python benchmarks/ov2vss_released_speed.py [--repeats 3] [--sizes 256x192,384x288,1024x576]

The official times are those ``../shared/fixtures/ov2vss/vitb/case.json`` records for a 5-frame
clip (``forward_s``, the released code on this machine type, 2 threads); without that file the
figures the OV2VSS issue quotes are used. Weights are random (speed does not depend on them).
Printed per size: the port on one isolated clip (what the official forward does: all five frames
through the backbone), and per frame of a video run, where each frame's backbone features are
computed once and shared by the clips that read them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from timing import best_of

CASES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "ov2vss" / "vitb" / "case.json"
QUOTED = {(192, 256): 2.6, (288, 384): 3.6, (576, 1024): 29.6}  # seconds, the figures


def official_times() -> dict[tuple[int, int], float]:
    if not CASES.is_file():
        return dict(QUOTED)
    cases = json.loads(CASES.read_text())["cases"]
    return {tuple(c["network_input_hw"]): c["forward_s"] for c in cases.values() if c.get("num_clips") == 5}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", default="256x192,384x288,1024x576", help="network input sizes, WxH")
    args = parser.parse_args()

    import torch

    from ov2vss.network import ReleasedOV2VSS

    torch.manual_seed(0)
    network = ReleasedOV2VSS().eval()
    text = torch.nn.functional.normalize(torch.randn(6, 80, 512), dim=-1) / 80**0.5
    official = official_times()
    print(f"threads {torch.get_num_threads()}; official per-clip times from {CASES if CASES.is_file() else 'the issue'}")
    print("| network input | official s/clip | port s/clip | ratio | port s/frame in a video | ratio |")
    print("|---|---|---|---|---|---|")
    for size in args.sizes.split(","):
        w, h = map(int, size.split("x"))
        clip = torch.randn(5, 3, h, w)
        with torch.inference_mode():
            network(clip, text, (h, w))  # warm-up
            per_clip = best_of(lambda: network(clip, text, (h, w)), args.repeats)
            # A video run: the new target frame's features, then the clip from cached features.
            levels, down = network.frame_features(clip)
            chain = [x[[0, 1, 2, 4]] for x in down]
            far = [x[0:1] for x in down]

            def video_step():
                network.frame_features(clip[-1:])
                guide, appearance, _ = network.video_guidance(chain, far)
                network.decode(clip[-1:], text, appearance, guide, (h, w))

            per_frame = best_of(video_step, args.repeats)
        ref = official.get((h, w))
        ratio = (lambda s: f"{s / ref:.2f}" if ref else "-")  # noqa: E731
        print(f"| {w}x{h} | {ref if ref else '-'} | {per_clip:.2f} | {ratio(per_clip)} | {per_frame:.2f} | "
              f"{ratio(per_frame)} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
