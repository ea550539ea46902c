"""Per-frame CPU time of the SAN port against the official code's, on the fixture's CamVid frame.

    python benchmarks/san_speed.py [--repeats 3] [--config san_clip_vit_res4_coco]

The official time is what ``../shared/fixtures/san/case.json`` records for one 480×360 frame
(``forward_s``: the released code on this machine type, 2 threads, the classifier already built);
without that file the issue's figure (4.4 s) is used. Weights are random (speed does not depend on
them); 11 classes, as the fixture; the classifier is built once, outside the timing, as in a run.
"""

from __future__ import annotations

import argparse

from timing import best_of, recorded_time

QUOTED = 4.4  # seconds, the figure


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--config", default="san_clip_vit_res4_coco",
                        choices=("san_clip_vit_res4_coco", "san_clip_vit_large_res4_coco"))  # fmt: skip
    args = parser.parse_args()

    import numpy as np
    import torch

    from clip_toolkit.shortest_edge import mapper_image, padded_size
    from sanseg.network import CONFIGS, SAN, semantic_scores

    torch.manual_seed(0)
    network = SAN(CONFIGS[args.config]).eval()
    frame = np.random.default_rng(0).integers(0, 256, (360, 480, 3), dtype=np.uint8)
    names = ["sky", "building", "pole", "road", "pavement", "tree", "sign", "fence", "car", "pedestrian", "cyclist"]

    def one_frame():
        image = mapper_image(frame)
        masks, logits = network(image, classifier)
        size = tuple(image.shape[-2:])
        semantic_scores(masks, logits, padded_size(size), size, (360, 480)).argmax(0)

    with torch.inference_mode():
        classifier = network.classifier(network.text_embeddings(names))
        one_frame()  # warm-up
        port = best_of(one_frame, args.repeats)
    official, source = recorded_time("san", "camvid11_480x360", QUOTED)
    print(f"threads {torch.get_num_threads()}; official time from {source}")
    print("| config | official s/frame | port s/frame | ratio |")
    print("|---|---|---|---|")
    print(f"| {args.config} | {official} | {port:.2f} | {port / official:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
