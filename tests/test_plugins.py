"""The plugin interface: registry resolution, broken plugins, option parsing, the example package."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from ovbench import registry
from ovbench.cli import cli
from ovbench.errors import OvbenchError
from ovbench.models import Option, parse_option_args, resolve_options
from ovbench.protocols import get_protocol
from ovbench.results import read_result
from ovbench.splits import load_split

ROOT = Path(__file__).resolve().parents[1]
OPTIONS = (
    Option("size", 336, "short side"),
    Option("scale", 40.0),
    Option("pamr", False),
    Option("templates", "imagenet80", choices=("imagenet80", "single")),
)


def test_option_args_parse_every_form():
    args = ["--size", "224", "--scale=50", "--pamr", "--templates", "single"]
    assert parse_option_args(OPTIONS, args) == {"size": 224, "scale": 50.0, "pamr": True, "templates": "single"}
    assert parse_option_args(OPTIONS, ["--no-pamr"]) == {"pamr": False}
    assert parse_option_args(OPTIONS, ["--pamr=false"]) == {"pamr": False}


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--size", "big"], "--size: 'big' is not a valid int"),
     (["--templates", "all"], "--templates: 'all' is not one of imagenet80, single"),
     (["--size"], "--size needs a value"),
     (["--no-size"], "unknown option '--no-size'"),
     (["--colour", "red"], "its options: --size, --scale, --pamr, --templates")],
)  # fmt: skip
def test_bad_option_args_name_the_option(args, message):
    with pytest.raises(OvbenchError, match=message.replace("(", r"\(")):
        parse_option_args(OPTIONS, args)


def test_defaults_fill_unset_options_and_unknown_names_fail():
    assert resolve_options(OPTIONS, {"size": 560}) == {"size": 560, "scale": 40.0, "pamr": False, "templates": "imagenet80"}
    with pytest.raises(OvbenchError, match="unknown model option"):
        resolve_options(OPTIONS, {"stride": 112})


def test_unknown_model_lists_known_ones():
    registry.register("toy-constant", "toy_models:Constant")
    with pytest.raises(OvbenchError, match=r"--model 'nope' is unknown; known models: .*toy-constant"):
        registry.get_model_class("nope")


def test_broken_plugin_breaks_only_its_own_name():
    registry.register("toy-broken", "broken_plugin:Model")
    registry.register("toy-notamodel", "toy_models:NotAModel")
    registry.register("toy-constant", "toy_models:Constant")
    with pytest.raises(OvbenchError, match=r"'toy-broken' \(broken_plugin:Model, from register\(\)\) failed to load: "
                                           r"ImportError: No module named 'some_missing_dependency'"):  # fmt: skip
        registry.get_model_class("toy-broken")
    with pytest.raises(OvbenchError, match="is not a subclass of ovbench.models.VideoModel"):
        registry.get_model_class("toy-notamodel")
    res = CliRunner().invoke(cli, ["list", "models"])
    assert res.exit_code == 0
    assert "toy-broken  [broken]" in res.output
    assert "toy-constant  (register())" in res.output and "--label  default 0" in res.output
    assert "--batch  default 1 (speed only)" in res.output


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory):
    """The example plugin installed, as a user would, into a folder of its own."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(ROOT / "examples" / "plugin")],
        check=True, capture_output=True,
    )  # fmt: skip
    return target


def _ovbench(site, *args, cwd):
    env = dict(os.environ, PYTHONPATH=str(site))
    return subprocess.run([sys.executable, "-m", "ovbench", *map(str, args)], env=env, cwd=cwd,
                          capture_output=True, text=True)  # fmt: skip


