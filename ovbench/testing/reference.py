"""Slow, literal re-statements of the official VSPW evaluation, for cross-checks and benchmarks only.

Nothing here is used by ``ovbench evaluate``. These functions restate, in our own words, what the
scripts of ``VSPW-dataset/VSPW_code`` compute, written as plainly as possible (per-frame bincounts,
per-window loops) so that the streaming implementation in :mod:`ovbench.metrics.confusion` and
:mod:`ovbench.metrics.consistency` can be checked against them.

mIoU (the ``Evaluator`` of the official code)
    Per frame, keep pixels whose GT is a class (0 <= gt < C) and add ``bincount(C*gt + pred)``
    into a C×C matrix (rows = GT). IoU_c = diag_c / (row_c + col_c - diag_c); mIoU is the mean
    over classes with GT pixels; pixel accuracy = Σdiag / ΣGT; FWIoU = Σ_c GT_c/ΣGT · IoU_c.
    **One deliberate difference**, shared with ovbench: a predicted value outside [0, C) (255 =
    "no prediction") is a *miss*: it counts in the GT total of its pixel's class and in no
    prediction total (the official code would index out of its matrix instead).

mVC_n (``VC_perclip.py``)
    Per video, masks sorted by file name; a video with N <= n frames is skipped; for each window
    start i in range(N - n) (the official script never scores the last possible window, we keep
    that), G = pixels whose GT equals frame i's GT in every frame i+1 … i+n-1, P = the same for
    the prediction, VC_i = |G ∩ P| / |G| (NaN when |G| = 0). mVC_n = nan-mean over the windows of
    all videos pooled. Correctness is not checked and ignore pixels are not masked out.

Label values: ``VSPW_code`` compares *raw* mask values in its VC script, where raw 0 ("others")
and raw 255 ("void") are different values. The OV2VSS copy of that script, and ovbench, compare the
remapped ids (0 → 255, r → r-1, so "others" and "void" are both 255). The functions here compare
whatever arrays they are given; :func:`three_pass_evaluation` takes a ``gt_lut`` so that the GT can
be put in ovbench's evaluation ids, and :func:`vspw_remap` is the README's remap written out.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

__all__ = [
    "reference_confusion",
    "reference_scores",
    "reference_vc",
    "reference_vc_windows",
    "three_pass_evaluation",
    "vspw_remap",
    "vspw_videos",
]


# --------------------------------------------------------------------------------------------
# Confusion matrix and scores
# --------------------------------------------------------------------------------------------


def reference_confusion(pairs: Iterable[tuple[np.ndarray, np.ndarray]], num_classes: int):
    """(C×C matrix, per-class misses) pooled over ``(gt, pred)`` frames, one bincount per frame.

    Returns int64 arrays: ``matrix[g, p]`` counts pixels with GT class g predicted as class p;
    ``missed[g]`` counts pixels of GT class g whose prediction lies outside [0, C).
    """
    c = num_classes
    matrix = np.zeros((c, c), dtype=np.int64)
    missed = np.zeros(c, dtype=np.int64)
    for gt, pred in pairs:
        gt = np.asarray(gt)
        pred = np.asarray(pred)
        if gt.shape != pred.shape:
            raise ValueError(f"shape mismatch: gt {gt.shape} vs prediction {pred.shape}")
        keep = (gt >= 0) & (gt < c)
        g = gt[keep].astype(np.int64)
        p = pred[keep].astype(np.int64)
        valid = (p >= 0) & (p < c)
        # the official accumulation, restricted to predictions that are classes
        matrix += np.bincount(c * g[valid] + p[valid], minlength=c * c).reshape(c, c)
        # our harness's one addition: predictions outside [0, C) are misses of the GT class
        missed += np.bincount(g[~valid], minlength=c)
    return matrix, missed


def _harmonic(seen, unseen):
    if seen is None or unseen is None:
        return None
    if seen + unseen == 0:
        return 0.0
    return 2.0 * seen * unseen / (seen + unseen)


def reference_scores(matrix, missed, seen_ids: Sequence[int] = (), unseen_ids: Sequence[int] = ()) -> dict:
    """Scores in percent from a C×C matrix and per-class misses, one class at a time.

    Same keys as :func:`ovbench.metrics.scores.segmentation_scores`; ``None`` where undefined
    (a class, or a whole subset, without GT pixels).
    """
    matrix = np.asarray(matrix, dtype=np.int64)
    missed = np.asarray(missed, dtype=np.int64)
    c = matrix.shape[0]
    gt_total = [int(matrix[k, :].sum()) + int(missed[k]) for k in range(c)]
    pred_total = [int(matrix[:, k].sum()) for k in range(c)]
    hits = [int(matrix[k, k]) for k in range(c)]
    all_pixels = sum(gt_total)

    iou = []
    for k in range(c):
        if gt_total[k] > 0:
            iou.append(hits[k] / (gt_total[k] + pred_total[k] - hits[k]))
        else:
            iou.append(None)  # no GT pixel: not averaged, even if the class was predicted

    accuracy = [hits[k] / gt_total[k] if gt_total[k] > 0 else None for k in range(c)]

    def mean_over(ids, per_class=iou):
        values = [per_class[k] for k in ids if per_class[k] is not None]
        return sum(values) / len(values) * 100 if values else None

    seen = mean_over(seen_ids)
    unseen = mean_over(unseen_ids)
    if all_pixels:
        fwiou = sum(gt_total[k] / all_pixels * iou[k] for k in range(c) if iou[k] is not None) * 100
        pixel_acc = sum(hits) / all_pixels * 100
    else:
        fwiou = pixel_acc = None
    return {
        "miou": mean_over(range(c)),
        "miou_seen": seen,
        "miou_unseen": unseen,
        "hiou": _harmonic(seen, unseen),
        "fwiou": fwiou,
        "pixel_acc": pixel_acc,
        "per_class_iou": [None if v is None else v * 100 for v in iou],
        "macc": mean_over(range(c), accuracy),
        "macc_seen": mean_over(seen_ids, accuracy),
        "macc_unseen": mean_over(unseen_ids, accuracy),
        "per_class_acc": [None if v is None else v * 100 for v in accuracy],
    }


# --------------------------------------------------------------------------------------------
# Video consistency
# --------------------------------------------------------------------------------------------


def reference_vc_windows(gt_frames: Sequence[np.ndarray], pred_frames: Sequence[np.ndarray], n: int) -> list[float]:
    """VC of every scored window of one video (NaN where the GT is nowhere constant)."""
    if len(gt_frames) != len(pred_frames):
        raise ValueError(f"{len(gt_frames)} GT frames but {len(pred_frames)} predictions")
    count = len(gt_frames)
    accs: list[float] = []
    if count <= n:
        return accs
    for i in range(count - n):
        g = np.ones(gt_frames[i].shape, dtype=bool)
        p = np.ones(gt_frames[i].shape, dtype=bool)
        for j in range(1, n):
            g = np.logical_and(g, gt_frames[i] == gt_frames[i + j])
            p = np.logical_and(p, pred_frames[i] == pred_frames[i + j])
        stable = int(g.sum())
        both = int(np.logical_and(g, p).sum())
        accs.append(both / stable if stable else math.nan)
    return accs


def reference_vc(videos_gt: Sequence[Sequence[np.ndarray]], videos_pred: Sequence[Sequence[np.ndarray]], n: int):
    """mVC_n as a fraction over all windows of all videos pooled; None if no window counts."""
    if len(videos_gt) != len(videos_pred):
        raise ValueError(f"{len(videos_gt)} GT videos but {len(videos_pred)} prediction videos")
    accs: list[float] = []
    for gt_frames, pred_frames in zip(videos_gt, videos_pred):
        accs.extend(reference_vc_windows(gt_frames, pred_frames, n))
    kept = [a for a in accs if not math.isnan(a)]
    return sum(kept) / len(kept) if kept else None


# --------------------------------------------------------------------------------------------
# Files: the official three-script evaluation
# --------------------------------------------------------------------------------------------


def vspw_remap(raw: np.ndarray) -> np.ndarray:
    """The VSPW README's remap of raw mask values: 0 → 255, then minus 1, then 254 → 255."""
    mask = np.array(raw, dtype=np.uint8, copy=True)
    mask[mask == 0] = 255
    mask = mask - np.uint8(1)
    mask[mask == 254] = 255
    return mask


