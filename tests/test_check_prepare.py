"""``ovbench check`` (every problem reported, counted) and ``ovbench prepare cityscapes`` (labelIds -> trainIds)."""

from __future__ import annotations

import numpy as np
from click.testing import CliRunner
from fixtures import (
    H,
    W,
    make_camvid,
    make_cityscapes,
    make_vspw,
    noise_rgb,
    pattern,
    truncate_file,
    write_garbage,
    write_png,
    write_rgb_mask,
)
from PIL import Image

from ovbench.check import check_dataset
from ovbench.cli import cli
from ovbench.datasets import DATA_ENV
from ovbench.datasets.cityscapes import Cityscapes

# labelId -> trainId of every Cityscapes label (cityscapesScripts helpers/labels.py), 255 = ignore
LABEL_TO_TRAIN = {
    0: 255, 1: 255, 2: 255, 3: 255, 4: 255, 5: 255, 6: 255, 7: 0, 8: 1, 9: 255, 10: 255, 11: 2, 12: 3,
    13: 4, 14: 255, 15: 255, 16: 255, 17: 5, 18: 255, 19: 6, 20: 7, 21: 8, 22: 9, 23: 10, 24: 11, 25: 12,
    26: 13, 27: 14, 28: 15, 29: 255, 30: 255, 31: 16, 32: 17, 33: 18,
}  # fmt: skip


