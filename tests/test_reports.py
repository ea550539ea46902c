"""`ovbench compare`: grouping, ordering, columns per protocol, per-class tables, published numbers, formats."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from ovbench.cli import cli
from ovbench.reports import DEFAULT_REPORTED, load_reported
from result_factory import make_result

SNAPSHOTS = Path(__file__).parent / "snapshots"

# Published numbers for the tests: one all-classes row matched by model and options, one zsl row whose
# split is not stated, and rows that must not match (other options, other dataset).
TEST_REPORTED = {
    "schema": "ovbench-reported/1",
    "entries": [
        {"method": "SCLIP", "backbone": "ViT-B/16", "dataset": "cityscapes", "subset": "val", "split": None,
         "protocol": "all-classes", "metrics": {"miou": 32.2}, "source": "Paper A, Table 1",
         "match": [{"model": "sclip", "options": {"pamr": False}}]},
        {"method": "SCLIP + PAMR", "backbone": "ViT-B/16", "dataset": "cityscapes", "subset": "val", "split": None,
         "protocol": "all-classes", "metrics": {"miou": 34.0}, "source": "Paper A, Table 2",
         "match": [{"model": "sclip", "options": {"pamr": True}}]},
        {"method": "NACLIP + PAMR", "backbone": "ViT-B/16", "dataset": "cityscapes", "subset": "val", "split": None,
         "protocol": "all-classes", "metrics": {"miou": 35.0}, "source": "Repository README",
         "match": [{"model": "naclip", "options": {"pamr": True}}]},
        {"method": "ZSL model", "backbone": "R-101", "dataset": "camvid", "subset": "val", "split": None,
         "protocol": "zsl", "metrics": {"miou": 40.5, "fwiou": 41.0, "mvc8": 80.0, "mvc16": 70.0},
         "source": "Paper B, Table 3", "note": "a note", "match": [{"model": "zsl-model"}]},
        {"method": "Elsewhere", "backbone": "ViT-B/16", "dataset": "vspw", "subset": "val", "split": "vspw-80-44",
         "protocol": "zsl", "metrics": {"miou": 21.16}, "source": "Paper C", "match": [{"model": "zsl-model"}]},
    ],
}  # fmt: skip


def diagonal_matrix(correct: list[int], wrong: int = 0, n: int = 11) -> list[list[int]]:
    """n×n: class c has correct[c] true positives and ``wrong`` pixels predicted as class 0."""
    m = np.diag(correct).astype(int)
    m[:, 0] += wrong
    m[0, 0] -= wrong
    return m.tolist()


def write_results(folder: Path, results: dict[str, dict]) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, r in results.items():
        p = folder / f"{name}.json"
        p.write_text(json.dumps(r))
        paths.append(str(p))
    return paths


@pytest.fixture
def reported_file(tmp_path):
    path = tmp_path / "reported.yaml"
    path.write_text(yaml.safe_dump(TEST_REPORTED, sort_keys=False))
    return path


def make_result_files(folder: Path) -> list[str]:
    """The inputs of the snapshot tests: two camvid groups, a cityscapes group, edge cases for every note."""
    results = {
        "good": make_result("good", diagonal_matrix([10] * 11)),
        "half": make_result("half", diagonal_matrix([10] * 11, wrong=10)),
        "zsl": make_result("zsl-model", protocol="zsl", seed=3),
        "other-split": make_result("splitty", diagonal_matrix([10] * 11), split="camvid-7-4"),
    }
    results["other-split"]["split"]["hash"] = "edited0000000000"
    results["half-b"] = make_result("half", diagonal_matrix([10] * 11, wrong=5), options={"size": 448})
    results["half"]["model"]["options"] = {"size": 336}
    city = make_result("sclip", diagonal_matrix(list(range(1, 20)), wrong=1, n=19), split="cityscapes-12-7",
                       options={"backbone": "ViT-B-16", "pamr": False})  # fmt: skip
    city["model"]["weights"] = "ViT-B-16:open_clip:openai"
    city["environment"].update(device="cuda", gpu="NVIDIA H100 80GB HBM3")
    smoke = make_result("naclip", diagonal_matrix([5] * 19, wrong=2, n=19), split="cityscapes-12-7",
                        options={"backbone": "ViT-B-16", "pamr": True})  # fmt: skip
    smoke["model"].update(weights="ViT-B-16:random-init:seed=0", random_weights=True)
    smoke["dataset"]["max_frames"] = 10
    smoke["environment"]["platform"] = "Linux-6.1.0-x86_64-with-glibc2.36"
    results.update(city=city, smoke=smoke)
    return write_results(folder, results)


@pytest.fixture
def result_files(tmp_path):
    return make_result_files(tmp_path / "results")


def invoke(*args):
    return CliRunner().invoke(cli, ["compare", *map(str, args)])


def compare(*args):
    res = invoke(*args)
    assert res.exit_code == 0, res.output
    return res.output


# --------------------------------------------------------------------------- snapshots


def test_markdown_snapshot(result_files, reported_file):
    assert compare(*result_files, "--reported-file", reported_file) == (SNAPSHOTS / "leaderboard.md").read_text()


def test_latex_snapshot(result_files, reported_file):
    out = compare(*result_files, "--format", "latex", "--reported-file", reported_file)
    assert out == (SNAPSHOTS / "leaderboard.tex").read_text()


def test_per_class_and_reported_markdown_snapshot(result_files, reported_file):
    out = compare(*result_files, "--per-class", "--reported", "--reported-file", reported_file)
    assert out == (SNAPSHOTS / "leaderboard-per-class-reported.md").read_text()


# --------------------------------------------------------------------------- tables


def markdown_table(text: str, title: str) -> list[list[str]]:
    """The cells of the Markdown table under ``### title``."""
    section = text.split(f"### {title}\n\n", 1)[1].split("\n\n", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    return [[c.strip() for c in line.strip("|").split("|")] for line in lines if not set(line) <= set("|:- ")]


def test_columns_follow_the_protocol(result_files, reported_file):
    out = compare(*result_files, "--reported-file", reported_file)
    gzsl = markdown_table(out, "camvid val · camvid-7-4 · gzsl")
    zsl = markdown_table(out, "camvid val · camvid-7-4 · zsl")
    assert gzsl[0] == ["Model", "mIoU", "mIoU seen", "mIoU unseen", "hIoU", "mVC8", "mVC16", "Frames", "Weights",
                       "Hardware"]  # fmt: skip
    assert zsl[0] == ["Model", "mIoU", "FWIoU", "mVC8", "mVC16", "Reported mIoU", "Frames", "Weights", "Hardware"]


def test_rows_sorted_by_main_score_and_best_values_bold(result_files, reported_file):
    rows = markdown_table(compare(*result_files, "--reported-file", reported_file), "camvid val · camvid-7-4 · gzsl")
    assert [r[0] for r in rows[1:]] == ["good", "splitty", "half (size=448)", "half (size=336)"]
    assert rows[1][4] == "**100.00**" and rows[2][4] == "**100.00**"  # ties are all bold
    assert rows[3][4] == "62.89" and rows[1][5] == "–"  # mVC undefined for one-frame results


def test_weights_hardware_and_smoke_runs_are_stated(result_files, reported_file):
    out = compare(*result_files, "--reported-file", reported_file)
    rows = markdown_table(out, "cityscapes val · cityscapes-12-7 · gzsl")
    by_model = {r[0]: r for r in rows[1:]}
    assert by_model["sclip"][-2:] == ["ViT-B-16:open_clip:openai", "NVIDIA H100 80GB HBM3"]
    assert by_model["naclip"][-2:] == ["ViT-B-16:random-init:seed=0", "cpu (x86_64)"]
    assert "> note: random weights (smoke runs; their numbers are meaningless): naclip\n" in out
    assert "> note: scored only part of val (--max-frames 10): naclip\n" in out


def test_reported_column_matches_model_options_and_protocol(result_files, reported_file):
    out = compare(*result_files, "--reported-file", reported_file)
    city = markdown_table(out, "cityscapes val · cityscapes-12-7 · gzsl")
    col = city[0].index("Reported mIoU")
    assert {r[0]: r[col] for r in city[1:]} == {"sclip": "32.20 [1]", "naclip": "35.00 [2]"}
    assert "compare with the mIoU column" in out  # the all-classes caveat, once
    assert "- [1] SCLIP, ViT-B/16: Paper A, Table 1\n" in out
    zsl = markdown_table(out, "camvid val · camvid-7-4 · zsl")
    assert zsl[1][zsl[0].index("Reported mIoU")] == "40.50 [1]"  # the vspw row of the same model is not used
    assert "- [1] ZSL model, R-101: Paper B, Table 3; the source's seen/unseen split is not stated" in out
    # An all-classes number is never put beside a zsl table.
    only_zsl = compare(result_files[2], "--reported-file", reported_file)
    assert "32.20" not in only_zsl


def test_no_reported_column_without_a_match(result_files, tmp_path):
    empty = tmp_path / "none.yaml"
    empty.write_text("schema: ovbench-reported/1\nentries: []\n")
    assert "Reported" not in compare(*result_files, "--reported-file", empty)


def test_reported_tables(result_files, reported_file):
    everything = compare("--reported", "--reported-file", reported_file)
    assert [t for t in re.findall(r"^### (.*)$", everything, re.M)] == [
        "Reported · camvid · zsl", "Reported · cityscapes · all-classes", "Reported · vspw · zsl"]  # fmt: skip
    rows = markdown_table(everything, "Reported · camvid · zsl")
    assert rows[0] == ["Method", "Backbone", "Subset", "Split", "mIoU", "FWIoU", "mVC8", "mVC16", "Source"]
    assert rows[1] == ["ZSL model", "R-101", "val", "not stated", "40.50", "41.00", "80.00", "70.00", "[1]"]
    assert "- [1] Paper B, Table 3; a note" in everything
    city = markdown_table(everything, "Reported · cityscapes · all-classes")
    assert [r[3] for r in city[1:]] == ["none (all classes)"] * 3 and city[3][4] == "**35.00**"
    # After the leaderboards of result files.
    out = compare(result_files[0], "--reported", "--reported-file", reported_file)
    assert out.index("### camvid val") < out.index("### Reported · camvid · zsl") < out.index("### Reported · vspw")


def test_per_class_tables(result_files, reported_file):
    out = compare(*result_files, "--per-class", "--reported-file", reported_file)
    gzsl = markdown_table(out, "camvid val · camvid-7-4 · gzsl · per-class IoU")
    assert gzsl[0] == ["Class", "Set", "good", "splitty", "half (size=448)", "half (size=336)"]
    assert [r[1] for r in gzsl[1:]] == ["seen"] * 7 + ["unseen"] * 4
    assert gzsl[1] == ["Sky", "seen", "**100.00**", "**100.00**", "16.67", "9.09"]  # best per row
    zsl = markdown_table(out, "camvid val · camvid-7-4 · zsl · per-class IoU")
    assert [r[0] for r in zsl[1:]] == ["Fence", "Car", "Pedestrian", "Bicyclist"]  # seen classes are not scored


def test_csv(result_files, reported_file):
    def table(*args):
        return list(csv.DictReader(io.StringIO(compare(*args, "--format", "csv", "--reported-file", reported_file))))

    rows = table(*result_files)
    gzsl = [r["Model"] for r in rows if r["Protocol"] == "gzsl" and r["Dataset"] == "camvid"]
    assert gzsl == ["good", "splitty", "half (size=448)", "half (size=336)"]
    assert float(rows[0]["hIoU"]) == pytest.approx(100.0)
    city = next(r for r in rows if r["Model"] == "sclip")
    assert city["Reported mIoU"] == "32.2000" and city["Reported mIoU source"].startswith("SCLIP, ViT-B/16: Paper A")
    assert city["Hardware"] == "NVIDIA H100 80GB HBM3"
    per_class = table(*result_files, "--per-class")
    assert list(per_class[0]) == ["Dataset", "Subset", "Split", "Protocol", "Model", "Class", "Set", "IoU"]
    assert len([r for r in per_class if r["Model"] == "good"]) == 11
    reported = table("--reported")
    assert reported[0]["Source"] == "Paper B, Table 3; a note"


def test_latex_escapes_and_bolds(tmp_path, reported_file):
    files = write_results(tmp_path, {
        "a": make_result("my_model", diagonal_matrix([10] * 11), options={"top_k": 5}),
        "b": make_result("my_model", diagonal_matrix([10] * 11, wrong=4), options={"top_k": 1}),
    })  # fmt: skip
    out = compare(*files, "--format", "latex", "--reported-file", reported_file)
    assert out.startswith("% generated by ovbench compare; needs \\usepackage{booktabs}")
    assert "\\toprule" in out and "\\midrule" in out and "\\bottomrule" in out
    assert "my\\_model (top\\_k=5) & \\textbf{100.00}" in out
    assert "my_model" not in out.replace("my\\_model", "")


def test_html(result_files, reported_file, tmp_path):
    files = result_files + write_results(tmp_path / "more", {"x": make_result("<script>", diagonal_matrix([1] * 11))})
    out = compare(*files, "--format", "html", "--reported-file", reported_file)
    assert out.startswith("<!DOCTYPE html>") and out.rstrip().endswith("</html>")
    assert out.count("<table>") == out.count("</table>") == 3
    assert "<b>100.00</b>" in out and "&lt;script&gt;" in out and "<script>" not in out


def test_folders_out_file_and_preamble(result_files, reported_file, tmp_path):
    folder = Path(result_files[0]).parent
    assert compare(folder, "--reported-file", reported_file) == compare(*result_files, "--reported-file", reported_file)
    preamble = tmp_path / "pre.md"
    preamble.write_text("# Leaderboard\n\nIntro.\n")
    out = tmp_path / "sub" / "board.md"
    assert compare(folder, "--reported-file", reported_file, "--preamble", preamble, "--out", out) == f"wrote {out}\n"
    assert out.read_text() == "# Leaderboard\n\nIntro.\n\n" + compare(folder, "--reported-file", reported_file)


@pytest.mark.parametrize(
    ("args", "message"),
    [([], "no result files given"),
     (["missing.json"], "missing.json: result file not found"),
     (["{bad}"], "bad.json: not a valid ovbench result"),
     (["{empty}"], "folder holds no result files"),
     (["{good}", "--format", "csv", "--per-class", "--reported"], "--format csv holds one kind of table"),
     (["{good}", "--format", "latex", "--preamble", "{good}"], "--preamble is for --format markdown"),
     (["{good}", "--reported-file", "nowhere.yaml"], "nowhere.yaml: reported-numbers file not found")],
)  # fmt: skip
def test_bad_inputs_give_one_line(tmp_path, result_files, args, message):
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    (tmp_path / "empty").mkdir()
    subs = {"{bad}": str(bad), "{empty}": str(tmp_path / "empty"), "{good}": result_files[0]}
    res = CliRunner().invoke(cli, ["compare", *(subs.get(a, a) for a in args)], catch_exceptions=False)
    assert res.exit_code == 2, res.output
    assert message in res.output and res.output.startswith("error: ") and res.output.count("\n") == 1


@pytest.mark.parametrize(
    ("mutate", "message"),
    [(lambda d: d["entries"][1]["metrics"].__setitem__("miou", 135), "entry 2 (SCLIP + PAMR), metrics/miou: 135"),
     (lambda d: d["entries"][0].pop("source"), "entry 1 (SCLIP): 'source' is a required property"),
     (lambda d: d["entries"][3].__setitem__("protocol", "fewshot"), "entry 4 (ZSL model), protocol: 'fewshot'"),
     (lambda d: d.__setitem__("schema", "other/1"), "schema: 'ovbench-reported/1' was expected")],
)  # fmt: skip
def test_bad_reported_file_names_the_entry(tmp_path, result_files, mutate, message):
    data = json.loads(json.dumps(TEST_REPORTED))
    mutate(data)
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(data))
    res = invoke(result_files[0], "--reported-file", path)
    assert res.exit_code == 2 and message in res.output and res.output.count("\n") == 1, res.output
    path.write_text("entries: [unclosed\n")
    res = invoke(result_files[0], "--reported-file", path)
    assert res.exit_code == 2 and "r.yaml: not valid YAML" in res.output


