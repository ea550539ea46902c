"""Result files: schema validation on read and atomic writes."""

from __future__ import annotations

import json
import os

import pytest

from ovbench.errors import OvbenchError
from ovbench.results import read_result, write_result
from result_factory import make_result


def test_round_trip(tmp_path):
    r = make_result()
    write_result(tmp_path / "r.json", r)
    assert read_result(tmp_path / "r.json") == r


@pytest.mark.parametrize(
    ("mutate", "message"),
    [(lambda r: r["metrics"].pop("mvc8"), "metrics: 'mvc8' is a required property"),
     (lambda r: r.pop("main_score"), "'main_score' is a required property"),
     (lambda r: r["metrics"].__setitem__("miou", 140.0), "metrics/miou: 140.0 is greater than the maximum of 100"),
     (lambda r: r.__setitem__("protocol", "fewshot"), "protocol: 'fewshot' is not one of"),
     (lambda r: r["metrics"]["per_class_iou"].pop(), "per-class arrays do not match the split's 11 classes")],
)  # fmt: skip
def test_invalid_results_are_rejected_with_the_field_named(tmp_path, mutate, message):
    r = make_result()
    mutate(r)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(r))
    with pytest.raises(OvbenchError, match=f"{path}: .*" + message.replace("(", r"\(").replace(")", r"\)")):
        read_result(path)
    with pytest.raises(OvbenchError):
        write_result(tmp_path / "never.json", r)
    assert not (tmp_path / "never.json").exists()


def test_newer_schema_and_non_json_are_explained(tmp_path):
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps(make_result(schema_version=2)))
    with pytest.raises(OvbenchError, match="schema_version 2 is not supported .* upgrade ovbench"):
        read_result(newer)
    garbage = tmp_path / "garbage.json"
    garbage.write_text('{"schema_version": 1, "metr')
    with pytest.raises(OvbenchError, match="garbage.json: not JSON"):
        read_result(garbage)
    with pytest.raises(OvbenchError, match="missing.json: result file not found"):
        read_result(tmp_path / "missing.json")


def test_failed_write_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "r.json"
    write_result(path, make_result(model="old"))

    def crash(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        write_result(path, make_result(model="new"))
    assert read_result(path)["model"]["name"] == "old"
    assert os.listdir(tmp_path) == ["r.json"]  # the temporary file is gone
