"""Result files: schema validation on read and atomic writes."""

from __future__ import annotations

import json
import os

import pytest

from ovbench.errors import OvbenchError
from ovbench.results import Result, read_result, to_dataframe, write_result
from result_factory import make_result


def test_round_trip(tmp_path):
    r = make_result()
    write_result(tmp_path / "r.json", r)
    assert read_result(tmp_path / "r.json") == r


def test_a_result_reads_writes_and_tables_itself(tmp_path):
    a = Result(make_result("alpha", seed=1))
    b = Result(make_result("beta", protocol="zsl", seed=2, options={"size": 448}))
    b["model"]["random_weights"] = True
    paths = [a.write(tmp_path / "a.json"), b.write(tmp_path / "b.json")]
    again = [Result.read(p) for p in paths]
    assert again == [a, b] and all(isinstance(r, Result) for r in again)
    assert json.loads(paths[1].read_text()) == b  # the document is the dict itself
    assert b.group == ("camvid", "val", "camvid-7-4", "zsl") and b.model_name == "beta" and b.random_weights
    table = to_dataframe(again, paths)
    assert list(table["path"]) == [str(p) for p in paths] and list(table["model"]) == ["alpha", "beta"]
    assert list(table["protocol"]) == ["gzsl", "zsl"] and list(table["random_weights"]) == [False, True]
    assert list(table["main_metric"]) == ["hiou", "miou"]
    assert table.loc[0, "main_score"] == a["metrics"]["hiou"] and table.loc[1, "main_score"] == b["metrics"]["miou"]
    assert table.loc[1, "fwiou"] == b["metrics"]["fwiou"] and table.loc[1, "options"] == {"size": 448}
    assert "per_class_iou" not in table.columns  # scalar scores only
    bad = Result(make_result())
    bad["metrics"]["miou"] = 140.0
    with pytest.raises(OvbenchError, match="metrics/miou: 140.0 is greater than the maximum of 100"):
        bad.write(tmp_path / "bad.json")
    assert not (tmp_path / "bad.json").exists()


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
