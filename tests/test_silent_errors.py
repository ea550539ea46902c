"""Inputs that used to end with exit 0 and a wrong or misleading result: each is now refused or fixed."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from fixtures import make_camvid, noise_rgb, pattern
from PIL import Image
from result_factory import make_result

from baselines.models import NACLIP, SCLIP, ClearCLIP
from baselines.sliding import window_grid
from ov2vss_lite.model import OV2VSS
from ovbench import atomic, registry
from ovbench.cli import cli
from ovbench.datasets import open_dataset
from ovbench.errors import OvbenchError
from ovbench.models import Option, resolve_options
from ovbench.results import read_result, write_result
from ovbench.splits import load_split, parse_split
from ovbench.training import TrainableVideoModel, TrainConfig, latest_checkpoint, train

registry.register("toy-constant", "toy_models:Constant")


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


# ------------------------------------------------------------------------------------ model options


def test_stride_larger_than_crop_is_refused_before_any_weights_load():
    with pytest.raises(OvbenchError, match="--stride 500 is larger than --crop 224"):
        SCLIP(stride=500, pretrained="/nonexistent/weights.bin")  # the file would be the next error
    with pytest.raises(ValueError, match="no window covers"):
        window_grid(480, 800, 224, 500)


def test_every_window_grid_with_stride_at_most_crop_covers_every_pixel():
    for h, w, crop, stride in [(480, 800, 224, 224), (37, 91, 20, 20), (300, 301, 224, 1), (10, 10, 224, 112)]:
        covered = np.zeros((h, w), dtype=int)
        for y1, y2, x1, x2 in window_grid(h, w, crop, stride):
            covered[y1:y2, x1:x2] += 1
        assert covered.min() >= 1, (h, w, crop, stride)


@pytest.mark.parametrize(
    "cls, option, value, message",
    [
        (NACLIP, "gaussian_std", 0.0, "--gaussian-std must be greater than 0"),
        (NACLIP, "gaussian_std", -1.0, "--gaussian-std must be greater than 0"),
        (SCLIP, "logit_scale", 0.0, "--logit-scale must be greater than 0"),
        (ClearCLIP, "logit_scale", math.inf, "--logit-scale: inf is not a finite number"),
        (SCLIP, "short_side", 0, "--short-side must be at least 1"),
        (SCLIP, "pamr_steps", 0, "--pamr-steps must be at least 1"),
        (SCLIP, "pamr_dilations", "8,0", "--pamr-dilations '8,0': expected positive integers"),
        (OV2VSS, "frame_cache", -1, "--frame-cache must be at least 0"),
        (OV2VSS, "train_cache", -5, "--train-cache must be at least 0"),
        (OV2VSS, "input_size", 0, "--input-size must be at least 1"),
    ],
)
def test_zero_negative_and_infinite_scales_are_refused(cls, option, value, message):
    with pytest.raises(OvbenchError, match=message.replace("(", r"\(")):
        cls(pretrained="/nonexistent/weights.bin", **{option: value})


def test_option_bounds_apply_to_command_line_text_and_to_defaults():
    scale = Option("scale", 1.0, above=0)
    assert scale.convert("0.5") == 0.5
    for text in ("0", "-2", "nan", "inf", "-inf"):
        with pytest.raises(OvbenchError, match="--scale"):
            scale.convert(text)
    assert Option("n", 3, minimum=0).convert("0") == 0
    with pytest.raises(OvbenchError, match="--n must be at least 0, got -1"):
        resolve_options((Option("n", 3, minimum=0),), {"n": -1})
    with pytest.raises(OvbenchError, match="--n must be at least 0"):  # a plugin's own bad default
        resolve_options((Option("n", -3, minimum=0),), {})


def test_run_with_a_bad_model_option_ends_with_one_line(tmp_path):
    layout = make_camvid(tmp_path)
    res = invoke("run", "--model", "sclip", "--dataset", "camvid", "--data-root", layout.root, "--subset", "val",
                 "--out", tmp_path / "r.json", "--pretrained", "none", "--stride", "500")  # fmt: skip
    assert res.exit_code == 2
    assert res.output.strip().splitlines() == [
        "error: --stride 500 is larger than --crop 224: pixels between windows would have no prediction; "
        "use a stride of at most the crop size"
    ]
    assert not (tmp_path / "r.json").exists()


# ------------------------------------------------------------------------------------ dataset files


def test_a_frame_listed_twice_is_refused_not_scored_twice(tmp_path):
    layout = make_camvid(tmp_path, videos={"val": {"0016E5": ["07959", "07961"]}},
                         extra_lines={"val": ["val/0016E5_07959.png valannot/0016E5_07959.png"]})  # fmt: skip
    res = invoke("run", "--model", "toy-constant", "--dataset", "camvid", "--data-root", layout.root,
                 "--out", tmp_path / "r.json")  # fmt: skip
    assert res.exit_code == 2
    assert "0016E5_07959.png: frame 0016E5_07959 of video 0016E5 is listed 2 times" in res.output
    assert not (tmp_path / "r.json").exists()
    checked = invoke("check", "--dataset", "camvid", "--data-root", layout.root)
    assert checked.exit_code == 2 and "is listed 2 times" in checked.output


def _camvid_with_non_utf8_name(tmp_path):
    root = tmp_path / "camvid"
    for i, name in enumerate([b"0016E5_07959.png", b"0016E5_0796\xff.png"]):
        for folder, array in ((b"val", noise_rgb(i)), (b"valannot", pattern([0, 1, 2]))):
            os.makedirs(os.path.join(os.fsencode(root), folder), exist_ok=True)
            Image.fromarray(array).save(os.path.join(os.fsencode(root), folder, name).decode("utf-8", "surrogateescape"))
    return root


def test_non_utf8_frame_names_are_reported_by_check_and_refused_by_run(tmp_path):
    try:
        root = _camvid_with_non_utf8_name(tmp_path)
    except (OSError, UnicodeError):
        pytest.skip("this filesystem does not store non-UTF-8 file names")
    checked = invoke("check", "--dataset", "camvid", "--data-root", root)
    assert checked.exit_code == 2
    assert "0016E5_0796\\xff.png: the frame name is not valid UTF-8; rename the file or folder" in checked.output
    res = invoke("run", "--model", "toy-constant", "--dataset", "camvid", "--data-root", root,
                 "--out", tmp_path / "r.json")  # fmt: skip
    assert res.exit_code == 2
    assert res.output.count("\n") == 1 and "is not valid UTF-8" in res.output
    assert not (tmp_path / "r.json").exists() and not (tmp_path / "r.json.partial").exists()


@pytest.mark.parametrize("prompts", [{"sky": 1}, 7, [], ["sky", ""], ["sky", 3]])
def test_split_prompts_must_be_a_list_of_names(prompts):
    data = {"schema": "ovbench-split/1", "name": "x", "dataset": "camvid",
            "classes": [{"id": 0, "name": "Sky", "prompts": prompts, "seen": True},
                        {"id": 1, "name": "Road", "seen": False}]}  # fmt: skip
    with pytest.raises(OvbenchError, match="class 'Sky': prompts must be a list of non-empty names"):
        parse_split(data, "x.yaml")
    data["classes"][0]["prompts"] = ["sky", "heaven"]
    assert parse_split(data, "x.yaml").classes[0].prompts == ("sky", "heaven")


# ------------------------------------------------------------------------------------ output files


def test_plot_name_cannot_leave_the_output_folder(tmp_path):
    path = tmp_path / "r.json"
    write_result(path, make_result())
    for name in ("../x", "a/b", ".hidden", ".."):
        res = invoke("plot", "per-class", str(path), "--out", tmp_path / "figs", "--name", name)
        assert res.exit_code == 2 and "--name" in res.output, name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_a_result_written_meanwhile_by_another_run_is_not_replaced(tmp_path, monkeypatch):
    """The existence check and the final write are one step: of two runs into one --out, one wins."""
    layout = make_camvid(tmp_path)
    out = tmp_path / "r.json"
    import ovbench.run.commands

    real_run_model = ovbench.run.commands.run_model

    def run_and_race(*args, **kwargs):
        result = real_run_model(*args, **kwargs)
        out.write_text("the other run's result\n")  # it finished first
        return result

    monkeypatch.setattr(ovbench.run.commands, "run_model", run_and_race)
    res = invoke("run", "--model", "toy-constant", "--dataset", "camvid", "--data-root", layout.root,
                 "--out", out, "--no-progress")  # fmt: skip
    assert res.exit_code == 2
    assert f"error: {out} was written by another run while this one ran and is left as it is" in res.output
    assert out.read_text() == "the other run's result\n"
    assert (tmp_path / "r.json.partial").is_dir()  # this run's finished videos are kept for --resume
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
    with pytest.raises(OvbenchError, match="written by another run"):
        write_result(out, make_result(), overwrite=False)
    write_result(out, make_result(model="mine"), overwrite=True)
    assert read_result(out)["model"]["name"] == "mine"


def test_temporary_files_of_a_killed_writer_are_swept_by_the_next_write(tmp_path):
    target = tmp_path / "r.json"
    code = (
        "import sys, time; from ovbench.atomic import atomic_path\n"
        "with atomic_path(sys.argv[1]) as tmp:\n"
        "    tmp.write_text('half'); print('ready', flush=True); time.sleep(60)\n"
    )
    killed = subprocess.Popen([sys.executable, "-c", code, str(target)], stdout=subprocess.PIPE, text=True)
    alive = subprocess.Popen([sys.executable, "-c", code, str(target)], stdout=subprocess.PIPE, text=True)
    try:
        assert killed.stdout.readline() == "ready\n" and alive.stdout.readline() == "ready\n"
        killed.send_signal(signal.SIGKILL)
        killed.wait(10)
        temporaries = sorted(p.name for p in tmp_path.glob(".r.json.*.part"))
        assert len(temporaries) == 2
        atomic.write_text(target, "whole\n")
        left = sorted(p.name for p in tmp_path.glob(".r.json.*.part"))
        assert left == [n for n in temporaries if f"-{alive.pid}." in n]  # the live writer's file is kept
        assert target.read_text() == "whole\n"
    finally:
        alive.kill()
        alive.wait(10)


def test_weight_files_are_readable_like_results(tmp_path):
    from safetensors.torch import save_file

    with atomic.atomic_path(tmp_path / "model.safetensors") as tmp:
        save_file({"w": torch.zeros(2)}, str(tmp))  # safetensors creates its file as 0600
    atomic.write_text(tmp_path / "r.json", "{}\n")
    modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
    assert modes["model.safetensors"] == modes["r.json"] == 0o666 & ~atomic._UMASK


def test_results_record_the_thread_count_that_bit_identity_depends_on(tmp_path):
    layout = make_camvid(tmp_path)
    res = invoke("run", "--model", "toy-constant", "--dataset", "camvid", "--data-root", layout.root,
                 "--out", tmp_path / "r.json", "--no-progress")  # fmt: skip
    assert res.exit_code == 0, res.output
    assert read_result(tmp_path / "r.json")["environment"]["threads"] == torch.get_num_threads()


# ------------------------------------------------------------------------------------ training


class Blowup(TrainableVideoModel):
    """A finite loss whose gradient is infinite from the second step on (an overflow in a backward pass)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.module = torch.nn.Module()
        self.module.w = torch.nn.Parameter(torch.ones(1))
        self.calls = 0

    def trainable_module(self):
        return self.module

    def training_loss(self, samples, vocabulary, rng):
        self.calls += 1
        w = self.module.w.sum()
        return w if self.calls == 1 else torch.sqrt(w - w.detach())  # value 0, d/dw = inf

    def predict_video(self, video, vocabulary):
        raise NotImplementedError