def _cli(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _problems(result) -> list[str]:
    return [line[len("problem: "):] for line in result.output.splitlines() if line.startswith("problem: ")]


def _assert_clean(result):
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert _problems(result) == []
    assert result.output.splitlines()[-1] == "no problems found"


def _assert_found(result, dataset: str, expected: list) -> list[str]:
    """Exit 2, exactly one ``problem:`` line per expected item, each naming its file (and fragment)."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    problems = _problems(result)
    assert len(problems) == len(expected), result.output
    for path, fragment in expected:
        hits = [p for p in problems if str(path) in p and fragment in p]
        assert len(hits) == 1, f"{path} / {fragment!r} not reported once in:\n{result.output}"
    assert result.output.splitlines()[-1] == f"error: {len(expected)} problem(s) found in {dataset}"
    return problems


# =========================================================================== check: clean datasets


def test_check_clean_vspw(tmp_path):
    layout = make_vspw(tmp_path)
    result = _cli("check", "--dataset", "vspw", "--data-root", tmp_path)
    _assert_clean(result)
    assert "vspw train: 2 videos, 4 frames" in result.output
    assert "vspw val: 2 videos, 7 frames" in result.output
    assert "vspw test: 1 videos, 2 frames" in result.output
    _assert_clean(_cli("check", "--dataset", "vspw", "--data-root", layout.root, "--subset", "val"))


def test_check_clean_cityscapes(tmp_path):
    make_cityscapes(tmp_path, still=True)
    result = _cli("check", "--dataset", "cityscapes", "--data-root", tmp_path)
    _assert_clean(result)
    assert "cityscapes train: 1 videos, 30 frames" in result.output
    assert "cityscapes val: 2 videos, 60 frames" in result.output


def test_check_clean_camvid(tmp_path, monkeypatch):
    layout = make_camvid(tmp_path)
    monkeypatch.setenv(DATA_ENV, str(layout.root))
    result = _cli("check", "--dataset", "camvid")
    _assert_clean(result)
    assert "camvid train: 3 videos, 6 frames" in result.output
    assert "camvid val: 1 videos, 4 frames" in result.output


# =========================================================================== check: injected faults


def test_check_vspw_reports_every_fault(tmp_path):
    layout = make_vspw(tmp_path)
    a, b = "1001_5z_gjTyG7Fc", "20_yXHCPbxc4zw"
    missing = layout.frame("val", a, 1).mask
    missing.unlink()
    truncated = truncate_file(layout.frame("val", a, 3).image)
    small = write_png(layout.frame("val", b, 0).mask, pattern((1, 2), size=(H - 4, W)))
    bad_value = write_png(layout.frame("val", b, 2).mask, pattern((1, 130, 200)))
    rgb = write_rgb_mask(layout.frame("train", "127_-hIVCYO4C90", 0).mask)
    garbage = write_garbage(layout.frame("train", "2241_qr5Fqv-E55o", 1).mask)
    unlisted = tmp_path / "VSPW_480p" / "data" / "gone"
    (layout.root / "train.txt").write_text((layout.root / "train.txt").read_text() + "gone\n")
    result = _cli("check", "--dataset", "vspw", "--data-root", tmp_path)
    problems = _assert_found(result, "vspw", [
        (missing, "missing mask"),
        (truncated, "unreadable frame"),
        (small, f"mask is {W}x{H - 4} but frame 00000001.jpg is {W}x{H}"),
        (bad_value, "130, 200"),
        (rgb, "'RGB'"),
        (garbage, "unreadable mask"),
        (unlisted, "train.txt"),
    ])  # fmt: skip
    assert all("\n" not in p for p in problems)
    # the other frames were still checked and counted
    assert "vspw val: 2 videos, 6 frames" in result.output


def test_check_vspw_subset_option(tmp_path):
    layout = make_vspw(tmp_path)
    bad = write_png(layout.frame("train", "127_-hIVCYO4C90", 1).mask, pattern((125,)))
    _assert_clean(_cli("check", "--dataset", "vspw", "--data-root", tmp_path, "--subset", "val"))
    result = _cli("check", "--dataset", "vspw", "--data-root", tmp_path, "--subset", "val", "--subset", "train")
    _assert_found(result, "vspw", [(bad, "125")])
    # a subset asked for by name but absent is a problem
    (layout.root / "test.txt").unlink()
    result = _cli("check", "--dataset", "vspw", "--data-root", tmp_path, "--subset", "test")
    _assert_found(result, "vspw", [(layout.root / "test.txt", "missing video list")])


def test_check_unknown_subset(tmp_path):
    make_camvid(tmp_path)
    result = _cli("check", "--dataset", "camvid", "--data-root", tmp_path, "--subset", "valid")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.output.strip().splitlines() == ["error: --subset 'valid': camvid has subsets train, val, test"]


def test_check_frame_size_changes_within_video(tmp_path):
    layout = make_camvid(tmp_path)
    other = layout.frame("val", "0016E5", 2)
    write_png(other.image, noise_rgb(1, (H + 8, W)))
    write_png(other.mask, pattern((1,), (H + 8, W)))
    result = _cli("check", "--dataset", "camvid", "--data-root", layout.root)
    _assert_found(result, "camvid", [(other.image, f"frame is {W}x{H + 8}, earlier frames of 0016E5 are {W}x{H}")])


def test_check_camvid_reports_every_fault(tmp_path):
    layout = make_camvid(tmp_path)
    missing = layout.frame("val", "0016E5", 0).mask
    missing.unlink()
    truncated = truncate_file(layout.frame("val", "0016E5", 1).image)
    wide = write_png(layout.frame("val", "0016E5", 2).mask, pattern((0, 3), (H, W + 2)))
    bad = write_png(layout.frame("val", "0016E5", 3).mask, pattern((0, 12)))
    gone = layout.frame("train", "0001TP", 1).image
    gone.unlink()
    rgb = write_rgb_mask(layout.frame("train", "0006R0", 0).mask)
    result = _cli("check", "--dataset", "camvid", "--data-root", tmp_path)
    _assert_found(result, "camvid", [
        (missing, "missing mask"),
        (truncated, "unreadable frame"),
        (wide, f"mask is {W + 2}x{H}"),
        (bad, "12"),
        (gone, "missing frame"),
        (rgb, "'RGB'"),
    ])  # fmt: skip


def test_check_cityscapes_reports_every_fault(tmp_path):
    layout = make_cityscapes(tmp_path)
    frankfurt, lindau = "frankfurt_000000_000294", "lindau_000012_000019"
    gone = layout.frame("val", frankfurt, 3).image
    gone.unlink()
    truncated = truncate_file(layout.frame("val", lindau, 7).image)
    small = write_png(layout.frame("val", lindau, 19).mask, pattern((0, 1), (H // 2, W // 2)))
    bad = write_png(layout.frame("train", "aachen_000000_000019", 19).mask, pattern((0, 19, 33)))
    result = _cli("check", "--dataset", "cityscapes", "--data-root", layout.root)
    _assert_found(result, "cityscapes", [
        (gone, "missing sequence frame"),
        (truncated, "unreadable frame"),
        (small, f"mask is {W // 2}x{H // 2}"),
        (bad, "19, 33"),
    ])  # fmt: skip


def test_check_dataset_function_counts(tmp_path):
    layout = make_camvid(tmp_path)
    for i in range(4):
        write_png(layout.frame("val", "0016E5", i).mask, pattern((0, 11, 40 + i)))
    lines: list[str] = []
    count = check_dataset("camvid", tmp_path, ["val"], echo=lines.append, workers=3)
    assert count == 4
    problems = [x for x in lines if x.startswith("problem: ")]
    assert len(problems) == 4
    assert sorted(int(p.split("label value(s) ")[1].split()[0]) for p in problems) == [40, 41, 42, 43]


# Without --subset, check covers every subset present; listing errors of those subsets are problems,
# and a folder with no subset at all is one too.


def test_check_empty_folder_is_a_problem(tmp_path):
    (tmp_path / "empty").mkdir()
    result = _cli("check", "--dataset", "vspw", "--data-root", tmp_path / "empty")
    assert result.exit_code == 2, result.output


def test_check_cityscapes_label_ids_only_is_reported(tmp_path):
    make_cityscapes(tmp_path, train_ids=False)
    result = _cli("check", "--dataset", "cityscapes", "--data-root", tmp_path)
    assert result.exit_code == 2, result.output
    assert "ovbench prepare cityscapes" in result.output


def test_check_cityscapes_label_ids_only_with_subset(tmp_path):
    layout = make_cityscapes(tmp_path, train_ids=False)
    result = _cli("check", "--dataset", "cityscapes", "--data-root", tmp_path, "--subset", "val")
    problems = _assert_found(result, "cityscapes", [(layout.root / "gtFine" / "val", "labelIds")])
    assert "ovbench prepare cityscapes" in problems[0]


def test_check_camvid_malformed_listing_is_reported(tmp_path):
    layout = make_camvid(tmp_path, extra_lines={"val": ["val/0016E5_07967.png"]})
    result = _cli("check", "--dataset", "camvid", "--data-root", layout.root)
    assert result.exit_code == 2, result.output
    assert "val.txt:5" in result.output


# =========================================================================== prepare cityscapes


def test_prepare_cityscapes_mapping_and_loader(tmp_path):
    layout = make_cityscapes(tmp_path, train_ids=False)
    all_ids = np.array(sorted(LABEL_TO_TRAIN), dtype=np.uint8)
    ids_img = pattern(tuple(all_ids) + (34, 200, 255))  # unknown ids -> ignore as well
    target = layout.frame("val", "frankfurt_000000_000294", 19)
    write_png(target.label_ids, ids_img)

    result = _cli("prepare", "cityscapes", "--data-root", tmp_path)
    assert result.exit_code == 0, result.output
    assert "converted 3 label files (0 already present)" in result.output

    written = np.asarray(Image.open(target.mask))
    assert Image.open(target.mask).mode == "L"
    assert written.shape == ids_img.shape
    for label_id, train_id in LABEL_TO_TRAIN.items():
        assert set(np.unique(written[ids_img == label_id])) == {train_id}, label_id
    # the ones everyone checks
    spot = {7: 0, 8: 1, 26: 13, 0: 255, 33: 18, 24: 11, 23: 10}
    for label_id, train_id in spot.items():
        assert (written[ids_img == label_id] == train_id).all()
    assert (written[ids_img >= 34] == 255).all()
    assert not list(layout.root.rglob("*.part"))

    # afterwards the loader reads them
    ds = Cityscapes(layout.root, "val")
    videos = ds.videos()
    assert [v.name for v in videos] == ["frankfurt_000000_000294", "lindau_000012_000019"]
    np.testing.assert_array_equal(ds.read_label(videos[0].frames[19]), written)
    _assert_clean(_cli("check", "--dataset", "cityscapes", "--data-root", layout.root))


def test_prepare_matches_cityscapesscripts(tmp_path):
    from cityscapesscripts.helpers.labels import labels

    for label in labels:
        if label.id >= 0:
            expected = label.trainId if 0 <= label.trainId < 255 else 255
            assert LABEL_TO_TRAIN[label.id] == expected, label.name
    layout = make_cityscapes(tmp_path, annotated={"val": [("bonn", 0, 19)]}, train_ids=False)
    frame = layout.frame("val", "bonn_000000_000019", 19)
    ids = pattern(tuple(range(34)))
    write_png(frame.label_ids, ids)
    assert _cli("prepare", "cityscapes", "--data-root", layout.root).exit_code == 0
    np.testing.assert_array_equal(np.asarray(Image.open(frame.mask)), np.vectorize(LABEL_TO_TRAIN.get)(ids))


def test_prepare_does_not_overwrite(tmp_path, monkeypatch):
    layout = make_cityscapes(tmp_path, train_ids=False)
    existing = layout.frame("val", "lindau_000012_000019", 19).mask
    mine = pattern((5, 6))  # deliberately not what a conversion would give
    write_png(existing, mine)
    before = existing.stat().st_mtime_ns, existing.read_bytes()

    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    result = _cli("prepare", "cityscapes")
    assert result.exit_code == 0, result.output
    assert "converted 2 label files (1 already present)" in result.output
    assert (existing.stat().st_mtime_ns, existing.read_bytes()) == before
    np.testing.assert_array_equal(np.asarray(Image.open(existing)), mine)

    # a second run converts nothing and changes nothing
    other = layout.frame("val", "frankfurt_000000_000294", 19).mask
    other_bytes = other.read_bytes()
    result = _cli("prepare", "cityscapes")
    assert "converted 0 label files (3 already present)" in result.output
    assert other.read_bytes() == other_bytes


def test_prepare_errors(tmp_path):
    (tmp_path / "nothing").mkdir()
    result = _cli("prepare", "cityscapes", "--data-root", tmp_path / "nothing")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.output.startswith("error: ") and "gtFine" in result.output

    layout = make_cityscapes(tmp_path / "cs", train_ids=False)
    bad = write_rgb_mask(layout.frame("val", "lindau_000012_000019", 19).label_ids)
    result = _cli("prepare", "cityscapes", "--data-root", layout.root)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert str(bad) in result.output and "labelIds mask" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not list(layout.root.rglob("*.part"))
