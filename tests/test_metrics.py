"""Exact-value tests of the metrics: hand-computed cases, and the streaming accumulators against
the slow literal restatement of the official VSPW scripts in ``ovbench.testing.reference``."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image

from ovbench.datasets import open_dataset
from ovbench.datasets.vspw import VSPW
from ovbench.errors import OvbenchError
from ovbench.evaluator import Evaluator
from ovbench.metrics import ConfusionMatrix, VideoConsistency, harmonic, segmentation_scores
from ovbench.testing.reference import (
    reference_confusion,
    reference_scores,
    reference_vc,
    reference_vc_windows,
    three_pass_evaluation,
    vspw_remap,
    vspw_videos,
)
from ovbench.protocols import get_protocol
from ovbench.run import RunConfig, evaluate_predictions
from ovbench.splits import load_split, parse_split

TOL = 1e-12
U8 = np.uint8


def a(rows) -> np.ndarray:
    return np.array(rows, dtype=U8)


def scores_of(frames, num_classes, seen=(), unseen=()):
    cm = ConfusionMatrix(num_classes)
    for gt, pred in frames:
        cm.update(gt, pred)
    return cm, segmentation_scores(cm.matrix, cm.missed, seen, unseen)


def assert_scores_close(got: dict, want: dict, tol: float = TOL):
    assert got.keys() >= want.keys()
    for key, value in want.items():
        if key in ("per_class_iou", "per_class_acc"):
            assert len(got[key]) == len(value)
            for g, w in zip(got[key], value):
                assert (g is None) == (w is None), key
                if w is not None:
                    assert abs(g - w) <= tol, (key, g, w)
        elif value is None:
            assert got[key] is None, (key, got[key])
        else:
            assert got[key] is not None and abs(got[key] - value) <= tol, (key, got[key], value)


def make_split(seen: list[bool], name: str = "toy"):
    return parse_split(
        {
            "schema": "ovbench-split/1",
            "name": name,
            "dataset": "toy",
            "classes": [{"id": i, "name": f"c{i}", "seen": s} for i, s in enumerate(seen)],
        }
    )


# ---------------------------------------------------------------------------------------------
# (i) hand-computed confusion matrices and scores
# ---------------------------------------------------------------------------------------------


def test_confusion_hand_case_with_ignore_and_miss():
    # C = 3. Pixels (gt, pred), row-major:
    #   (0,0) (0,0) (0,1) (1,1) | (1,255) (2,2) (255,0) (255,2)
    # The two GT-255 pixels are dropped whatever their prediction; (1,255) is a miss of class 1.
    gt = a([[0, 0, 0, 1], [1, 2, 255, 255]])
    pred = a([[0, 0, 1, 1], [255, 2, 0, 2]])
    cm, s = scores_of([(gt, pred)], 3, seen=(0, 1), unseen=(2,))
    # matrix rows = GT: class 0 -> {0: 2, 1: 1}; class 1 -> {1: 1}; class 2 -> {2: 1}
    assert cm.matrix.tolist() == [[2, 1, 0], [0, 1, 0], [0, 0, 1]]
    assert cm.missed.tolist() == [0, 1, 0]
    # GT totals (row + miss): 3, 2, 1 (sum 6); prediction totals (columns): 2, 2, 1; TP: 2, 1, 1
    # IoU0 = 2/(3+2-2) = 2/3, IoU1 = 1/(2+2-1) = 1/3, IoU2 = 1/(1+1-1) = 1
    # mIoU = (2/3 + 1/3 + 1)/3 = 2/3; seen = (2/3 + 1/3)/2 = 1/2; unseen = 1
    # hIoU = 2*50*100/(50+100) = 200/3; pixel acc = 4/6; FWIoU = 3/6*2/3 + 2/6*1/3 + 1/6*1 = 11/18
    assert_scores_close(
        s,
        {
            "miou": 200 / 3,
            "miou_seen": 50.0,
            "miou_unseen": 100.0,
            "hiou": 200 / 3,
            "pixel_acc": 200 / 3,
            "fwiou": 1100 / 18,
            "per_class_iou": [200 / 3, 100 / 3, 100.0],
        },
    )
    assert_scores_close(reference_scores(*reference_confusion([(gt, pred)], 3), (0, 1), (2,)), s)


def test_prediction_outside_classes_is_a_miss_not_ignored():
    # C = 2; predictions 2, 7 and 255 are all outside [0, C): misses of their GT class.
    gt = a([[0, 0, 1, 1]])
    pred = a([[0, 2, 7, 255]])
    cm, s = scores_of([(gt, pred)], 2)
    assert cm.matrix.tolist() == [[1, 0], [0, 0]]
    assert cm.missed.tolist() == [1, 2]
    # GT totals 2, 2; prediction totals 1, 0; IoU0 = 1/(2+1-1) = 1/2, IoU1 = 0/(2+0-0) = 0
    # mIoU = 1/4; pixel acc = 1/4 (a miss is a wrong pixel, not a dropped one); FWIoU = 1/2*1/2 = 1/4
    assert_scores_close(s, {"miou": 25.0, "pixel_acc": 25.0, "fwiou": 25.0, "per_class_iou": [50.0, 0.0]})


def test_class_predicted_but_absent_from_gt_is_not_averaged():
    # C = 3, gt = 0 0 1 1, pred = 0 2 1 2: class 2 is predicted twice but has no GT pixel.
    gt = a([[0, 0, 1, 1]])
    pred = a([[0, 2, 1, 2]])
    _, s = scores_of([(gt, pred)], 3, seen=(0, 1), unseen=(2,))
    # IoU0 = 1/(2+1-1) = 1/2, IoU1 = 1/(2+1-1) = 1/2, class 2 undefined -> None, not 0.
    # mIoU = 1/2 (the union rule of MMSeg would give (1/2+1/2+0)/3 = 1/3).
    # unseen = {2} has no GT pixel -> miou_unseen None -> hIoU None.
    # pixel acc = 2/4; FWIoU = 2/4*1/2 + 2/4*1/2 = 1/2
    assert_scores_close(
        s,
        {
            "miou": 50.0,
            "miou_seen": 50.0,
            "miou_unseen": None,
            "hiou": None,
            "pixel_acc": 50.0,
            "fwiou": 50.0,
            "per_class_iou": [50.0, 50.0, None],
        },
    )


def test_hiou_zero_when_both_subsets_score_zero():
    # C = 2, gt = 0 1, pred = 1 0: IoU0 = 0/(1+1-0) = 0, IoU1 = 0 -> seen = unseen = 0 -> hIoU = 0
    _, s = scores_of([(a([[0, 1]]), a([[1, 0]]))], 2, seen=(0,), unseen=(1,))
    assert s["miou_seen"] == 0.0 and s["miou_unseen"] == 0.0 and s["hiou"] == 0.0
    assert harmonic(0.0, 0.0) == 0.0
    assert harmonic(None, 10.0) is None and harmonic(10.0, None) is None
    assert harmonic(40.0, 60.0) == pytest.approx(48.0, abs=TOL)  # 2*40*60/100


def test_everything_ignored_gives_none():
    gt = a([[255, 255], [255, 255]])
    cm, s = scores_of([(gt, a([[0, 1], [2, 255]]))], 3, seen=(0,), unseen=(1, 2))
    assert cm.matrix.sum() == 0 and cm.missed.sum() == 0
    for key in ("miou", "miou_seen", "miou_unseen", "hiou", "fwiou", "pixel_acc"):
        assert s[key] is None, key
    assert s["per_class_iou"] == [None, None, None]
    assert reference_scores(cm.matrix, cm.missed, (0,), (1, 2)) == s


def test_confusion_pools_frames_not_per_frame_mean():
    # Frame A: 1 pixel of class 0, correct. Frame B: 3 pixels of class 0, all predicted 1.
    # Pooled: class 0 GT 4, TP 1, pred0 = 1 -> IoU0 = 1/4; class 1: GT 0 -> None.
    # A per-frame mean would give (1 + 0)/2 = 1/2.
    frames = [(a([[0]]), a([[0]])), (a([[0, 0, 0]]), a([[1, 1, 1]]))]
    _, s = scores_of(frames, 2)
    assert_scores_close(s, {"miou": 25.0, "pixel_acc": 25.0, "fwiou": 25.0, "per_class_iou": [25.0, None]})


def test_confusion_rejects_bad_input():
    with pytest.raises(ValueError):
        ConfusionMatrix(0)
    with pytest.raises(ValueError):
        ConfusionMatrix(3).update(a([[0, 1]]), a([[0], [1]]))


def test_largest_class_count_does_not_overflow():
    # C = 254: row offset 253*255 + column 253 must stay inside the uint16 index.
    c = 254
    gt = a([[253, 253, 0, 255]])
    pred = a([[253, 254, 253, 253]])
    cm = ConfusionMatrix(c)
    cm.update(gt, pred)
    m, missed = reference_confusion([(gt, pred)], c)
    assert np.array_equal(cm.matrix, m) and np.array_equal(cm.missed, missed)
    assert cm.matrix[253, 253] == 1 and cm.matrix[0, 253] == 1 and cm.missed[253] == 1


# ---------------------------------------------------------------------------------------------
# (ii) hand-computed video consistency
# ---------------------------------------------------------------------------------------------


def run_vc(videos, window_sizes):
    vc = VideoConsistency(window_sizes)
    for gts, preds in videos:
        vc.begin_video()
        for g, p in zip(gts, preds):
            vc.update(g, p)
        vc.end_video()
    return vc


def ten_frame_video():
    # 1×4 frames, GT constant. Prediction per pixel over frames 0..9:
    #   pixel 0: a a a a a a a a a B   (changes at frame 9)
    #   pixel 1: a a a a a a a a B B   (changes at frame 8)
    #   pixel 2: a B B B B C C C C C   (changes at frames 1 and 5)
    #   pixel 3: constant
    gts = [a([[1, 1, 1, 1]]) for _ in range(10)]
    preds = []
    for t in range(10):
        preds.append(a([[0 if t < 9 else 2, 0 if t < 8 else 2, 0 if t < 1 else (2 if t < 5 else 3), 0]]))
    return gts, preds


def test_vc_ten_frames_window_eight_has_two_windows():
    gts, preds = ten_frame_video()
    # N = 10, n = 8: windows start at i = 0, 1 (N - n = 2); the window starting at 2 is not scored.
    # Window 0 = frames 0..7: G = 4 pixels; P = pixels 0, 1, 3 -> 3/4
    # Window 1 = frames 1..8: P = pixels 0, 3 -> 2/4
    # (Window 2 = frames 2..9 would be 1/4 and pull the mean to 1/2.)  mVC8 = (3/4 + 2/4)/2 = 5/8
    assert reference_vc_windows(gts, preds, 8) == [0.75, 0.5]
    vc = run_vc([(gts, preds)], (8,))
    assert vc.windows[8] == 2
    assert vc.compute()[8] == 0.625
    assert reference_vc([gts], [preds], 8) == 0.625


def test_vc_video_not_longer_than_window_contributes_nothing():
    gts, preds = ten_frame_video()
    # N == n = 10: no window (the official script requires N > n)
    assert reference_vc_windows(gts, preds, 10) == []
    vc = run_vc([(gts, preds)], (10, 16))
    assert vc.windows == {10: 0, 16: 0}
    assert vc.compute() == {10: None, 16: None}
    assert reference_vc([gts], [preds], 10) is None
    # next to a scored video it changes nothing: 8-frame video + the 10-frame video, n = 8
    short = ([g for g in gts[:8]], [p[:, ::-1].copy() for p in preds[:8]])
    vc = run_vc([short, (gts, preds)], (8,))
    assert vc.windows[8] == 2 and vc.compute()[8] == 0.625


def test_vc_window_without_stable_gt_is_dropped():
    # N = 4, n = 2 -> windows i = 0, 1. GT changes everywhere between frames 0 and 1, then stays.
    # Window 0 (frames 0,1): |G| = 0 -> NaN, dropped (not counted as 0).
    # Window 1 (frames 1,2): G = all 4; prediction stable on pixels 0, 1 only -> 1/2.
    gts = [a([[0, 0, 0, 0]]), a([[1, 1, 1, 1]]), a([[1, 1, 1, 1]]), a([[1, 1, 1, 1]])]
    preds = [a([[0, 0, 0, 0]]), a([[0, 0, 1, 1]]), a([[0, 0, 2, 2]]), a([[0, 0, 3, 3]])]
    windows = reference_vc_windows(gts, preds, 2)
    assert len(windows) == 2 and math.isnan(windows[0]) and windows[1] == 0.5
    vc = run_vc([(gts, preds)], (2,))
    assert vc.windows[2] == 1 and vc.compute()[2] == 0.5


def test_vc_ignore_pixels_are_part_of_g():
    # GT all 255 (ignore) for 3 frames, n = 2 -> windows i = 0 only. The GT is "constant" on all
    # 4 pixels, so G = 4; the prediction of pixel 0 changes between frames 0 and 1 -> VC = 3/4.
    gts = [a([[255, 255, 255, 255]])] * 3
    preds = [a([[0, 1, 1, 1]]), a([[1, 1, 1, 1]]), a([[2, 1, 1, 1]])]
    vc = run_vc([(gts, preds)], (2,))
    assert vc.windows[2] == 1 and vc.compute()[2] == 0.75
    assert reference_vc([gts], [preds], 2) == 0.75


def test_vc_pools_windows_not_videos():
    # Video A: 3 frames, n = 2 -> 1 window, VC 0. Video B: 5 frames -> 3 windows, VC 1 each.
    # Pooled mean over windows = 3/4 (a mean of per-video means would be 1/2).
    ga = [a([[1, 1]])] * 3
    pa = [a([[0, 0]]), a([[1, 1]]), a([[0, 0]])]
    gb = [a([[1, 1]])] * 5
    pb = [a([[0, 0]])] * 5
    vc = run_vc([(ga, pa), (gb, pb)], (2,))
    assert vc.windows[2] == 4 and vc.compute()[2] == 0.75
    assert reference_vc([ga, gb], [pa, pb], 2) == 0.75


def test_vc_protocol_errors():
    with pytest.raises(ValueError):
        VideoConsistency((1,))
    vc = VideoConsistency((2,))
    with pytest.raises(RuntimeError):
        vc.update(a([[0]]), a([[0]]))
    with pytest.raises(RuntimeError):
        vc.end_video()
    vc.begin_video()
    vc.update(a([[0, 0]]), a([[0, 0]]))
    with pytest.raises(ValueError):
        vc.update(a([[0, 0, 0]]), a([[0, 0, 0]]))


# ---------------------------------------------------------------------------------------------
# (iii) randomized comparison with the literal reference
# ---------------------------------------------------------------------------------------------


def random_video(rng, num_frames, shape, num_classes, extra_pred_values=(255,)):
    """GT and prediction sequences that are piecewise constant in time: each frame copies the
    previous one and repaints a few rectangles; the prediction is the GT overlaid with its own
    slowly changing noise layer (wrong classes, values >= C and 255)."""
    h, w = shape
    gt_values = np.array([*range(num_classes), 255])
    pred_values = np.array([*range(num_classes), *extra_pred_values])

    def repaint(frame, values, count):
        for _ in range(count):
            y0, x0 = rng.integers(0, h), rng.integers(0, w)
            y1, x1 = y0 + rng.integers(1, h + 1), x0 + rng.integers(1, w + 1)
            frame[y0:y1, x0:x1] = rng.choice(values)

    gt = rng.choice(gt_values, size=shape).astype(U8)
    noise = np.full(shape, -1, dtype=np.int16)  # -1: no override
    gts, preds = [], []
    for _ in range(num_frames):
        gt = gt.copy()
        repaint(gt, gt_values, rng.integers(0, 3))
        if rng.random() < 0.2:  # a few single-pixel flips
            gt[rng.integers(0, h), rng.integers(0, w)] = rng.choice(gt_values)
        if rng.random() < 0.05:  # a scene cut: every GT pixel changes
            index = np.searchsorted(gt_values, gt) + rng.integers(1, len(gt_values), size=shape)
            gt = gt_values[index % len(gt_values)].astype(U8)
        noise = noise.copy()
        repaint(noise, np.array([-1, -1, *pred_values]), rng.integers(0, 3))
        pred = np.where(noise >= 0, noise, gt).astype(U8)
        gts.append(gt)
        preds.append(pred)
    return gts, preds


def random_dataset(seed, num_classes=5):
    rng = np.random.default_rng(seed)
    videos = []
    for _ in range(int(rng.integers(2, 6))):
        shape = (int(rng.integers(3, 12)), int(rng.integers(3, 14)))
        length = int(rng.integers(1, 26))
        videos.append(random_video(rng, length, shape, num_classes, extra_pred_values=(num_classes, 17, 255)))
    return videos


@pytest.mark.parametrize("seed", range(25))
def test_streaming_matches_reference_on_random_videos(seed):
    c = 5
    videos = random_dataset(seed, c)
    window_sizes = (2, 3, 8, 16)
    frames = [(g, p) for gts, preds in videos for g, p in zip(gts, preds)]

    cm = ConfusionMatrix(c)
    for g, p in frames:
        cm.update(g, p)
    matrix, missed = reference_confusion(frames, c)
    assert np.array_equal(cm.matrix, matrix)
    assert np.array_equal(cm.missed, missed)
    seen, unseen = (0, 2), (1, 3, 4)
    assert_scores_close(
        segmentation_scores(cm.matrix, cm.missed, seen, unseen), reference_scores(matrix, missed, seen, unseen)
    )

    vc = run_vc(videos, window_sizes)
    got = vc.compute()
    for n in window_sizes:
        want = reference_vc([v[0] for v in videos], [v[1] for v in videos], n)
        expected_windows = sum(
            sum(not math.isnan(x) for x in reference_vc_windows(g, p, n)) for g, p in videos
        )
        assert vc.windows[n] == expected_windows
        if want is None:
            assert got[n] is None
        else:
            assert abs(got[n] - want) <= TOL


def test_random_reference_cases_are_not_degenerate():
    # the randomized data above must exercise misses, ignores, partial VC and dropped windows
    videos = [v for seed in range(25) for v in random_dataset(seed)]
    frames = [(g, p) for gts, preds in videos for g, p in zip(gts, preds)]
    matrix, missed = reference_confusion(frames, 5)
    assert missed.sum() > 0 and np.trace(matrix) < matrix.sum()
    assert any((g == 255).any() for g, _ in frames)
    values = [x for g, p in videos for x in reference_vc_windows(g, p, 3)]
    assert any(math.isnan(x) for x in values)
    assert any(0 < x < 1 for x in values if not math.isnan(x))


# ---------------------------------------------------------------------------------------------
# (iv) merging and state round trips
# ---------------------------------------------------------------------------------------------


def test_merged_accumulators_equal_one_pass():
    videos = random_dataset(100) + random_dataset(101)
    whole_cm, whole_vc = ConfusionMatrix(5), run_vc(videos, (2, 8))
    for gts, preds in videos:
        for g, p in zip(gts, preds):
            whole_cm.update(g, p)
    half = len(videos) // 2
    parts = []
    for chunk in (videos[:half], videos[half:]):
        cm = ConfusionMatrix(5)
        for gts, preds in chunk:
            for g, p in zip(gts, preds):
                cm.update(g, p)
        parts.append((cm, run_vc(chunk, (2, 8))))
    (cm_a, vc_a), (cm_b, vc_b) = parts
    cm_a.merge(cm_b)
    vc_a.merge(vc_b)
    assert np.array_equal(cm_a.matrix, whole_cm.matrix) and np.array_equal(cm_a.missed, whole_cm.missed)
    assert vc_a.windows == whole_vc.windows
    for n in (2, 8):
        assert abs(vc_a.compute()[n] - whole_vc.compute()[n]) <= TOL


def test_confusion_state_round_trip():
    videos = random_dataset(7)
    cm = ConfusionMatrix(5)
    frames = [(g, p) for gts, preds in videos for g, p in zip(gts, preds)]
    for g, p in frames[: len(frames) // 2]:
        cm.update(g, p)
    state = json.loads(json.dumps(cm.state_dict()))  # as written in a result file
    restored = ConfusionMatrix.from_state(**state)
    assert restored.num_classes == 5
    assert np.array_equal(restored.matrix, cm.matrix) and np.array_equal(restored.missed, cm.missed)
    # the restored accumulator keeps counting like the original
    for g, p in frames[len(frames) // 2 :]:
        cm.update(g, p)
        restored.update(g, p)
    assert np.array_equal(restored.matrix, cm.matrix) and np.array_equal(restored.missed, cm.missed)
    matrix, missed = reference_confusion(frames, 5)
    assert np.array_equal(restored.matrix, matrix) and np.array_equal(restored.missed, missed)


def test_evaluator_merge_equals_single_evaluator():
    split = make_split([True, False, True, False, False])
    protocol = get_protocol("gzsl")
    videos = random_dataset(3) + random_dataset(4)

    def evaluate(chunk):
        ev = Evaluator(split, protocol, window_sizes=(2, 8))
        for gts, preds in chunk:
            ev.begin_video()
            for g, p in zip(gts, preds):
                ev.process(g, p)
            ev.end_video()
        return ev

    whole = evaluate(videos)
    first, second = evaluate(videos[:3]), evaluate(videos[3:])
    first.merge(second)
    assert (first.num_videos, first.num_frames) == (whole.num_videos, whole.num_frames)
    assert_scores_close(first.evaluate(), whole.evaluate())
    assert first.evaluate().keys() == whole.evaluate().keys()


# ---------------------------------------------------------------------------------------------
# (v) protocols
# ---------------------------------------------------------------------------------------------


SEEN = [True, False, True, False, False]  # seen {0, 2}, unseen {1, 3, 4}


def test_zsl_tables():
    split = make_split(SEEN)
    zsl = get_protocol("zsl")
    assert [c.id for c in zsl.vocabulary(split)] == [1, 3, 4]
    vocab = zsl.vocabulary_lut(split)
    assert vocab.dtype == U8 and vocab.shape == (256,)
    assert vocab[:3].tolist() == [1, 3, 4]
    assert (vocab[3:] == 255).all()  # indices outside the vocabulary are misses
    gt = zsl.gt_lut(split)
    assert gt[[0, 1, 2, 3, 4, 255]].tolist() == [255, 1, 255, 3, 4, 255]
    assert zsl.main_metric == "miou"


def test_gzsl_tables():
    split = make_split(SEEN)
    gzsl = get_protocol("gzsl")
    assert [c.id for c in gzsl.vocabulary(split)] == [0, 1, 2, 3, 4]
    assert gzsl.vocabulary_lut(split)[:6].tolist() == [0, 1, 2, 3, 4, 255]
    assert np.array_equal(gzsl.gt_lut(split), np.arange(256, dtype=U8))
    assert gzsl.main_metric == "hiou"
    with pytest.raises(OvbenchError):
        get_protocol("fewshot")


def test_zsl_hand_case_through_evaluator():
    split = make_split(SEEN)
    zsl = get_protocol("zsl")
    gt = a([[0, 1, 1, 3], [2, 4, 3, 255]])
    vocab_pred = a([[0, 0, 1, 1], [2, 2, 5, 0]])  # vocabulary indices; 5 is outside the vocabulary
    pred = zsl.vocabulary_lut(split)[vocab_pred]
    assert pred.tolist() == [[1, 1, 3, 3], [4, 4, 255, 1]]
    ev = Evaluator(split, zsl)
    ev.begin_video()
    ev.process(gt, pred)
    ev.end_video()
    # seen GT (0, 2) -> ignore: scored pairs (1,1) (1,3) (3,3) (4,4) (3,255 = miss)
    # GT totals: c1 = 2, c3 = 2, c4 = 1 (sum 5); prediction totals c1 = 1, c3 = 2, c4 = 1
    # IoU1 = 1/(2+1-1) = 1/2, IoU3 = 1/(2+2-1) = 1/3, IoU4 = 1/(1+1-1) = 1
    # mIoU = (1/2 + 1/3 + 1)/3 = 11/18; pixel acc = 3/5; FWIoU = 2/5*1/2 + 2/5*1/3 + 1/5*1 = 8/15
    m = ev.evaluate()
    assert_scores_close(
        m,
        {
            "miou": 1100 / 18,
            "miou_unseen": 1100 / 18,
            "miou_seen": None,
            "hiou": None,
            "pixel_acc": 60.0,
            "fwiou": 800 / 15,
            "per_class_iou": [None, 50.0, None, 100 / 3, 100.0],
            "mvc8": None,
            "mvc16": None,
        },
    )
    assert m[zsl.main_metric] == m["miou"]


def test_gzsl_hand_case_main_metric_is_hiou():
    split = make_split(SEEN)
    gzsl = get_protocol("gzsl")
    ev = Evaluator(split, gzsl)
    ev.begin_video()
    # classes 0 (seen) and 1 (unseen): pixels (0,0) (0,1) (1,1) (1,1)
    # IoU0 = 1/(2+1-1) = 1/2; IoU1 = 2/(2+3-2) = 2/3; seen = 50, unseen = 200/3 (classes 3, 4 absent)
    # hIoU = 2*50*(200/3)/(50 + 200/3) = (20000/3)/(350/3) = 400/7
    ev.process(a([[0, 0, 1, 1]]), a([[0, 1, 1, 1]]))
    ev.end_video()
    m = ev.evaluate()
    assert abs(m["miou_seen"] - 50.0) <= TOL and abs(m["miou_unseen"] - 200 / 3) <= TOL
    assert abs(m[gzsl.main_metric] - 400 / 7) <= TOL


# ---------------------------------------------------------------------------------------------
# (vi) Evaluator output
# ---------------------------------------------------------------------------------------------


def test_evaluator_keys_and_percent_scaling():
    split = make_split(SEEN)
    videos = random_dataset(11)
    for name in ("gzsl", "zsl"):
        protocol = get_protocol(name)
        ev = Evaluator(split, protocol)
        for gts, preds in videos:
            ev.begin_video()
            for g, p in zip(gts, preds):
                ev.process(g, p)
            ev.end_video()
        m = ev.evaluate()
        assert set(m) == {
            "miou", "miou_seen", "miou_unseen", "hiou", "fwiou", "pixel_acc", "per_class_iou", "mvc8", "mvc16",
            "macc", "macc_seen", "macc_unseen", "per_class_acc",
        }  # fmt: skip
        assert ev.num_videos == len(videos) and ev.num_frames == sum(len(g) for g, _ in videos)
        lut = protocol.gt_lut(split)
        frames = [(lut[g], p) for gts, preds in videos for g, p in zip(gts, preds)]
        seen_ids = () if protocol.unseen_only else split.seen_ids
        want = reference_scores(*reference_confusion(frames, 5), seen_ids, split.unseen_ids)
        if protocol.unseen_only:
            want.update(miou_seen=None, hiou=None, macc_seen=None)
        for n in (8, 16):
            vc = reference_vc([[lut[g] for g in gts] for gts, _ in videos], [p for _, p in videos], n)
            want[f"mvc{n}"] = None if vc is None else vc * 100  # fractions -> percent
        assert_scores_close(m, want)
        assert m["miou"] is not None and 0 <= m["miou"] <= 100
        for key in ("mvc8", "mvc16"):
            assert m[key] is None or 0 <= m[key] <= 100


# ---------------------------------------------------------------------------------------------
# files: the three-pass official-style evaluation against ovbench evaluate, on a tiny VSPW
# ---------------------------------------------------------------------------------------------


def test_vspw_remap_equals_dataset_encoding():
    raw = np.array([0, *range(1, 125), 255], dtype=U8)
    assert np.array_equal(vspw_remap(raw), VSPW._encoding.lut[raw])


def write_tiny_vspw(root, rng):
    (root / "data").mkdir(parents=True)
    names = ["vid_b", "vid_a", "vid_c"]
    (root / "val.txt").write_text("\n".join(names) + "\n")
    pred_root = root.parent / "pred"
    for name, length in zip(names, (20, 11, 8)):
        gts, _ = random_video(rng, length, (9, 13), 124)
        origin, mask = root / "data" / name / "origin", root / "data" / name / "mask"
        origin.mkdir(parents=True)
        mask.mkdir()
        for t, g in enumerate(gts):
            raw = np.where(g == 255, rng.choice([0, 255], size=g.shape), g.astype(int) + 1).astype(U8)
            stem = f"{t + 1:08d}"
            (origin / f"{stem}.jpg").write_bytes(b"")  # listed, never decoded by evaluate
            Image.fromarray(raw).save(mask / f"{stem}.png")
            pred = VSPW._encoding.lut[raw].copy()
            flip = rng.random(pred.shape) < 0.1
            pred[flip] = rng.choice([0, 5, 90, 124, 200, 255], size=int(flip.sum()))
            (pred_root / name).mkdir(parents=True, exist_ok=True)
            Image.fromarray(pred).save(pred_root / name / f"{stem}.png")
    return pred_root


@pytest.mark.parametrize("protocol_name", ["gzsl", "zsl"])
def test_three_pass_reference_matches_evaluate_predictions(tmp_path, protocol_name):
    rng = np.random.default_rng(5)
    root = tmp_path / "VSPW_480p"
    pred_root = write_tiny_vspw(root, rng)
    dataset = open_dataset("vspw", root, "val")
    split = load_split("vspw-80-44")
    protocol = get_protocol(protocol_name)
    result = evaluate_predictions(pred_root, dataset, split, protocol, RunConfig(workers=2, show_progress=False))
    gt_lut = protocol.gt_lut(split)[VSPW._encoding.lut]  # raw -> evaluation id -> protocol
    seen_ids = () if protocol.unseen_only else split.seen_ids
    ref = three_pass_evaluation(
        vspw_videos(root, "val"), pred_root, split.num_classes, seen_ids, split.unseen_ids, gt_lut=gt_lut
    )
    if protocol.unseen_only:
        ref.update(miou_seen=None, hiou=None)
    want = {k: v for k, v in ref.items() if k not in ("matrix", "missed", "pass_seconds")}
    assert ref["mvc8"] is not None and ref["mvc16"] is not None  # the 20- and 11-frame videos count
    assert_scores_close(result["metrics"], want)
    assert result["confusion_matrix"]["matrix"] == ref["matrix"].tolist()
    assert result["confusion_matrix"]["missed"] == ref["missed"].tolist()
    assert result["dataset"]["num_frames"] == 39 and result["dataset"]["num_videos"] == 3


def test_class_accuracy_by_hand():
    """Acc_c = TP_c / GT_c with unpredicted GT pixels as misses; classes without GT are not averaged."""
    from types import SimpleNamespace

    from ovbench.protocols import get_protocol

    matrix = np.array([[7, 2, 1], [1, 3, 0], [0, 0, 0]])  # class 2 is predicted once but has no GT
    missed = np.array([0, 1, 0])
    scores = segmentation_scores(matrix, missed, (0,), (1, 2))
    assert scores["per_class_acc"] == [70.0, 60.0, None]
    assert (scores["macc"], scores["macc_seen"], scores["macc_unseen"]) == pytest.approx((65.0, 70.0, 60.0), abs=1e-12)
    assert_scores_close(scores, reference_scores(matrix, missed, (0,), (1, 2)))
    zsl = get_protocol("zsl").scores(matrix, missed, SimpleNamespace(seen_ids=(0,), unseen_ids=(1, 2)))
    assert zsl["macc_seen"] is None and zsl["macc_unseen"] == 60.0
    perfect = segmentation_scores(np.diag([5, 3]), np.zeros(2), (0,), (1,))
    assert perfect["macc"] == 100.0 and perfect["per_class_acc"] == [100.0, 100.0]


@pytest.mark.parametrize("seed", range(40))
def test_a_perfect_prediction_scores_exactly_100(seed):
    """Every percentage of a perfect prediction is 100.0 exactly, so the result passes its own schema
    (FWIoU once summed to 100.00000000000003)."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 10**6, rng.integers(2, 40))
    scores = segmentation_scores(np.diag(counts), np.zeros(len(counts)), range(len(counts)), ())
    assert all(scores[k] == 100.0 for k in ("miou", "miou_seen", "fwiou", "pixel_acc", "macc", "macc_seen"))


