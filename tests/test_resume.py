"""Per-video partial results, --resume, the prediction cache and frame decoding ahead of the model."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from fixtures import make_camvid_sequences
from run_helpers import SAME, VIDEOS, invoke, run_args, subprocess_env

from ovbench import registry
from ovbench.cli import cli
from ovbench.datasets import open_dataset
from ovbench.datasets.base import Video
from ovbench.errors import DataError
from ovbench.run.decode import FrameReader
from ovbench.results import read_result


@pytest.fixture(scope="module")
def camvid(tmp_path_factory):
    return make_camvid_sequences(tmp_path_factory.mktemp("data") / "camvid", VIDEOS, seed=1)


@pytest.fixture(scope="module")
def single(camvid, tmp_path_factory):
    out = tmp_path_factory.mktemp("single") / "one.json"
    res = invoke(camvid, out, "--workers", "0")
    assert res.exit_code == 0, res.output
    return read_result(out)


def assert_same(result, reference):
    for key in SAME:
        assert result[key] == reference[key], key


def interrupted_run(camvid, tmp_path, *extra):
    """A complete run whose result is deleted and whose partial files are kept: what a kill after
    the last video would leave, to be resumed or damaged by the tests."""
    out = tmp_path / "r.json"
    res = invoke(camvid, out, "--keep-partials", *extra)
    assert res.exit_code == 0, res.output
    out.unlink()
    return out, tmp_path / "r.json.partial"


def test_run_killed_mid_video_resumes_to_the_uninterrupted_result(camvid, single, tmp_path):
    out = tmp_path / "r.json"
    args = run_args(camvid, out, "--kill-after", "2")
    killed = subprocess.run([sys.executable, "-m", "ovbench", *args],
                            env=subprocess_env(tmp_path), capture_output=True, text=True, timeout=60)  # fmt: skip
    assert killed.returncode == -9, killed.stderr  # SIGKILL in the middle of the third video
    partial = tmp_path / "r.json.partial"
    assert sorted(p.name for p in partial.iterdir()) == ["run.json", "video-0001TP.json", "video-0002AB.json"]
    assert not out.exists()
    refused = invoke(camvid, out)
    assert refused.exit_code == 2
    assert "holds partial results of an unfinished run (2 video(s) done); pass --on-existing resume" in refused.output
    res = invoke(camvid, out, "--on-existing", "resume")  # the same as the older --resume
    assert res.exit_code == 0, res.output
    assert "resuming from" in res.output and "2 of 5 videos already scored" in res.output
    resumed = read_result(out)
    assert_same(resumed, single)
    assert resumed["timing"]["resumed_videos"] == 2 and resumed["timing"]["frames_run"] == 54 - 11 - 9
    assert not partial.exists()


def test_corrupt_partial_files_are_redone_not_trusted(camvid, single, tmp_path):
    out, partial = interrupted_run(camvid, tmp_path)
    truncated = partial / "video-0016E5.json"
    truncated.write_bytes(truncated.read_bytes()[:100])
    tampered = partial / "video-0003CD.json"
    data = json.loads(tampered.read_text())
    data["tally"]["counts"] = [c * 2 for c in data["tally"]["counts"]]  # checksum no longer matches
    tampered.write_text(json.dumps(data))
    garbage = partial / "video-0006R0.json"
    garbage.write_bytes(b"\x00\xff not json")
    stray = partial / ".video-0001TP.json.x1y2.part"  # a write that a kill cut short
    stray.write_text("{")
    res = invoke(camvid, out, "--resume")
    assert res.exit_code == 0, res.output
    warnings = [line for line in res.output.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, res.output
    for name in ("video-0016E5.json (JSONDecodeError)", "video-0003CD.json (checksum mismatch)",
                 "video-0006R0.json (UnicodeDecodeError)"):  # fmt: skip
        assert name in warnings[0]
    assert "3 partial result file(s)" in warnings[0] and "2 of 5 videos already scored" in res.output
    assert_same(read_result(out), single)  # the tampered counts were not used


def test_partials_of_another_configuration_are_refused_with_the_difference(camvid, tmp_path):
    out, partial = interrupted_run(camvid, tmp_path)
    res = invoke(camvid, out, "--resume", "--shift", "1")
    assert res.exit_code == 2
    assert res.output.count("\n") == 1 and "holds partial results of a different run" in res.output
    assert "options {'shift': 0} there, {'shift': 1} now" in res.output and "--on-existing overwrite" in res.output
    res = invoke(camvid, out, "--overwrite", "--shift", "1")  # discards them and starts over
    assert res.exit_code == 0, res.output
    options = read_result(out)["model"]["options"]
    assert options["shift"] == 1 and set(options) == {"shift", "prompts"} and not partial.exists()


def test_a_file_from_another_configuration_is_run_again(camvid, single, tmp_path):
    out, partial = interrupted_run(camvid, tmp_path)
    other = partial / "video-0001TP.json"
    data = json.loads(other.read_text())
    data["run"] = "0" * 32
    from ovbench.run.partials import _checksum

    data["checksum"] = _checksum({k: v for k, v in data.items() if k != "checksum"})
    other.write_text(json.dumps(data))
    res = invoke(camvid, out, "--resume")
    assert res.exit_code == 0, res.output
    assert "note: 1 partial result file(s)" in res.output and "video-0001TP.json (another configuration)" in res.output
    assert_same(read_result(out), single)


def test_resume_without_partials_starts_from_the_first_video(camvid, single, tmp_path):
    res = invoke(camvid, tmp_path / "r.json", "--resume")
    assert res.exit_code == 0, res.output
    assert "no partial results at" in res.output
    assert_same(read_result(tmp_path / "r.json"), single)


def test_missing_saved_predictions_make_their_video_run_again(camvid, single, tmp_path):
    pred = tmp_path / "pred"
    out, _ = interrupted_run(camvid, tmp_path, "--save-predictions", pred)
    for png in (pred / "0003CD").iterdir():
        png.unlink()
    res = invoke(camvid, out, "--resume", "--save-predictions", pred)
    assert res.exit_code == 0, res.output
    assert "video-0003CD.json (its --save-predictions PNGs are missing)" in res.output
    assert len(list((pred / "0003CD").iterdir())) == VIDEOS["0003CD"]
    assert_same(read_result(out), single)


def test_interrupt_points_to_resume(camvid, tmp_path):
    registry.register("toy-interrupted", "toy_models:Interrupted")
    res = CliRunner().invoke(cli, ["run", "--model", "toy-interrupted", "--dataset", "camvid", "--data-root",
                                   str(camvid), "--out", str(tmp_path / "r.json"), "--no-progress"])  # fmt: skip
    assert res.exit_code == 130
    assert "no result was written" in res.output and "rerun with --on-existing resume to continue" in res.output


# --------------------------------------------------------------------------------------------- prediction cache


def test_prediction_cache_is_reused_and_keyed_by_score_options(camvid, single, tmp_path):
    cache = tmp_path / "predcache"
    first = invoke(camvid, tmp_path / "a.json", "--prediction-cache", cache)
    assert first.exit_code == 0, first.output
    (entry,) = cache.iterdir()
    assert len([p for p in entry.iterdir() if p.is_dir()]) == 5 and (entry / "model.json").is_file()
    # --fail-video does not change predictions (speed-only option): the cache is used and the model never runs
    again = invoke(camvid, tmp_path / "b.json", "--prediction-cache", cache, "--fail-video", "0001TP", "--workers", "1")
    assert again.exit_code == 0, again.output
    assert_same(read_result(tmp_path / "b.json"), single)
    # a damaged entry is run again (and rewritten)
    png = next((entry / next(d.name for d in entry.iterdir() if d.name.startswith("0016E5"))).glob("*.png"))
    png.write_bytes(b"nonsense")
    third = invoke(camvid, tmp_path / "c.json", "--prediction-cache", cache)
    assert third.exit_code == 0 and "is damaged" in third.output
    assert_same(read_result(tmp_path / "c.json"), single)
    # another score option is another key: the model runs (and fails where asked to)
    other = invoke(camvid, tmp_path / "d.json", "--prediction-cache", cache, "--shift", "2", "--fail-video", "0001TP")
    assert other.exit_code == 2 and "prediction for 0001TP/" in other.output


def test_unwritable_prediction_cache_only_warns(camvid, single, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    res = invoke(camvid, tmp_path / "r.json", "--prediction-cache", blocked / "cache")
    assert res.exit_code == 0, res.output
    assert res.output.count("warning: prediction cache") == 1 and "is not writable" in res.output
    assert_same(read_result(tmp_path / "r.json"), single)


# --------------------------------------------------------------------------------------------- decoding ahead


def test_workers_change_nothing_but_speed(camvid, single, tmp_path):
    for workers in ("1", "4"):
        res = invoke(camvid, tmp_path / f"w{workers}.json", "--workers", workers)
        assert res.exit_code == 0, res.output
        assert_same(read_result(tmp_path / f"w{workers}.json"), single)


def test_frame_reader_serves_scored_frames_and_masks_in_order(camvid):
    dataset = open_dataset("camvid", camvid, "val")
    records = dataset.videos()[3:5]  # 0006R0 (3 frames), 0016E5 (18 frames)
    reader = FrameReader(dataset, records, [True, False], workers=2)
    try:
        plain = Video(records[0])
        video = Video(records[0], prefetched=lambda i: reader.frame(0, i))
        assert np.array_equal(video[2], plain[2])  # read ahead of the masks: 0 and 1 are buffered
        assert not video[2].flags.writeable
        assert np.array_equal(reader.mask(0, 0), dataset.read_label(records[0].frames[0]))
        assert reader.frame(0, 0) is None  # its mask was taken: a frame the model skipped is dropped
        assert np.array_equal(video[1], plain[1]) and reader.frame(0, 1) is None  # handed out once
        for i in (1, 2):
            assert np.array_equal(reader.mask(0, i), dataset.read_label(records[0].frames[i]))
        assert reader.frame(1, 0) is None  # second video: masks only (its predictions are cached)
        for i in range(18):
            assert np.array_equal(reader.mask(1, i), dataset.read_label(records[1].frames[i]))
    finally:
        reader.close()


def test_a_bad_mask_in_a_worker_is_one_clear_error(tmp_path):
    root = make_camvid_sequences(tmp_path / "camvid", {"0001TP": 3})
    (root / "valannot" / "0001TP_00001.png").write_bytes(b"not a png")
    dataset = open_dataset("camvid", root, "val")
    reader = FrameReader(dataset, dataset.videos(), [True], workers=1)
    try:
        reader.mask(0, 0)
        with pytest.raises(DataError, match=r"0001TP_00001.png: unreadable mask \(") as caught:
            reader.mask(0, 1)
        assert "\n" not in str(caught.value)
    finally:
        reader.close()


def test_on_existing_and_its_alias_flags_are_one_choice(camvid, tmp_path):
    out, partial = interrupted_run(camvid, tmp_path)
    res = invoke(camvid, out, "--on-existing", "overwrite", "--resume")
    assert res.exit_code == 2
    assert "--on-existing overwrite and --resume both say what to do with existing files; pass one" in res.output
    assert partial.is_dir() and not out.exists()  # refused before anything was touched
    res = invoke(camvid, out, "--on-existing", "overwrite")  # discards the partial results and starts over
    assert res.exit_code == 0, res.output
    assert read_result(out)["timing"]["resumed_videos"] == 0
    res = invoke(camvid, out)
    assert res.exit_code == 2 and f"{out} exists; pass --on-existing overwrite to replace it" in res.output
