"""The plugin interface: registry resolution, broken plugins, option parsing, the example package."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ovbench import registry
from ovbench.cli import cli
from ovbench.errors import OvbenchError
from ovbench.models import Option, parse_option_args, resolve_options
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
    assert runs["--smooth"]["model"] == {"name": "colour-prototypes", "weights": None,
                                         "options": {"downsample": 2, "smooth": True, "prompts": prompts}}  # fmt: skip
    assert runs["--smooth"]["metrics"] != runs["--no-smooth"]["metrics"]  # the option reaches the model