def test_ovbench_evaluate_on_the_benchmarks_synthetic_vspw_equals_the_official_three_passes(tmp_path):
    """The data of benchmarks/evaluate_speed.py (moving regions, void edges, jittered predictions), small."""
    from ovbench.testing.synthetic import write_vspw

    root, pred = tmp_path / "VSPW_480p", tmp_path / "pred"
    names = write_vspw(root, videos=2, frames=18, height=48, width=80, seed=4, predictions=pred)
    dataset, split, protocol = open_dataset("vspw", root, "val"), load_split("vspw-80-44"), get_protocol("gzsl")
    result = evaluate_predictions(pred, dataset, split, protocol, RunConfig(workers=1, show_progress=False))
    videos = [(name, sorted((root / "data" / name / "mask").glob("*.png"))) for name in names]
    gt_lut = protocol.gt_lut(split)[vspw_remap(np.arange(256, dtype=np.uint8))]
    ref = three_pass_evaluation(videos, pred, split.num_classes, split.seen_ids, split.unseen_ids, gt_lut=gt_lut)
    assert result["confusion_matrix"]["matrix"] == ref["matrix"].tolist()
    for key in ("miou", "miou_seen", "miou_unseen", "hiou", "fwiou", "pixel_acc", "mvc8", "mvc16"):
        assert result["metrics"][key] == pytest.approx(ref[key], abs=1e-9), key
    assert result["metrics"]["mvc16"] is not None and 0 < result["metrics"]["miou"] < 100  # non-trivial data