def test_example_plugin_installs_and_runs(plugin_site, tmp_path):
    from fixtures import make_camvid_sequences

    listed = _ovbench(plugin_site, "list", "models", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "colour-prototypes  (ovbench-example-plugin)" in listed.stdout
    assert "--smooth  default False" in listed.stdout
    camvid = make_camvid_sequences(tmp_path / "camvid", {"0001TP": 11, "0006R0": 3})
    runs = {}
    for smooth in ("--no-smooth", "--smooth"):
        out = tmp_path / f"{smooth}.json"
        done = _ovbench(plugin_site, "run", "--model", "colour-prototypes", "--dataset", "camvid", "--data-root",
                        camvid, "--out", out, "--downsample", "2", smooth, "--no-progress", cwd=tmp_path)  # fmt: skip
        assert done.returncode == 0, done.stderr
        runs[smooth] = read_result(out)
    prompts = [list(c.prompts) for c in load_split("camvid-7-4").classes]  # recorded by the harness
    assert runs["--smooth"]["model"] == {"name": "colour-prototypes", "weights": None, "random_weights": False,
                                         "options": {"downsample": 2, "smooth": True, "prompts": prompts}}  # fmt: skip
    assert runs["--smooth"]["metrics"] != runs["--no-smooth"]["metrics"]  # the option reaches the model


# --------------------------------------------------------------------------- a dataset in one file

TINY_SPLIT = """schema: ovbench-split/1
name: tiny-1-1
dataset: tiny
classes:
  - {id: 0, name: sky, seen: true}
  - {id: 1, name: car, prompts: [car, automobile], seen: false}
"""


def _tiny_data(root: Path) -> np.ndarray:
    """Two videos of 3 frames (the last of video b without a mask); returns the GT pixel counts of 0, 1, 255."""
    from fixtures import write_png

    rng = np.random.default_rng(5)
    counts = np.zeros(3, dtype=np.int64)
    for video, masked in (("a", (True, True, True)), ("b", (True, True, False))):
        for k, has_mask in enumerate(masked):
            write_png(root / "val" / video / f"{k:03d}.png", rng.integers(0, 255, (6, 8, 3), dtype=np.uint8))
            if has_mask:
                gt = rng.choice(np.array([0, 1, 255], dtype=np.uint8), size=(6, 8), p=[0.5, 0.3, 0.2])
                write_png(root / "val" / video / "gt" / f"{k:03d}.png", gt)
                counts += [(gt == 0).sum(), (gt == 1).sum(), (gt == 255).sum()]
    return counts


def _tiny_setup(tmp_path: Path, monkeypatch) -> tuple[np.ndarray, Path]:
    """The tiny dataset plugin installed, its data and split written, toy-constant registered: (GT counts, split)."""
    monkeypatch.setenv("OVBENCH_EXTRA_DATASETS", "tiny=tiny_dataset:TinyVideos")
    registry.register("toy-constant", "toy_models:Constant")
    counts = _tiny_data(tmp_path / "data" / "tiny")
    split = tmp_path / "tiny-1-1.yaml"
    split.write_text(TINY_SPLIT)
    return counts, split


def test_a_dataset_registered_in_one_file_runs_end_to_end(tmp_path, monkeypatch):
    counts, split = _tiny_setup(tmp_path, monkeypatch)
    invoke = CliRunner().invoke

    listed = invoke(cli, ["list", "datasets"])
    assert "tiny  2 classes, default split (none)  [$OVBENCH_EXTRA_DATASETS]" in listed.output
    assert "camvid  11 classes, default split camvid-7-4\n" in listed.output

    base = ["--dataset", "tiny", "--data-root", str(tmp_path / "data"), "--no-progress"]  # the parent folder
    res = invoke(cli, ["run", "--model", "toy-constant", "--label", "1", *base, "--out", str(tmp_path / "r.json")])
    assert res.exit_code == 2 and "--dataset 'tiny' declares no default split; pass --split" in res.output
    pred = tmp_path / "pred"
    res = invoke(cli, ["run", "--model", "toy-constant", "--label", "1", *base, "--split", str(split),
                       "--save-predictions", str(pred), "--out", str(tmp_path / "r.json")])  # fmt: skip
    assert res.exit_code == 0, res.output
    res = invoke(cli, ["evaluate", "--predictions", str(pred), *base, "--split", str(split),
                       "--out", str(tmp_path / "e.json")])  # fmt: skip
    assert res.exit_code == 0, res.output

    car_iou = counts[1] / (counts[0] + counts[1])  # every valid pixel predicted car; sky IoU is 0
    for name in ("r.json", "e.json"):
        r = read_result(tmp_path / name)
        assert r["dataset"]["name"] == "tiny" and r["split"]["name"] == "tiny-1-1"
        assert r["metrics"]["miou"] == pytest.approx(car_iou / 2 * 100, abs=1e-12)
        assert r["metrics"]["miou_unseen"] == pytest.approx(car_iou * 100, abs=1e-12)
        assert r["metrics"]["miou_seen"] == 0.0 and r["metrics"]["hiou"] == 0.0
        assert np.asarray(r["confusion_matrix"]["matrix"]).tolist() == [[0, counts[0]], [0, counts[1]]]
    assert sorted(p.relative_to(pred).as_posix() for p in pred.rglob("*.png")) == [
        "a/000.png", "a/001.png", "a/002.png", "b/000.png", "b/001.png"]  # fmt: skip

    from ovbench import plots

    assert [tuple(c) for c in plots.palette("tiny", 2)[:2]] == [(10, 20, 30), (200, 100, 50)]  # its own colours


def test_a_protocol_registered_in_one_file_ranks_scores_and_tables_by_its_own_columns(tmp_path, monkeypatch):
    monkeypatch.setenv("OVBENCH_EXTRA_PROTOCOLS", "gzsl-fw=tiny_protocol:FREQUENCY")
    counts, split = _tiny_setup(tmp_path, monkeypatch)
    invoke = CliRunner().invoke

    listed = invoke(cli, ["list", "protocols"])
    assert "gzsl-fw  main score fwiou: every class asked for and scored, ranked by FWIoU  [$OVBENCH_EXTRA_PROTOCOLS]" in listed.output
    assert "zsl  main score miou: " in listed.output
    out = tmp_path / "r.json"
    res = invoke(cli, ["run", "--model", "toy-constant", "--label", "1", "--dataset", "tiny", "--data-root",
                       str(tmp_path / "data"), "--split", str(split), "--protocol", "gzsl-fw", "--no-progress",
                       "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output

    total = counts[0] + counts[1]
    car_iou = counts[1] / total  # every valid pixel predicted car
    r = read_result(out)
    assert r["protocol"] == "gzsl-fw" and r["main_metric"] == "fwiou"
    assert r["main_score"] == pytest.approx(counts[1] / total * car_iou * 100, abs=1e-12)  # Σ GT_c·IoU_c / ΣGT
    assert r["metrics"]["pixel_acc"] == pytest.approx(car_iou * 100, abs=1e-12)
    table = invoke(cli, ["compare", str(out)])
    assert table.exit_code == 0, table.output
    header = next(line for line in table.output.splitlines() if line.startswith("| Model"))
    assert [c.strip() for c in header.strip("|").split("|")][:4] == ["Model", "FWIoU", "mIoU", "pAcc"]

    monkeypatch.delenv("OVBENCH_EXTRA_PROTOCOLS")  # the result names a protocol no longer installed
    res = invoke(cli, ["compare", str(out)])
    assert res.exit_code != 0 and "protocol: 'gzsl-fw' is not one of ['gzsl', 'zsl']" in res.output


def test_a_misnamed_or_wrong_protocol_plugin_is_one_clear_error(monkeypatch):
    monkeypatch.setenv("OVBENCH_EXTRA_PROTOCOLS", "other=tiny_protocol:MISNAMED,toy=toy_models:Constant")
    with pytest.raises(OvbenchError, match="protocol 'other' is registered to a Protocol named 'something-else'"):
        get_protocol("other")
    with pytest.raises(OvbenchError, match="toy_models:Constant is not an ovbench.protocols.Protocol instance"):
        get_protocol("toy")
    res = CliRunner().invoke(cli, ["run", "--model", "x", "--dataset", "camvid", "--protocol", "fewshot"])
    assert res.exit_code == 2
    assert "Invalid value for '--protocol': 'fewshot' is unknown; known protocols: gzsl, other, toy, zsl" in res.output


def test_a_misnamed_or_wrong_dataset_plugin_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("OVBENCH_EXTRA_DATASETS", "other=tiny_dataset:Misnamed,toy=toy_models:Constant")
    base = ["--data-root", str(tmp_path)]
    res = CliRunner().invoke(cli, ["check", "--dataset", "other", *base])
    assert res.exit_code == 2
    assert "--dataset 'other': the registered class tiny_dataset.Misnamed is named 'something-else'" in res.output
    res = CliRunner().invoke(cli, ["check", "--dataset", "toy", *base])
    assert res.exit_code == 2 and "toy_models:Constant is not a subclass of ovbench.datasets.Dataset" in res.output
    res = CliRunner().invoke(cli, ["check", "--dataset", "nope", *base])
    assert res.exit_code == 2 and "'nope' is unknown; known datasets: camvid, cityscapes, other, toy, vspw" in res.output


def test_a_report_format_registered_in_one_file_writes_every_table_of_compare(tmp_path, monkeypatch):
    import json

    monkeypatch.setenv("OVBENCH_EXTRA_REPORT_FORMATS", "jsonl=tiny_report_format:FORMAT")
    counts, split = _tiny_setup(tmp_path, monkeypatch)
    invoke = CliRunner().invoke
    assert "jsonl  one JSON object per table row  [$OVBENCH_EXTRA_REPORT_FORMATS]" in invoke(cli, ["list", "formats"]).output
    out = tmp_path / "r.json"
    res = invoke(cli, ["run", "--model", "toy-constant", "--label", "1", "--dataset", "tiny", "--data-root",
                       str(tmp_path / "data"), "--split", str(split), "--no-progress", "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output

    res = invoke(cli, ["compare", "--format", "jsonl", str(out)])
    assert res.exit_code == 0, res.output
    (row,) = map(json.loads, res.output.splitlines())
    car_iou = counts[1] / (counts[0] + counts[1]) * 100  # every valid pixel predicted car
    assert row["Dataset"] == "tiny" and row["Protocol"] == "gzsl" and row["Model"] == "toy-constant"
    assert row["mIoU"] == pytest.approx(car_iou / 2, abs=1e-12) and row["hIoU"] == 0.0
    assert row["Frames"] == read_result(out)["dataset"]["num_frames"]
    res = invoke(cli, ["compare", "--format", "jsonl", "--per-class", str(out)])  # one kind of table: long form
    rows = [json.loads(line) for line in res.output.splitlines()]
    assert [(r["Class"], r["Set"], r["IoU"]) for r in rows] == [("sky", "seen", 0.0), ("car", "unseen", car_iou)]
    res = invoke(cli, ["compare", "--format", "jsonl", "--per-class", "--reported", str(out)])
    assert res.exit_code == 2 and "--format jsonl holds one kind of table: pass --per-class or --reported" in res.output

    monkeypatch.setenv("OVBENCH_EXTRA_REPORT_FORMATS", "jsonl=tiny_report_format:_lines")
    res = invoke(cli, ["compare", "--format", "jsonl", str(out)])
    assert res.exit_code == 2 and "tiny_report_format:_lines is not an ovbench.reports.formats.ReportFormat" in res.output
    res = invoke(cli, ["compare", "--format", "docx", str(out)])
    assert res.exit_code == 2 and "'docx' is unknown; known report formats: csv, html, jsonl, latex, markdown" in res.output


def test_a_figure_registered_in_one_file_is_a_plot_command_and_part_of_plot_all(tmp_path, monkeypatch):
    monkeypatch.setenv("OVBENCH_EXTRA_FIGURES", "main-scores=tiny_figure:FIGURE")
    _, split = _tiny_setup(tmp_path, monkeypatch)
    invoke = CliRunner().invoke
    listed = invoke(cli, ["list", "figures"]).output
    assert "main-scores  every result's main score as one bar  [$OVBENCH_EXTRA_FIGURES]" in listed
    assert "main-scores  every result's main score as one bar" in invoke(cli, ["plot", "--help"]).output
    out = tmp_path / "r.json"
    res = invoke(cli, ["run", "--model", "toy-constant", "--label", "1", "--dataset", "tiny", "--data-root",
                       str(tmp_path / "data"), "--split", str(split), "--protocol", "zsl", "--no-progress",
                       "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    score = read_result(out)["main_score"]

    res = invoke(cli, ["plot", "main-scores", str(out), "--out", str(tmp_path / "fig"), "--formats", "svg"])
    assert res.exit_code == 0, res.output
    assert f"score {score:.2f}" in (tmp_path / "fig" / "main-scores.svg").read_text()  # svg keeps text as text
    res = invoke(cli, ["plot", "all", str(out), "--out", str(tmp_path / "all"), "--formats", "png"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "all" / "main-scores.png").is_file()
    assert "skipped seen-unseen: the seen-unseen plot needs results that score seen and unseen" in res.output

    monkeypatch.setenv("OVBENCH_EXTRA_FIGURES", "main-scores=tiny_figure:main_scores")
    res = invoke(cli, ["plot", "main-scores", str(out), "--out", str(tmp_path / "fig")])
    assert res.exit_code == 2 and "tiny_figure:main_scores is not an ovbench.plots.figure.ResultFigure" in res.output


def _video_accuracy_by_hand(root: Path, label: int) -> float:
    """Mean over videos of (GT pixels equal to ``label``) / (GT pixels not ignored), from the mask files."""
    from PIL import Image

    accuracies = []
    for video in sorted((root / "val").iterdir()):
        masks = [np.asarray(Image.open(p)) for p in sorted((video / "gt").glob("*.png"))]
        valid = sum(int((m != 255).sum()) for m in masks)
        accuracies.append(sum(int((m == label).sum()) for m in masks) / valid)
    return float(np.mean(accuracies) * 100)


def test_a_metric_registered_in_one_file_is_computed_resumed_and_tabled(tmp_path, monkeypatch):
    from ovbench.api import Protocol

    monkeypatch.setenv("OVBENCH_EXTRA_METRICS", "video-acc=tiny_metric:VideoAccuracy")
    registry.PROTOCOLS.register("gzsl-vacc", Protocol("gzsl-vacc", "video_acc", unseen_only=False,
                                                      columns=("video_acc", "miou")))  # fmt: skip
    _, split = _tiny_setup(tmp_path, monkeypatch)
    invoke = CliRunner().invoke
    assert "video-acc  video_acc (vAcc): Pixel accuracy of each video, averaged over videos." in invoke(
        cli, ["list", "metrics"]).output  # fmt: skip
    out = tmp_path / "r.json"
    run = ["run", "--model", "toy-constant", "--label", "1", "--dataset", "tiny", "--data-root", str(tmp_path / "data"),
           "--split", str(split), "--protocol", "gzsl-vacc", "--no-progress", "--out", str(out)]  # fmt: skip
    res = invoke(cli, [*run, "--keep-partials"])
    assert res.exit_code == 0, res.output
    first = read_result(out)
    expected = _video_accuracy_by_hand(tmp_path / "data" / "tiny", label=1)
    assert first["metrics"]["video_acc"] == pytest.approx(expected, abs=1e-12)
    assert first["main_metric"] == "video_acc" and first["main_score"] == first["metrics"]["video_acc"]
    # every video from its partial file: the plugin's states round-trip through JSON exactly
    res = invoke(cli, [*run, "--resume", "--overwrite"])
    assert res.exit_code == 0, res.output
    again = read_result(out)
    assert again["timing"]["resumed_videos"] == 2 and again["metrics"] == first["metrics"]
    header = next(line for line in invoke(cli, ["compare", str(out)]).output.splitlines() if line.startswith("| Model"))
    assert [c.strip() for c in header.strip("|").split("|")][:3] == ["Model", "vAcc", "mIoU"]

    monkeypatch.setenv("OVBENCH_EXTRA_METRICS", "video-acc=tiny_metric:Clashing")
    res = invoke(cli, [*run, "--overwrite"])
    assert res.exit_code == 2 and "metric 'video-acc' returns miou, which ovbench computes itself" in res.output
    monkeypatch.setenv("OVBENCH_EXTRA_METRICS", "video-acc=tiny_metric:nothing")
    res = invoke(cli, [*run, "--overwrite"])
    assert res.exit_code == 2 and "metric 'video-acc'" in res.output and "tiny_metric" in res.output