def vspw_videos(root: str | os.PathLike, subset: str = "val") -> list[tuple[str, list[Path]]]:
    """Videos of a VSPW folder as the official scripts list them: ``<subset>.txt`` then
    ``data/<video>/mask/*.png`` sorted by name (hidden files skipped)."""
    root = Path(root)
    names = [line.strip() for line in (root / f"{subset}.txt").read_text().splitlines() if line.strip()]
    videos = []
    for name in names:
        mask_dir = root / "data" / name / "mask"
        masks = sorted(f for f in os.listdir(mask_dir) if f.endswith(".png") and not f.startswith("."))
        videos.append((name, [mask_dir / f for f in masks]))
    return videos


def _read_png(path: Path) -> np.ndarray:
    return np.array(Image.open(path))


def _read_video(
    name: str, masks: Sequence[Path], predictions: Path, gt_lut: np.ndarray | None
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    gts, preds = [], []
    for mask in masks:
        gt = _read_png(mask)
        gts.append(gt if gt_lut is None else gt_lut[gt])
        preds.append(_read_png(predictions / name / f"{Path(mask).stem}.png"))
    return gts, preds


def three_pass_evaluation(
    videos: Sequence[tuple[str, Sequence[Path]]],
    predictions: str | os.PathLike,
    num_classes: int,
    seen_ids: Sequence[int] = (),
    unseen_ids: Sequence[int] = (),
    *,
    gt_lut: np.ndarray | None = None,
    window_sizes: Sequence[int] = (8, 16),
) -> dict:
    """Scores the way ``evaluation.sh`` of ``VSPW_code`` does: separate scripts, each decoding
    every GT and prediction PNG again with PIL.

    ``videos`` is ``[(video name, [mask path, …] in frame order), …]`` (see :func:`vspw_videos`);
    the prediction of a mask ``…/<stem>.png`` is ``predictions/<video>/<stem>.png``. ``gt_lut``
    (256 entries, optional) maps decoded GT values before scoring, e.g. the VSPW remap composed
    with a protocol's seen → ignore table, so that the result is comparable with ovbench's.

    Pass 1 is the mIoU script (frame by frame, one pooled confusion matrix). Then one pass per
    window size: ``evaluation.sh`` runs ``TC_cal.py`` and ``VC_perclip.py`` (VC16); TC needs RAFT
    optical-flow weights and a GPU, so the VC8 pass stands in for it here (same decoding work:
    every PNG of every video read again). Each VC pass loads a whole video, then loops over its
    windows as the official script does.

    Returns the scores in percent (keys of :func:`reference_scores` plus ``mvc<n>``), the raw
    ``matrix`` and ``missed`` arrays, and ``pass_seconds`` (wall time per pass).
    """
    predictions = Path(predictions)
    pass_seconds = {}

    start = time.perf_counter()

    def frames():
        for name, masks in videos:
            for mask in masks:
                gt = _read_png(mask)
                if gt_lut is not None:
                    gt = gt_lut[gt]
                pred = _read_png(predictions / name / f"{Path(mask).stem}.png")
                yield gt, pred

    matrix, missed = reference_confusion(frames(), num_classes)
    result = reference_scores(matrix, missed, seen_ids, unseen_ids)
    pass_seconds["miou"] = time.perf_counter() - start

    for n in window_sizes:
        start = time.perf_counter()
        accs: list[float] = []
        for name, masks in videos:
            if len(masks) <= n:  # the script skips short videos before reading them
                continue
            gts, preds = _read_video(name, masks, predictions, gt_lut)
            accs.extend(reference_vc_windows(gts, preds, n))
        kept = [a for a in accs if not math.isnan(a)]
        result[f"mvc{n}"] = sum(kept) / len(kept) * 100 if kept else None
        pass_seconds[f"vc{n}"] = time.perf_counter() - start

    result["matrix"] = matrix
    result["missed"] = missed
    result["pass_seconds"] = pass_seconds
    return result