def test_committed_reported_numbers():
    """results/reported.yaml: valid, every entry sourced, and the numbers of the reference notes."""
    entries = load_reported(DEFAULT_REPORTED, required=True)
    assert all(e.source.strip() for e in entries)
    table = {(e.method, e.backbone, e.dataset, e.protocol): e.metrics for e in entries}
    assert table["OV2VSS", "CLIP ViT-B/16 + ResNet-101", "vspw", "zsl"] == \
        {"miou": 21.16, "fwiou": 26.66, "mvc8": 21.69, "mvc16": 19.67}  # fmt: skip
    assert table["OV2VSS", "CLIP ViT-B/16 + SAM ViT-B", "cityscapes", "zsl"] == {"miou": 27.56}
    assert table["SAN (retrained)", "CLIP ViT-B/16", "vspw", "zsl"]["mvc16"] == 7.53
    city: dict[str, list[float]] = {}
    for e in entries:
        if e.protocol == "all-classes":
            city.setdefault(e.method, []).append(e.metrics["miou"])
    assert city == {"CLIP (vanilla)": [5.0], "MaskCLIP": [12.6, 24.9], "SCLIP": [32.2, 32.34], "ClearCLIP": [30.0],
                    "NACLIP": [35.5], "NACLIP + PAMR": [38.27]}  # fmt: skip
    assert all(e.dataset == "cityscapes" for e in entries if e.protocol == "all-classes")
    catseg = {(e.method, e.backbone, e.dataset): e.metrics["miou"] for e in entries if e.protocol == "cross-dataset"}
    assert catseg["CAT-Seg", "CLIP ViT-B/16", "ade20k-150"] == 31.8
    assert catseg["CAT-Seg", "CLIP ViT-L/14", "pascal-voc-20b"] == 82.5
    assert len(catseg) == 22 and all(not e.match for e in entries if e.protocol == "cross-dataset")
    san = {(e.backbone, e.dataset): e.metrics for e in entries if e.method == "SAN"}
    assert san["CLIP ViT-B/16", "ade20k-150"] == {"miou": 27.56, "fwiou": 56.14, "pixel_acc": 67.16}
    # The VSPW rows are the OV2VSS split exactly; the Cityscapes split of the source is unknown.
    assert {e.split for e in entries if e.dataset == "vspw"} == {"vspw-80-44"}
    assert {e.split for e in entries if e.dataset == "cityscapes"} == {None}


def test_committed_leaderboard_is_up_to_date():
    """results/README.md is exactly what its documented command writes from the committed files."""
    root = DEFAULT_REPORTED.parent
    readme = root / "README.md"
    if not readme.is_file() or not list(root.glob("*.json")):
        pytest.skip("no committed leaderboard")
    expected = compare(root, "--reported", "--preamble", root / "preamble.md")
    assert readme.read_text() == expected, "regenerate: ovbench compare results --reported --preamble " \
                                           "results/preamble.md --out results/README.md"