def test_training_with_infinite_settings_is_refused():
    for name in ("lr", "weight_decay", "crop_scale", "poly_power"):
        with pytest.raises(OvbenchError, match=f"--{name.replace('_', '-')} inf is not a finite number"):
            TrainConfig(**{name: math.inf}).check()


def test_training_stops_at_the_first_non_finite_weight_and_keeps_the_last_good_checkpoint(tmp_path):
    layout = make_camvid(tmp_path, videos={"train": {"0016E5": ["00001", "00002"]}})
    dataset = open_dataset("camvid", layout.root, "train")
    config = TrainConfig(steps=5, batch_size=1, lr=0.1, warmup=0, checkpoint_every=1)
    out = tmp_path / "run"
    with pytest.raises(OvbenchError, match=r"step 2: the weights became non-finite \(inf or NaN\); the last good checkpoint, .*step-000001, is kept"):
        train(Blowup(), "blowup", dataset, load_split("camvid-7-4"), out, config, show_progress=False)
    assert latest_checkpoint(out).name == "step-000001"
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["step-000001"]
    from safetensors.torch import load_file

    assert torch.isfinite(load_file(latest_checkpoint(out) / "model.safetensors")["w"]).all()


def test_training_refuses_lr_inf_on_the_command_line(tmp_path):
    layout = make_camvid(tmp_path, videos={"train": {"0016E5": ["00001"]}})
    res = invoke("train", "--model", "ov2vss-lite-frame", "--dataset", "camvid", "--data-root", layout.root,
                 "--subset", "train", "--out", tmp_path / "run", "--lr", "inf", "--pretrained", "none")  # fmt: skip
    assert res.exit_code == 2 and "--lr inf is not a finite number" in res.output
    assert not (tmp_path / "run").exists()

