"""Scores from a pooled confusion matrix, in percent (VSPW ``Evaluator`` conventions).

IoU_c = TP_c / (GT_c + Pred_c − TP_c); mIoU averages only classes with GT_c > 0 (a class that is
predicted but absent from the GT does not count, unlike MMSeg's union rule). Class accuracy
Acc_c = TP_c / GT_c (GT pixels left without a prediction count as misses), averaged over the same
classes: mAcc, as VSPW's, MMSeg's and detectron2's evaluators report it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _mean_present(iou: np.ndarray, present: np.ndarray, ids: Sequence[int]) -> float | None:
    ids = np.asarray(ids, dtype=int)
    chosen = ids[present[ids]] if ids.size else ids
    return float(iou[chosen].mean() * 100) if chosen.size else None


def harmonic(seen: float | None, unseen: float | None) -> float | None:
    """hIoU = 2·S·U / (S + U); 0 when both are 0, None when either is undefined."""
    if seen is None or unseen is None:
        return None
    return 0.0 if seen + unseen == 0 else 2 * seen * unseen / (seen + unseen)


def segmentation_scores(
    matrix: np.ndarray,
    missed: np.ndarray,
    seen_ids: Sequence[int],
    unseen_ids: Sequence[int],
) -> dict:
    """mIoU and mAcc (all/seen/unseen), hIoU, FWIoU, pixel accuracy, per-class IoU and accuracy (None
    where GT_c = 0)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    tp = np.diag(matrix)
    gt = matrix.sum(axis=1) + np.asarray(missed, dtype=np.float64)
    pred = matrix.sum(axis=0)
    present = gt > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(present, tp / (gt + pred - tp), 0.0)
        accuracy = np.where(present, tp / gt, 0.0)
    total = gt.sum()
    seen = _mean_present(iou, present, seen_ids)
    unseen = _mean_present(iou, present, unseen_ids)
    return {
        "miou": float(iou[present].mean() * 100) if present.any() else None,
        "miou_seen": seen,
        "miou_unseen": unseen,
        "hiou": harmonic(seen, unseen),
        # Σ GT_c·IoU_c / ΣGT: a perfect prediction gives exactly 100 (Σ (GT_c/ΣGT)·IoU_c can exceed it).
        "fwiou": float((gt * iou).sum() / total * 100) if total else None,
        "pixel_acc": float(tp.sum() / total * 100) if total else None,
        "per_class_iou": [float(v * 100) if p else None for v, p in zip(iou, present)],
        "macc": float(accuracy[present].mean() * 100) if present.any() else None,
        "macc_seen": _mean_present(accuracy, present, seen_ids),
        "macc_unseen": _mean_present(accuracy, present, unseen_ids),
        "per_class_acc": [float(v * 100) if p else None for v, p in zip(accuracy, present)],
    }
