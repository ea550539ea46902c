"""Per-frame CPU time of the CAT-Seg port against the official code's, on the fixture's CamVid frame.

    python benchmarks/catseg_speed.py [--repeats 3] [--config vitb_384]

The official time is what ``../shared/fixtures/catseg/case.json`` records for one 480×360 frame
(``forward_s``: the released code on this machine type, 2 threads, the sliding-window protocol and
the whole-image path of that frame together); without that file the issue's figure (34 s) is used.
Weights are random (speed does not depend on them); 11 classes, as the fixture.
"""

from __future__ import annotations

import argparse

from timing import best_of, recorded_time

QUOTED = 34.0  # seconds, the figure


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--config", default="vitb_384", choices=("vitb_384", "vitl_336"))
    args = parser.parse_args()

    import numpy as np
    import torch

    from catseg.network import CONFIGS, CATSeg, merged_probabilities, sliding_views, whole_probabilities, whole_view
    from clip_toolkit.shortest_edge import mapper_image

    torch.manual_seed(0)
    network = CATSeg(CONFIGS[args.config]).eval()
    frame = np.random.default_rng(0).integers(0, 256, (360, 480, 3), dtype=np.uint8)
    names = ["sky", "building", "pole", "road", "pavement", "tree", "sign", "fence", "car", "pedestrian", "cyclist"]

    def slide():
        image = mapper_image(frame)
        merged_probabilities(network(sliding_views(image), text), (360, 480)).argmax(0)

    def whole():
        image = mapper_image(frame)
        logits = network(whole_view(image), text, stage="whole")
        whole_probabilities(logits, tuple(image.shape[-2:]), (360, 480)).argmax(0)

    with torch.inference_mode():
        text = network.text_embeddings([[n] for n in names])
        slide()  # warm-up
        times = {name: best_of(fn, args.repeats) for name, fn in (("slide", slide), ("whole", whole))}
    official, source = recorded_time("catseg", "camvid11_480x360", QUOTED)
    both = times["slide"] + times["whole"]
    print(f"threads {torch.get_num_threads()}; official time from {source}")
    print("| config | official s/frame (slide + whole) | port slide | port whole | port slide + whole | ratio |")
    print("|---|---|---|---|---|---|")
    print(f"| {args.config} | {official} | {times['slide']:.2f} | {times['whole']:.2f} | {both:.2f} | "
          f"{both / official:.2f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
