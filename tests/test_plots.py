"""`ovbench plot`: every figure kind rendered from generated result files and saved predictions."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from fixtures import make_camvid, write_png
from ovbench import plots
from ovbench.cli import cli
from ovbench.datasets.camvid import COLORS as CAMVID_COLORS
from ovbench.datasets.cityscapes import COLORS as CITYSCAPES_COLORS
from ovbench.reports import load_results
from result_factory import make_result

GRID = ({}, {"stf": True}, {"stf": True, "rfe": True}, {"stf": True, "rfe": True, "vte": True})
BASELINES = ("clip", "maskclip", "sclip", "clearclip", "naclip")


def write(folder: Path, name: str, result: dict) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(result))
    return str(path)


def with_vc(result: dict, mvc8: float, mvc16: float | None) -> dict:
    result["metrics"].update(mvc8=mvc8, mvc16=mvc16)
    return result


@pytest.fixture
def ablation_files(tmp_path):
    """The ov2vss-lite module grid on VSPW (gzsl and zsl); the modules-off run has no mVC16."""
    files = []
    for i, on in enumerate(GRID[1:], start=1):
        options = {"stf": False, "rfe": False, "vte": False, **on}
        for protocol in ("gzsl", "zsl"):
            r = make_result("ov2vss-lite", protocol=protocol, split="vspw-80-44", options=options, seed=10 + i)
            files.append(write(tmp_path / "ablation", f"ov2vss-{i}-{protocol}", with_vc(r, 70 + 4 * i, 64 + 4 * i)))
    for protocol in ("gzsl", "zsl"):
        r = make_result("ov2vss-lite", protocol=protocol, split="vspw-80-44", seed=10,
                        options={"stf": False, "rfe": False, "vte": False})
        files.append(write(tmp_path / "ablation", f"catseg-{protocol}", with_vc(r, 68.0, None)))
    return files


@pytest.fixture
def baseline_files(tmp_path):
    """Five models on CamVid gzsl (with mVC) and one zsl result."""
    files = [
        write(tmp_path / "baselines", m, with_vc(make_result(m, seed=20 + i), 60 + 5 * i, 52 + 6 * i))
        for i, m in enumerate(BASELINES)
    ]
    files.append(write(tmp_path / "baselines", "zsl", with_vc(make_result("sclip", protocol="zsl", seed=3), 75, 70)))
    return files


def plot(*args):
    return CliRunner().invoke(cli, ["plot", *map(str, args)], catch_exceptions=False)


def assert_figure_files(out: Path, stem: str, min_size=(400, 250)) -> np.ndarray:
    """PNG and PDF exist and are real, non-blank figures; returns the PNG pixels."""
    png, pdf = out / f"{stem}.png", out / f"{stem}.pdf"
    assert png.stat().st_size > 5_000 and pdf.stat().st_size > 5_000
    assert pdf.read_bytes().startswith(b"%PDF-")
    with Image.open(png) as im:
        assert im.format == "PNG" and im.width >= min_size[0] and im.height >= min_size[1]
        pixels = np.asarray(im.convert("RGB"))
    packed = pixels[..., 0].astype(np.uint32) << 16 | pixels[..., 1].astype(np.uint32) << 8 | pixels[..., 2]
    assert len(np.unique(packed)) > 20, "figure is (nearly) blank"
    assert (pixels < 128).any(axis=2).mean() > 0.005, "no dark ink (text, axes) on the figure"
    assert not list(out.glob(".*.part")), "temporary files left behind"
    return pixels


def has_colour(pixels: np.ndarray, rgb, at_least: int = 50) -> bool:
    return int((pixels == np.asarray(rgb, dtype=np.uint8)).all(axis=2).sum()) >= at_least


def hex_rgb(colour: str) -> tuple[int, ...]:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))


# --------------------------------------------------------------------------- every kind, through the CLI


@pytest.mark.parametrize("kind", ["ablation", "seen-unseen", "per-class", "mvc"])
def test_result_figures_render(kind, ablation_files, baseline_files, tmp_path):
    files = ablation_files if kind == "ablation" else baseline_files
    res = plot(kind, *files, "--out", tmp_path / "fig")
    assert res.exit_code == 0, res.output
    assert res.output == f"wrote {tmp_path / 'fig' / kind}.png\nwrote {tmp_path / 'fig' / kind}.pdf\n"
    pixels = assert_figure_files(tmp_path / "fig", kind)
    if kind == "per-class":
        assert has_colour(pixels, hex_rgb(plots.SEEN_COLOR)) and has_colour(pixels, hex_rgb(plots.UNSEEN_COLOR))


def test_plot_all_renders_what_applies(ablation_files, baseline_files, tmp_path):
    res = plot("all", *baseline_files, "--out", tmp_path / "a", "--formats", "png")
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["mvc.png", "per-class.png", "seen-unseen.png"]
    assert "skipped ablation: no results of one model with boolean options switched on and off" in res.output
    res = plot("all", *ablation_files[:4], *baseline_files, "--out", tmp_path / "b", "--formats", "png")
    assert res.exit_code == 0, res.output
    assert len(list((tmp_path / "b").glob("*.png"))) == 4 and "skipped" not in res.output
    res = plot("seen-unseen", *baseline_files, "--out", tmp_path / "c", "--formats", "svg", "--name", "su")
    assert res.exit_code == 0 and (tmp_path / "c" / "su.svg").read_text().startswith("<?xml")


def test_qualitative_strip(tmp_path):
    layout = make_camvid(tmp_path, videos={"val": {"0016E5": ["07959", "07961", "07963", "07965", "07967"]}},
                         size=(36, 48))  # fmt: skip
    frames = layout.frames("val", "0016E5")
    car, ignore_rows = 8, slice(0, 6)
    preds = {"constant-car": tmp_path / "pred-a", "copy-gt": tmp_path / "pred-b"}
    for f in frames[:4]:  # the last frame has no prediction: it must not be picked
        write_png(preds["constant-car"] / "0016E5" / f"{f.name}.png", np.full((36, 48), car, np.uint8))
        gt = np.asarray(Image.open(f.mask)).copy()
        gt[gt == 11] = 255
        gt[ignore_rows] = 255
        write_png(preds["copy-gt"] / "0016E5" / f"{f.name}.png", gt)
    out = tmp_path / "fig"
    res = plot("qualitative", "--dataset", "camvid", "--data-root", layout.root,
               "--pred", f"constant-car={preds['constant-car']}", "--pred", preds["copy-gt"],
               "--num-frames", 3, "--out", out)  # fmt: skip
    assert res.exit_code == 0, res.output
    pixels = assert_figure_files(out, "qualitative")
    assert has_colour(pixels, CAMVID_COLORS[car], at_least=3 * 40 * 40)  # a whole row of car-coloured frames
    assert has_colour(pixels, CAMVID_COLORS[3])  # Road, from the ground truth
    assert has_colour(pixels, plots.IGNORE_COLOR, at_least=3 * 100)  # ignore rows of the copied GT


def test_qualitative_frame_choice_and_content(tmp_path):
    videos = {"val": {"0001TP": ["00001", "00002"], "0016E5": ["07959", "07961", "07963"]}}
    layout = make_camvid(tmp_path, videos=videos)
    pred = tmp_path / "pred"
    for f in layout.frames("val", "0016E5"):
        write_png(pred / "0016E5" / f"{f.name}.png", np.zeros((24, 32), np.uint8))
    from ovbench.datasets import open_dataset
    from ovbench.splits import load_split

    ds = open_dataset("camvid", layout.root, "val")
    preds = plots.parse_prediction_args([f"mine={pred}"])

    def names(picks):
        return [r.frames[i].name for r, i in picks]

    assert names(plots.pick_frames(ds, preds, (), (), 2)) == ["0016E5_07959", "0016E5_07963"]  # spread, predicted only
    assert names(plots.pick_frames(ds, preds, (), (), 9)) == ["0016E5_07959", "0016E5_07961", "0016E5_07963"]
    for f in layout.frames("val", "0001TP"):
        write_png(pred / "0001TP" / f"{f.name}.png", np.zeros((24, 32), np.uint8))
    # A video with fewer predicted frames than asked for is topped up from the next one.
    assert names(plots.pick_frames(ds, preds, (), (), 4)) == ["0001TP_00001", "0001TP_00002", "0016E5_07959",
                                                               "0016E5_07963"]  # fmt: skip
    assert names(plots.pick_frames(ds, preds, ("0016E5",), (), 1)) == ["0016E5_07959"]
    picks = plots.pick_frames(ds, preds, (), ("0016E5_07961", "0001TP_00002"))
    assert names(picks) == ["0016E5_07961", "0001TP_00002"]
    fig = plots.qualitative_figure(ds, load_split("camvid-7-4"), picks, preds)
    rows = [ax.get_ylabel() for ax in fig.axes if ax.get_ylabel()]
    assert rows == ["frame", "ground truth", "mine"]
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "Sky" in legend and "Car (unseen)" in legend


@pytest.mark.parametrize(
    ("extra", "message"),
    [(["--video", "nope"], "--video 'nope' is not a video of camvid val (0016E5)"),
     (["--frame", "0016E5_99999"], "--frame 0016E5_99999: not a scored frame of camvid val (e.g. 0016E5_07959"),
     (["--video", "0016E5", "--frame", "0016E5_1"], "--frame 0016E5_1: not a scored frame of video 0016E5"),
     (["--frame", "0016E5_07963"], "0016E5_07963.png: missing prediction"),
     (["--num-frames", "0"], "--num-frames must be at least 1"),
     (["--formats", "png,gif"], "--formats png,gif: choose from png, pdf, svg")],
)  # fmt: skip
def test_qualitative_bad_inputs_give_one_line(tmp_path, extra, message):
    layout = make_camvid(tmp_path, videos={"val": {"0016E5": ["07959", "07961", "07963"]}})
    pred = tmp_path / "pred"
    for f in layout.frames("val", "0016E5")[:2]:
        write_png(pred / "0016E5" / f"{f.name}.png", np.zeros((24, 32), np.uint8))
    res = plot("qualitative", "--dataset", "camvid", "--data-root", layout.root, "--pred", pred,
               "--out", tmp_path / "fig", *extra)  # fmt: skip
    assert res.exit_code == 2, res.output
    assert message in res.output and res.output.startswith("error: ") and res.output.count("\n") == 1


def test_qualitative_rejects_bad_predictions(tmp_path):
    layout = make_camvid(tmp_path, videos={"val": {"0016E5": ["07959"]}})
    name = layout.frames("val", "0016E5")[0].name
    pred = tmp_path / "pred"
    args = ["qualitative", "--dataset", "camvid", "--data-root", layout.root, "--pred", pred, "--out", tmp_path / "f"]
    write_png(pred / "0016E5" / f"{name}.png", np.full((24, 32), 42, np.uint8))
    res = plot(*args)
    assert res.exit_code == 2 and "value(s) 42 are not class ids 0..10 or 255" in res.output
    write_png(pred / "0016E5" / f"{name}.png", np.zeros((5, 5), np.uint8))
    res = plot(*args)
    assert res.exit_code == 2 and "prediction is 5x5, frame is 32x24" in res.output
    res = plot(*args[:5], "--pred", tmp_path / "absent", "--out", tmp_path / "f")
    assert res.exit_code == 2 and "absent is not a folder of PRED/<video>/<frame stem>.png" in res.output


# --------------------------------------------------------------------------- what the figures show


def test_ablation_grid_order_labels_and_metrics(ablation_files):
    fig = plots.ablation_figure(load_results(ablation_files))
    gzsl, zsl = fig.axes
    assert [t.get_text() for t in gzsl.get_xticklabels()] == ["none", "+STF", "+STF+RFE", "+STF+RFE+VTE"]
    assert [t.get_text() for t in gzsl.get_legend().get_texts()] == ["mIoU", "hIoU", "mVC8", "mVC16"]
    assert [t.get_text() for t in zsl.get_legend().get_texts()] == ["mIoU", "mVC8", "mVC16"]  # no hIoU under zsl
    assert "vspw val · vspw-80-44 · gzsl" in gzsl.get_title()
    # mVC16 of the frame-wise model is undefined: drawn as an empty bar labelled n/a.
    assert [t.get_text() for t in gzsl.texts].count("n/a") == 1


def test_ablation_errors(ablation_files, baseline_files, tmp_path):
    res = plot("ablation", ablation_files[0], baseline_files[0], "--out", tmp_path)
    assert res.exit_code == 2 and "model 'clip' has no boolean option that differs among its results" in res.output
    twin = write(tmp_path / "twin", "twin", json.loads(Path(ablation_files[0]).read_text()))
    res = plot("ablation", ablation_files[0], ablation_files[2], twin, "--out", tmp_path)
    assert res.exit_code == 2 and "are both 'none' on vspw val · vspw-80-44 · gzsl" in res.output  # rfe off; stf is on in all


def test_seen_unseen_and_mvc_content(baseline_files):
    loaded = load_results(baseline_files)
    fig = plots.seen_unseen_figure(loaded)
    (ax,) = [a for a in fig.axes if a.get_visible()]
    assert ax.get_xlabel() == "mIoU seen (%)" and ax.get_ylabel() == "mIoU unseen (%)"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(labels) == 5 and all(re.match(r"^\w+ \(hIoU \d+\.\d\)$", s) for s in labels)  # zsl left out
    hious = [float(s.split("hIoU ")[1][:-1]) for s in labels]
    assert hious == sorted(hious, reverse=True)
    fig = plots.mvc_figure(loaded)
    assert len([a for a in fig.axes if a.get_visible()]) == 2  # gzsl and zsl groups


def test_kinds_that_cannot_apply(baseline_files, tmp_path):
    zsl_only = [f for f in baseline_files if f.endswith("zsl.json")]
    res = plot("seen-unseen", *zsl_only, "--out", tmp_path)
    assert res.exit_code == 2 and "needs results that score seen and unseen classes" in res.output
    no_vc = write(tmp_path, "novc", make_result("m"))
    res = plot("mvc", no_vc, "--out", tmp_path)
    assert res.exit_code == 2 and "no result has mVC8 or mVC16" in res.output
    res = plot("per-class", tmp_path / "missing.json", "--out", tmp_path)
    assert res.exit_code == 2 and "missing.json: result file not found" in res.output
    (tmp_path / "file").write_text("")
    res = plot("mvc", *baseline_files, "--out", tmp_path / "file")
    assert res.exit_code == 2 and "exists and is not a folder" in res.output


# --------------------------------------------------------------------------- palettes


def test_palettes():
    for name, n in (("camvid", 11), ("cityscapes", 19), ("vspw", 124)):
        lut = plots.palette(name, n)
        colours = {tuple(c) for c in lut[:n]}
        assert len(colours) == n and (0, 0, 0) not in colours, name
        assert tuple(lut[255]) == plots.IGNORE_COLOR
    assert np.array_equal(plots.palette("vspw", 124), plots.palette("vspw", 124))  # deterministic


def test_cityscapes_palette_matches_cityscapesscripts():
    labels = pytest.importorskip("cityscapesscripts.helpers.labels")
    by_train_id = {lab.trainId: lab.color for lab in labels.labels if 0 <= lab.trainId < 19}
    assert list(CITYSCAPES_COLORS) == [by_train_id[i] for i in range(19)]
    assert [tuple(c) for c in plots.palette("cityscapes", 19)[:19]] == list(CITYSCAPES_COLORS)

