"""`ovbench compare`: grouping, ordering, notes and the three output formats."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from ovbench.cli import cli
from result_factory import make_result

SNAPSHOTS = Path(__file__).parent / "snapshots"


def diagonal_matrix(correct: list[int], wrong: int = 0) -> list[list[int]]:
    """11×11: class c has correct[c] true positives and ``wrong`` pixels predicted as class 0."""
    m = np.diag(correct).astype(int)
    m[:, 0] += wrong
    m[0, 0] -= wrong
    return m.tolist()


@pytest.fixture
def result_files(tmp_path):
    results = {
        "good": make_result("good", diagonal_matrix([10] * 11)),
        "half": make_result("half", diagonal_matrix([10] * 11, wrong=10)),
        "zsl": make_result("zsl-model", protocol="zsl", seed=3),
        "other-split": make_result("splitty", diagonal_matrix([10] * 11), split="camvid-7-4"),
    }
    results["other-split"]["split"]["hash"] = "edited0000000000"
    results["half-b"] = make_result("half", diagonal_matrix([10] * 11, wrong=5), options={"size": 448})
    results["half"]["model"]["options"] = {"size": 336}
    paths = []
    for name, r in results.items():
        p = tmp_path / f"{name}.json"
        p.write_text(json.dumps(r))
        paths.append(str(p))
    return paths


def compare(*args):
    res = CliRunner().invoke(cli, ["compare", *map(str, args)])
    assert res.exit_code == 0, res.output
    return res.output


def test_markdown_snapshot(result_files):
    assert compare(*result_files) == (SNAPSHOTS / "leaderboard.md").read_text()


def test_latex_snapshot(result_files):
    assert compare(*result_files, "--format", "latex") == (SNAPSHOTS / "leaderboard.tex").read_text()


def test_csv_rows_are_sorted_by_main_score(result_files):
    rows = list(csv.DictReader(io.StringIO(compare(*result_files, "--format", "csv"))))
    gzsl = [r["Model"] for r in rows if r["Protocol"] == "gzsl"]
    assert gzsl == ["good", "splitty", "half (size=448)", "half (size=336)"]
    assert float(rows[0]["hIoU"]) == pytest.approx(100.0)


def test_out_file_and_bad_inputs(result_files, tmp_path):
    out = tmp_path / "board.md"
    compare(*result_files, "--out", out)
    assert out.read_text() == (SNAPSHOTS / "leaderboard.md").read_text()
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    res = CliRunner().invoke(cli, ["compare", str(bad)])
    assert res.exit_code == 2 and "bad.json: not a valid ovbench result" in res.output
