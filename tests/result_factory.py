"""Valid result dictionaries built from a confusion matrix, for tests of result files and reports."""

from __future__ import annotations

import copy

import numpy as np

from ovbench.evaluator import Evaluator
from ovbench.protocols import get_protocol
from ovbench.splits import load_split

_BASE = {
    "schema_version": 1,
    "ovbench_version": "0.1.0",
    "git_commit": None,
    "created": "2026-11-23T00:00:00+00:00",
    "environment": {"python": "3.11", "platform": "test", "numpy": "2", "torch": None, "cuda": None, "device": "cpu"},
    "timing": {"wall_s": 1.0, "frames_per_s": 10.0},
}


def make_result(model="m", matrix=None, protocol="gzsl", split="camvid-7-4", options=None, seed=0, **overrides):
    s = load_split(split)
    proto = get_protocol(protocol)
    ev = Evaluator(s, proto)
    if matrix is None:
        rng = np.random.default_rng(seed)
        gt = rng.integers(0, s.num_classes, size=(8, 8), dtype=np.uint8)
        pred = np.where(rng.random((8, 8)) < 0.6, gt, rng.integers(0, s.num_classes, (8, 8))).astype(np.uint8)
        ev.begin_video()
        ev.process(gt, pred)
        ev.end_video()
    else:
        ev.confusion = type(ev.confusion).from_state(matrix, [0] * len(matrix))
        ev.num_videos = ev.num_frames = 1
    metrics = ev.evaluate()
    result = copy.deepcopy(_BASE)
    result.update(
        model={"name": model, "options": options or {}, "weights": None},
        dataset={"name": s.dataset, "subset": "val", "num_videos": 1, "num_frames": 1, "fingerprint": "abc",
                 "max_videos": None, "max_frames": None},  # fmt: skip
        split={"name": s.name, "hash": s.hash, "classes": [c.name for c in s.classes], "seen": [c.seen for c in s.classes]},
        protocol=protocol,
        metrics=metrics,
        main_metric=proto.main_metric,
        main_score=metrics[proto.main_metric],
        confusion_matrix=ev.confusion.state_dict(),
    )
    result.update(overrides)
    return result
