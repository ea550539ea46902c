"""The committed result files are reproducible: re-running the command each was made with gives the same
file, except for what describes the run rather than its numbers (when, how long, on what, by which commit).

Each is a 20-frame smoke run (~20 s on two cores). Needs CamVid under ``../shared/data/camvid``. The
same comparison against files written by the code before the run wing (e929d69) held for all six.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ovbench.cli import cli

ROOT = Path(__file__).resolve().parents[1]
REAL_CAMVID = ROOT / ".." / "shared" / "data" / "camvid"
COMMITTED = sorted((ROOT / "results").glob("smoke-*.json"))
RUN_FACTS = ("created", "timing", "environment", "ovbench_version", "git_commit")


def rerun_args(result: dict, out: Path) -> list[str]:
    """The command of ``results/README.md`` that made ``result``."""
    d = result["dataset"]
    args = ["run", "--model", result["model"]["name"], "--dataset", d["name"], "--data-root", str(REAL_CAMVID),
            "--subset", d["subset"], "--split", result["split"]["name"], "--protocol", result["protocol"],
            "--pretrained", "none", "--out", str(out), "--no-progress"]  # fmt: skip
    for key in ("max_videos", "max_frames"):
        if d[key] is not None:
            args += [f"--{key.replace('_', '-')}", str(d[key])]
    return args


def without_run_facts(result: dict) -> dict:
    return {k: v for k, v in result.items() if k not in RUN_FACTS}


@pytest.mark.skipif(not REAL_CAMVID.is_dir(), reason="CamVid not found under ../shared/data/camvid")
@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.stem)
def test_a_committed_result_reruns_to_the_same_file(path, tmp_path):
    committed = json.loads(path.read_text())
    assert committed["model"]["random_weights"] is True  # every committed file is a smoke run so far
    out = tmp_path / path.name
    res = CliRunner().invoke(cli, rerun_args(committed, out))
    assert res.exit_code == 0, res.output
    again = json.loads(out.read_text())
    assert without_run_facts(again) == without_run_facts(committed)


def test_the_committed_results_are_found():
    assert len(COMMITTED) >= 6, f"expected the smoke results under {ROOT / 'results'}"
