"""What the run, distributed and resume tests share: the test models, environment and command lines.

Subprocess runs find the test models through ``$OVBENCH_EXTRA_MODELS`` (``tests/`` on PYTHONPATH).
"""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner

from ovbench import registry
from ovbench.cli import cli

TESTS = Path(__file__).resolve().parent
VIDEOS = {"0001TP": 11, "0006R0": 3, "0016E5": 18, "0002AB": 9, "0003CD": 13}
MODELS = "pattern=scaling_models:Pattern"
registry.register("pattern", "scaling_models:Pattern")
SAME = ("metrics", "confusion_matrix", "model", "dataset", "split", "protocol", "main_metric", "main_score")


def invoke(camvid, out, *extra):
    args = ["run", "--model", "pattern", "--dataset", "camvid", "--data-root", camvid, "--out", out, "--no-progress"]
    return CliRunner().invoke(cli, [str(a) for a in [*args, *extra]], catch_exceptions=False)


def subprocess_env(tmp_path, **extra) -> dict:
    env = dict(os.environ, OVBENCH_EXTRA_MODELS=MODELS, OVBENCH_CACHE=str(tmp_path / "cache"), OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))
    env.pop("WORLD_SIZE", None)
    env.update(extra)
    return env


def run_args(camvid, out, *extra) -> list[str]:
    return ["run", "--model", "pattern", "--dataset", "camvid", "--data-root", str(camvid), "--out", str(out),
            "--no-progress", *map(str, extra)]  # fmt: skip
