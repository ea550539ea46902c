"""End to end: models run through the registry, saved predictions scored by `ovbench evaluate`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from fixtures import make_camvid_sequences
from PIL import Image

from ovbench import registry
from ovbench.cli import cli
from ovbench.datasets import open_dataset
from ovbench.protocols import get_protocol
from ovbench.results import read_result
from ovbench.run import RunConfig, run_model
from ovbench.splits import load_split

for _name in ("Constant", "Flicker", "Reversed", "WrongShape", "Interrupted"):
    registry.register(f"toy-{_name.lower()}", f"toy_models:{_name}")

SIZE = (12, 16)  # H, W
VIDEOS = {"0001TP": 11, "0006R0": 3}


@pytest.fixture
def camvid(tmp_path):
    return make_camvid_sequences(tmp_path / "camvid", VIDEOS, SIZE)


def gt_histogram(root) -> np.ndarray:
    counts = np.zeros(256, dtype=np.int64)
    for p in sorted((root / "valannot").glob("*.png")):
        counts += np.bincount(np.asarray(Image.open(p)).ravel(), minlength=256)
    return counts[:11]


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def run_cli(camvid, out, model="toy-constant", *extra):
    return invoke("run", "--model", model, "--dataset", "camvid", "--data-root", camvid,
                  "--out", out, "--no-progress", *extra)  # fmt: skip


def test_constant_model_scores_equal_hand_count(camvid, tmp_path):
    out = tmp_path / "r.json"
    res = run_cli(camvid, out, "toy-constant", "--label", "3")
    assert res.exit_code == 0, res.output
    r = read_result(out)
    gt = gt_histogram(camvid)
    present = gt > 0
    iou = np.zeros(11)
    iou[3] = gt[3] / gt.sum()  # TP = GT_3, Pred_3 = every pixel
    m = r["metrics"]
    assert m["miou"] == pytest.approx(iou[present].mean() * 100, abs=1e-12)
    assert m["miou_seen"] == pytest.approx(iou[:7][present[:7]].mean() * 100, abs=1e-12)
    assert m["miou_unseen"] == 0.0
    assert m["hiou"] == 0.0 and r["main_score"] == 0.0 and r["main_metric"] == "hiou"
    assert m["pixel_acc"] == pytest.approx(gt[3] / gt.sum() * 100, abs=1e-12)
    # A constant prediction is stable wherever the GT is: every window scores 1.
    assert m["mvc8"] == 100.0
    assert m["mvc16"] is None  # no video has more than 16 frames
    assert r["dataset"]["num_videos"] == 2 and r["dataset"]["num_frames"] == 14
    prompts = r["model"]["options"].pop("prompts")  # recorded by the harness, one list per class asked for
    assert r["model"]["options"] == {"label": 3}  # the speed-only knob is not a score option
    assert r["model"]["random_weights"] is False
    assert prompts[4] == ["pavement", "sidewalk"] and len(prompts) == 11
    assert np.asarray(r["confusion_matrix"]["matrix"]).sum() == gt.sum()


def test_flickering_model_has_zero_consistency(camvid, tmp_path):
    res = run_cli(camvid, tmp_path / "r.json", "toy-flicker")
    assert res.exit_code == 0, res.output
    assert read_result(tmp_path / "r.json")["metrics"]["mvc8"] == 0.0


def test_zsl_asks_for_unseen_names_and_ignores_seen_pixels(camvid):
    ds, split = open_dataset("camvid", camvid, "val"), load_split("camvid-7-4")
    model = registry.get_model_class("toy-constant")(label=1)  # vocabulary index 1 = Car (id 8)
    r = run_model(model, "toy-constant", ds, split, get_protocol("zsl"), RunConfig(show_progress=False))
    gt = gt_histogram(camvid)
    unseen = gt[7:]
    expected = np.where(np.arange(7, 11) == 8, unseen / unseen.sum(), 0.0)
    assert r["metrics"]["miou"] == pytest.approx(expected[unseen > 0].mean() * 100, abs=1e-12)
    assert r["metrics"]["miou_seen"] is None and r["metrics"]["hiou"] is None
    assert r["main_metric"] == "miou"
    assert np.asarray(r["confusion_matrix"]["matrix"])[:7].sum() == 0


def test_saved_predictions_evaluate_to_the_same_result(camvid, tmp_path):
    pred = tmp_path / "pred"
    assert run_cli(camvid, tmp_path / "run.json", "toy-constant", "--label", "5",
                   "--save-predictions", pred).exit_code == 0  # fmt: skip
    assert sorted(p.name for p in pred.iterdir()) == ["0001TP", "0006R0"]
    res = invoke("evaluate", "--dataset", "camvid", "--data-root", camvid, "--predictions", pred,
                 "--out", tmp_path / "eval.json", "--no-progress")  # fmt: skip
    assert res.exit_code == 0, res.output
    a, b = read_result(tmp_path / "run.json"), read_result(tmp_path / "eval.json")
    assert a["metrics"] == b["metrics"]
    assert a["confusion_matrix"] == b["confusion_matrix"]
    assert a["dataset"]["fingerprint"] == b["dataset"]["fingerprint"]


def test_random_weights_are_a_declared_field_that_every_table_flags(camvid, tmp_path):
    """The model says whether its weights are random; the weights identifier's text plays no part."""
    smoke, real = tmp_path / "smoke.json", tmp_path / "real.json"
    assert run_cli(camvid, smoke, "toy-constant", "--untrained").exit_code == 0
    assert run_cli(camvid, real, "toy-constant", "--label", "2").exit_code == 0
    assert read_result(smoke)["model"]["random_weights"] is True
    r = json.loads(real.read_text())
    r["model"]["weights"] = "random-init, said the weights string"
    real.write_text(json.dumps(r))
    out = invoke("compare", smoke, real).output
    assert "> note: random weights (smoke runs; their numbers are meaningless): toy-constant (label=0)\n" in out


def _predictions(camvid, tmp_path):
    pred = tmp_path / "pred"
    assert run_cli(camvid, tmp_path / "run.json", "toy-constant", "--save-predictions", pred).exit_code == 0
    return pred


def _evaluate(camvid, pred, out):
    return invoke("evaluate", "--dataset", "camvid", "--data-root", camvid, "--predictions", pred, "--out", out,
                  "--no-progress")  # fmt: skip


def test_missing_predictions_are_listed_and_nothing_is_written(camvid, tmp_path):
    pred = _predictions(camvid, tmp_path)
    (pred / "0001TP" / "0001TP_00003.png").unlink()
    (pred / "0006R0" / "0006R0_00000.png").unlink()
    res = _evaluate(camvid, pred, tmp_path / "e.json")
    assert res.exit_code == 2
    assert "2 of 14 predictions missing" in res.output
    assert "0001TP/0001TP_00003.png" in res.output and "0006R0/0006R0_00000.png" in res.output
    assert "Traceback" not in res.output
    assert not (tmp_path / "e.json").exists()


def test_unreadable_and_wrong_size_predictions_are_listed(camvid, tmp_path):
    pred = _predictions(camvid, tmp_path)
    truncated = pred / "0001TP" / "0001TP_00004.png"
    truncated.write_bytes(truncated.read_bytes()[:40])
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(pred / "0006R0" / "0006R0_00001.png")
    res = _evaluate(camvid, pred, tmp_path / "e.json")
    assert res.exit_code == 2
    assert "2 unreadable predictions" in res.output
    assert "0001TP_00004.png" in res.output and "0006R0_00001.png: prediction is 5x5, mask is 16x12" in res.output
    assert not (tmp_path / "e.json").exists()


def test_existing_result_is_kept_without_overwrite(camvid, tmp_path):
    out = tmp_path / "r.json"
    out.write_text("precious")
    res = run_cli(camvid, out)
    assert res.exit_code == 2 and "--on-existing overwrite" in res.output
    assert out.read_text() == "precious"
    pred = _predictions(camvid, tmp_path)
    res = _evaluate(camvid, pred, out)
    assert res.exit_code == 2 and f"{out} exists; pass --on-existing overwrite" in res.output
    assert out.read_text() == "precious"
    res = invoke("evaluate", "--dataset", "camvid", "--data-root", camvid, "--predictions", pred, "--out", out,
                 "--no-progress", "--on-existing", "overwrite")  # fmt: skip
    assert res.exit_code == 0, res.output
    assert read_result(out)["model"]["name"] == "pred"
    res = invoke("evaluate", "--dataset", "camvid", "--data-root", camvid, "--predictions", pred, "--out", out,
                 "--on-existing", "resume")  # fmt: skip
    assert res.exit_code == 2 and "'resume' is not one of 'refuse', 'overwrite'" in res.output


def test_interrupted_run_leaves_the_old_result_untouched(camvid, tmp_path):
    out = tmp_path / "r.json"
    out.write_text("precious")
    res = run_cli(camvid, out, "toy-interrupted", "--overwrite")
    assert res.exit_code == 130 and "interrupted; no result was written" in res.output
    assert out.read_text() == "precious"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".r.json")] == []


@pytest.mark.parametrize(
    ("model", "message"),
    [("toy-reversed", "predictions must follow video.scored_indices in order"),
     ("toy-wrongshape", "expected integers of shape (12, 16)")],
)  # fmt: skip
def test_plugin_contract_violations_are_explained(camvid, tmp_path, model, message):
    res = run_cli(camvid, tmp_path / "r.json", model)
    assert res.exit_code == 2 and message in res.output and "Traceback" not in res.output
    assert not (tmp_path / "r.json").exists()


def test_max_videos_and_frames_are_applied_and_recorded(camvid, tmp_path):
    out = tmp_path / "r.json"
    assert run_cli(camvid, out, "toy-constant", "--max-videos", "1", "--max-frames", "9").exit_code == 0
    d = read_result(out)["dataset"]
    assert (d["num_videos"], d["num_frames"], d["max_videos"], d["max_frames"]) == (1, 9, 1, 9)
    assert read_result(out)["metrics"]["mvc8"] == 100.0  # 9 frames, n=8: exactly one window


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--protocol", "bogus"], "Invalid value for '--protocol'"),
     (["--split", "nope"], "--split 'nope' is unknown"),
     (["--split", "vspw-80-44"], "split 'vspw-80-44' is for dataset 'vspw'"),
     (["--subset", "dev"], "--subset 'dev'"),
     (["--max-frames", "0"], "--max-frames must be at least 1"),
     (["--device", "tpu"], "--device 'tpu'")],
)  # fmt: skip
def test_bad_options_give_one_clear_line(camvid, tmp_path, args, message):
    res = run_cli(camvid, tmp_path / "r.json", "toy-constant", *args)
    assert res.exit_code == 2, res.output
    assert message in res.output and "Traceback" not in res.output


def test_result_records_environment_and_split(camvid, tmp_path):
    out = tmp_path / "r.json"
    run_cli(camvid, out)
    r = json.loads(out.read_text())
    assert r["split"]["name"] == "camvid-7-4" and r["split"]["hash"] == load_split("camvid-7-4").hash
    assert r["split"]["seen"] == [True] * 7 + [False] * 4
    assert r["environment"]["device"] == "cpu" and r["protocol"] == "gzsl"
    assert r["timing"]["wall_s"] >= 0 and len(r["dataset"]["fingerprint"]) == 16


REAL_CAMVID = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "camvid"


@pytest.mark.skipif(not REAL_CAMVID.is_dir(), reason="real CamVid copy not present at ../shared/data/camvid")
def test_real_camvid_val_constant_model_equals_direct_count(tmp_path):
    out = tmp_path / "r.json"
    res = run_cli(REAL_CAMVID, out, "toy-constant", "--label", "3", "--max-frames", "20")
    assert res.exit_code == 0, res.output
    r = read_result(out)
    frames = sorted((REAL_CAMVID / "valannot").glob("0016E5_*.png"))[:20]
    gt = np.zeros(256, dtype=np.int64)
    for p in frames:
        gt += np.bincount(np.asarray(Image.open(p)).ravel(), minlength=256)
    gt = gt[:11]
    present = gt > 0
    iou = np.where(np.arange(11) == 3, gt[3] / gt.sum(), 0.0)
    assert r["dataset"]["num_frames"] == 20 and r["dataset"]["num_videos"] == 1
    assert r["metrics"]["miou"] == pytest.approx(iou[present].mean() * 100, abs=1e-12)
    assert r["metrics"]["mvc8"] == 100.0 and r["metrics"]["mvc16"] == 100.0


def _unchanged(path: Path):
    before = path.read_bytes()
    return lambda: path.read_bytes() == before


def test_no_output_replaces_an_input_whatever_the_flags(camvid, tmp_path):
    """Result files given to compare, the split file, the dataset's files and saved predictions are inputs."""
    import os

    pred = _predictions(camvid, tmp_path)
    result = tmp_path / "run.json"
    twin = tmp_path / "twin.json"
    os.link(result, twin)  # the same file under another name
    split = tmp_path / "split.yaml"
    split.write_text((Path(__file__).parents[1] / "ovbench" / "splits" / "camvid-7-4.yaml").read_text())
    png = next((pred / "0001TP").iterdir())
    listed = next(p for p in sorted(camvid.rglob("*")) if p.is_file())
    cases = [
        (["compare", result, "--out", result], result, "the result file"),
        (["compare", result, "--out", twin], twin, "the result file"),
        (["evaluate", "--dataset", "camvid", "--data-root", camvid, "--split", split, "--predictions", pred,
          "--on-existing", "overwrite", "--out", split], split, "the split file"),
        (["evaluate", "--dataset", "camvid", "--data-root", camvid, "--predictions", pred, "--overwrite",
          "--out", png], png, "a file of the predictions folder"),
        (["run", "--model", "toy-constant", "--dataset", "camvid", "--data-root", camvid, "--on-existing", "overwrite",
          "--no-progress", "--out", listed], listed, "a file of the dataset folder"),
        (["plot", "qualitative", "--dataset", "camvid", "--data-root", camvid, "--pred", pred, "--out", png.parent,
          "--name", png.stem, "--formats", "png"], png, "a file of the predictions folder"),
    ]  # fmt: skip
    for args, target, what in cases:
        same = _unchanged(target)
        res = invoke(*args)
        assert res.exit_code == 2, (args, res.output)
        assert f"{target}: writing it would replace {what}" in res.output and "an input of this command" in res.output
        assert same(), args
    res = invoke("evaluate", "--dataset", "camvid", "--data-root", camvid, "--predictions", pred, "--out",
                 pred / "scores.json", "--no-progress")  # fmt: skip
    assert res.exit_code == 0, res.output  # a new file beside the inputs replaces nothing
