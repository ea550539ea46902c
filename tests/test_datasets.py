"""Dataset loaders on tiny fixtures in the official layouts, their errors, and the real CamVid copy."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from fixtures import (
    CITYSCAPES_ID_TO_TRAIN,
    LABEL_ID_VALUES,
    H,
    W,
    make_camvid,
    make_cityscapes,
    make_vspw,
    pattern,
    truncate_file,
    write_garbage,
    write_png,
    write_rgb_mask,
)

from ovbench.cli import cli
from ovbench.datasets import (
    DATA_ENV,
    DATASETS,
    IGNORE,
    FrameRecord,
    Video,
    VideoRecord,
    fingerprint,
    open_dataset,
    resolve_root,
)
from ovbench.datasets.camvid import CamVid
from ovbench.datasets.cityscapes import Cityscapes
from ovbench.datasets.vspw import VSPW
from ovbench.errors import DataError, OvbenchError

REAL_CAMVID = Path(__file__).parents[1] / "../shared/data/camvid"


def _raises_naming(path: Path, fn, *fragments: str):
    """Runs ``fn``; it must raise a DataError whose one-line message names ``path`` (and ``fragments``)."""
    with pytest.raises(DataError) as info:
        fn()
    message = str(info.value)
    assert str(path) in message, message
    assert "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


def _read_all(dataset):
    """Lists the dataset, then decodes every frame and every mask (what a run does)."""
    for record in dataset.videos():
        video = Video(record)
        for i, frame in enumerate(record.frames):
            video[i]
            if frame.scored:
                dataset.read_label(frame)


# =========================================================================== VSPW


def test_vspw_videos_names_and_frame_order(tmp_path):
    layout = make_vspw(tmp_path)
    ds = VSPW(layout.root, "val")
    videos = ds.videos()
    # sorted by name, whatever the order of val.txt (which also has blank lines and trailing spaces)
    assert [v.name for v in videos] == ["1001_5z_gjTyG7Fc", "20_yXHCPbxc4zw"]
    v = videos[0]
    assert [f.name for f in v.frames] == ["00000001", "00000004", "00000007", "00000010"]
    assert [f.image for f in v.frames] == [f.image for f in layout.frames("val", "1001_5z_gjTyG7Fc")]
    assert [f.label for f in v.frames] == [f.mask for f in layout.frames("val", "1001_5z_gjTyG7Fc")]
    assert v.scored_indices == (0, 1, 2, 3)
    assert [v.name for v in VSPW(layout.root, "train").videos()] == ["127_-hIVCYO4C90", "2241_qr5Fqv-E55o"]


def test_vspw_frame_order_is_by_file_name_not_number_width(tmp_path):
    # 8-digit zero padding: name order == temporal order even across decades
    layout = make_vspw(tmp_path, videos={"val": {"v": 5}}, first_frame=7, step=1)
    frames = VSPW(layout.root, "val").videos()[0].frames
    assert [f.name for f in frames] == ["00000007", "00000008", "00000009", "00000010", "00000011"]


def test_vspw_test_subset_has_no_scored_frames(tmp_path):
    layout = make_vspw(tmp_path)
    (video,) = VSPW(layout.root, "test").videos()
    assert video.name == "33_VF2TAr_Dn1A"
    assert len(video.frames) == 2 and video.scored_indices == ()
    with pytest.raises(DataError, match="no ground-truth mask"):
        VSPW(layout.root, "test").read_label(video.frames[0])


def test_vspw_label_remapping_exact(tmp_path):
    raw = np.array([[0, 1, 2, 50], [123, 124, 255, 0]], dtype=np.uint8)
    layout = make_vspw(tmp_path, videos={"val": {"v": 1}}, mask_values=lambda v, i: raw, size=(2, 4))
    ds = VSPW(layout.root, "val")
    label = ds.read_label(ds.videos()[0].frames[0])
    assert label.dtype == np.uint8
    np.testing.assert_array_equal(label, [[255, 0, 1, 49], [122, 123, 255, 255]])
    # every raw value: r -> r-1 for 1..124, 0 and 255 -> ignore
    lut = ds.encoding.lut
    assert all(lut[r] == r - 1 for r in range(1, 125))
    assert lut[0] == IGNORE and lut[255] == IGNORE
    assert ds.num_classes == 124


@pytest.mark.parametrize("value", [125, 130, 254])
def test_vspw_label_outside_class_set(tmp_path, value):
    layout = make_vspw(tmp_path, videos={"val": {"v": 2}})
    mask = layout.frame("val", "v", 1).mask
    bad = pattern((1, 2, value))
    write_png(mask, bad)
    ds = VSPW(layout.root, "val")
    _raises_naming(mask, lambda: ds.read_label(ds.videos()[0].frames[1]), str(value), "outside the class set")


def test_vspw_missing_mask(tmp_path):
    layout = make_vspw(tmp_path)
    mask = layout.frame("val", "20_yXHCPbxc4zw", 1).mask
    mask.unlink()
    _raises_naming(mask, VSPW(layout.root, "val").videos, "missing mask")


def test_vspw_missing_video_folder_listed(tmp_path):
    layout = make_vspw(tmp_path, list_only={"val": ["999_not_downloaded"]})
    _raises_naming(layout.root / "data" / "999_not_downloaded", VSPW(layout.root, "val").videos, "val.txt")


def test_vspw_video_without_frames(tmp_path):
    layout = make_vspw(tmp_path, videos={"val": {"v": 1}})
    shutil.rmtree(layout.root / "data" / "v" / "origin")
    (layout.root / "data" / "v" / "origin").mkdir()
    (layout.root / "data" / "v" / "mask" / "00000001.png").unlink()
    _raises_naming(layout.root / "data" / "v" / "origin", VSPW(layout.root, "val").videos, "no frames")


def test_vspw_mask_without_frame(tmp_path):
    layout = make_vspw(tmp_path, videos={"val": {"v": 2}})
    orphan = write_png(layout.root / "data" / "v" / "mask" / "00000099.png", pattern((1,)))
    _raises_naming(orphan, VSPW(layout.root, "val").videos, "without a frame")


def test_vspw_missing_listing(tmp_path):
    layout = make_vspw(tmp_path, videos={"val": {"v": 1}})
    _raises_naming(layout.root / "train.txt", VSPW(layout.root, "train").videos)


def test_vspw_empty_listing(tmp_path):
    layout = make_vspw(tmp_path, videos={"val": {}})
    with pytest.raises(DataError, match="no val videos"):
        VSPW(layout.root, "val").videos()


@pytest.mark.parametrize(
    "fault, fragment",
    [
        (truncate_file, "unreadable mask"),
        (write_garbage, "unreadable mask"),
        (lambda p: write_garbage(p, b""), "unreadable mask"),
        (write_rgb_mask, "'RGB'"),
    ],
    ids=["truncated", "garbage", "empty", "rgb"],
)
def test_vspw_bad_mask_file(tmp_path, fault, fragment):
    layout = make_vspw(tmp_path, videos={"val": {"v": 3}})
    mask = layout.frame("val", "v", 2).mask
    fault(mask)
    ds = VSPW(layout.root, "val")
    ds.videos()  # listing only looks at names
    _raises_naming(mask, lambda: _read_all(ds), fragment)


@pytest.mark.parametrize("fault", [truncate_file, write_garbage, lambda p: write_garbage(p, b"")],
                         ids=["truncated", "garbage", "empty"])  # fmt: skip
def test_vspw_bad_frame_file(tmp_path, fault):
    layout = make_vspw(tmp_path, videos={"val": {"v": 3}})
    image = layout.frame("val", "v", 1).image
    fault(image)
    ds = VSPW(layout.root, "val")
    video = Video(ds.videos()[0])
    video[0]
    _raises_naming(image, lambda: video[1], "unreadable frame")


def test_vspw_palette_mask_gives_indices(tmp_path):
    from PIL import Image

    layout = make_vspw(tmp_path, videos={"val": {"v": 1}})
    mask = layout.frame("val", "v", 0).mask
    raw = pattern((0, 5, 124, 255))
    pal = Image.new("P", (W, H))
    pal.putpalette([v for i in range(256) for v in (i, 255 - i, i // 2)])  # colours unlike the indices
    pal.putdata(raw.ravel().tolist())
    pal.save(mask)
    assert Image.open(mask).mode == "P"
    ds = VSPW(layout.root, "val")
    label = ds.read_label(ds.videos()[0].frames[0])
    np.testing.assert_array_equal(label, ds.encoding.lut[raw])


# =========================================================================== Cityscapes


def test_cityscapes_snippets(tmp_path):
    layout = make_cityscapes(tmp_path)
    ds = Cityscapes(layout.root, "val")
    videos = ds.videos()
    assert [v.name for v in videos] == ["frankfurt_000000_000294", "lindau_000012_000019"]
    for v in videos:
        assert len(v.frames) == 30
        assert v.scored_indices == (19,)
        assert [f.image for f in v.frames] == [f.image for f in layout.frames("val", v.name)]
        assert all(f.label is None for i, f in enumerate(v.frames) if i != 19)
    v = videos[0]
    assert v.frames[0].name == "frankfurt_000000_000275_leftImg8bit"
    assert v.frames[19].name == "frankfurt_000000_000294_leftImg8bit"
    assert v.frames[29].name == "frankfurt_000000_000304_leftImg8bit"
    assert v.frames[19].label == layout.root / "gtFine/val/frankfurt/frankfurt_000000_000294_gtFine_labelTrainIds.png"
    assert [f.name for f in v.frames] == sorted(f.name for f in v.frames)
    assert [v.name for v in Cityscapes(layout.root, "train").videos()] == ["aachen_000000_000019"]


def test_cityscapes_still_fallback_gives_one_frame_videos(tmp_path):
    layout = make_cityscapes(tmp_path, sequence=False, still=True)
    videos = Cityscapes(layout.root, "val").videos()
    assert [v.name for v in videos] == ["frankfurt_000000_000294", "lindau_000012_000019"]
    for v in videos:
        assert len(v.frames) == 1 and v.scored_indices == (0,)
        assert v.frames[0].image.parent.parent.parent.name == "leftImg8bit"
        assert v.frames[0].name == f"{v.name}_leftImg8bit"


def test_cityscapes_prefers_sequences_over_stills(tmp_path):
    layout = make_cityscapes(tmp_path, sequence=True, still=True)
    assert all(len(v.frames) == 30 for v in Cityscapes(layout.root, "val").videos())


def test_cityscapes_train_ids_kept(tmp_path):
    layout = make_cityscapes(tmp_path)
    ds = Cityscapes(layout.root, "val")
    frame = ds.videos()[0].frames[19]
    label = ds.read_label(frame)
    ids = pattern(LABEL_ID_VALUES, shift=0)
    expected = np.vectorize(CITYSCAPES_ID_TO_TRAIN.get)(ids)
    np.testing.assert_array_equal(label, expected)
    assert set(np.unique(label)) == {0, 1, 2, 5, 8, 10, 11, 13, 18, 255}
    assert all(ds.encoding.lut[c] == c for c in range(19)) and ds.encoding.lut[255] == 255
    assert ds.num_classes == 19


def test_cityscapes_train_id_outside_class_set(tmp_path):
    layout = make_cityscapes(tmp_path)
    label = layout.frame("val", "lindau_000012_000019", 19).mask
    write_png(label, pattern((0, 18, 19)))
    ds = Cityscapes(layout.root, "val")
    _raises_naming(label, lambda: _read_all(ds), "19")


def test_cityscapes_only_label_ids(tmp_path):
    layout = make_cityscapes(tmp_path, train_ids=False)
    msg = _raises_naming(layout.root / "gtFine" / "val", Cityscapes(layout.root, "val").videos)
    assert "ovbench prepare cityscapes" in msg
    assert "labelIds" in msg


def test_cityscapes_partly_converted_labels_are_a_problem(tmp_path):
    layout = make_cityscapes(tmp_path)
    unconverted = layout.frame("val", "lindau_000012_000019", 19)
    unconverted.mask.unlink()
    ds = Cityscapes(layout.root, "val")
    _, problems = ds.collect_problems()
    assert any("lindau_000012_000019" in p for p in problems), problems
    with pytest.raises(DataError, match="lindau_000012_000019"):
        Cityscapes(layout.root, "val").videos()


def test_cityscapes_missing_sequence_frame(tmp_path):
    layout = make_cityscapes(tmp_path)
    missing = layout.frame("val", "frankfurt_000000_000294", 25).image
    missing.unlink()
    _raises_naming(missing, Cityscapes(layout.root, "val").videos, "missing sequence frame")


def test_cityscapes_missing_still_frame(tmp_path):
    layout = make_cityscapes(tmp_path, sequence=False, still=True)
    missing = layout.frame("val", "lindau_000012_000019", 0).image
    missing.unlink()
    _raises_naming(missing, Cityscapes(layout.root, "val").videos)


def test_cityscapes_missing_gtfine_and_images(tmp_path):
    layout = make_cityscapes(tmp_path, sequence=False, still=False)
    _raises_naming(layout.root / "leftImg8bit_sequence" / "val", Cityscapes(layout.root, "val").videos)
    _raises_naming(layout.root / "gtFine" / "test", Cityscapes(layout.root, "test").videos)


def test_cityscapes_badly_named_label(tmp_path):
    layout = make_cityscapes(tmp_path)
    bad = write_png(layout.root / "gtFine/val/frankfurt/frankfurt_12_gtFine_labelTrainIds.png", pattern((0,)))
    _raises_naming(bad, Cityscapes(layout.root, "val").videos)


def test_cityscapes_bad_label_file(tmp_path):
    layout = make_cityscapes(tmp_path)
    label = layout.frame("val", "frankfurt_000000_000294", 19).mask
    write_rgb_mask(label)
    ds = Cityscapes(layout.root, "val")
    _raises_naming(label, lambda: ds.read_label(ds.videos()[0].frames[19]), "'RGB'")
    truncate_file(write_png(label, np.random.default_rng(0).integers(0, 19, (H, W), dtype=np.uint8)))
    _raises_naming(label, lambda: ds.read_label(ds.videos()[0].frames[19]), "unreadable mask")


# =========================================================================== CamVid


def test_camvid_videos_from_listing(tmp_path):
    layout = make_camvid(tmp_path)
    ds = CamVid(layout.root, "train")
    videos = ds.videos()
    assert [v.name for v in videos] == ["0001TP", "0006R0", "0016E5"]
    assert [f.name for f in videos[0].frames] == ["0001TP_006690", "0001TP_006720"]
    assert [f.name for f in videos[1].frames] == ["0006R0_f00930", "0006R0_f00960"]
    (val,) = CamVid(layout.root, "val").videos()
    assert val.name == "0016E5"
    # val.txt is shuffled; frames come back in file-name order
    assert [f.name for f in val.frames] == ["0016E5_07959", "0016E5_07961", "0016E5_07963", "0016E5_07965"]
    assert val.scored_indices == (0, 1, 2, 3)
    assert [f.label for f in val.frames] == [f.mask for f in layout.frames("val", "0016E5")]


def test_camvid_without_listing_uses_folders(tmp_path):
    layout = make_camvid(tmp_path, listing=False)
    (val,) = CamVid(layout.root, "val").videos()
    assert [f.image for f in val.frames] == [f.image for f in layout.frames("val", "0016E5")]
    assert [f.label for f in val.frames] == [f.mask for f in layout.frames("val", "0016E5")]


def test_camvid_absolute_listing_paths(tmp_path):
    # SegNet's own lists hold /SegNet/CamVid/train/... paths of the authors' machine
    layout = make_camvid(tmp_path, absolute_listing=True)
    (val,) = CamVid(layout.root, "val").videos()
    assert [f.image for f in val.frames] == [f.image for f in layout.frames("val", "0016E5")]


def test_camvid_label_remapping_exact(tmp_path):
    raw = np.array([[0, 1, 5, 10], [11, 255, 3, 11]], dtype=np.uint8)
    layout = make_camvid(tmp_path, videos={"val": {"0016E5": ["07959"]}}, mask_values=lambda s, i: raw, size=(2, 4))
    ds = CamVid(layout.root, "val")
    label = ds.read_label(ds.videos()[0].frames[0])
    np.testing.assert_array_equal(label, [[0, 1, 5, 10], [255, 255, 3, 255]])
    assert ds.num_classes == 11


@pytest.mark.parametrize("value", [12, 100])
def test_camvid_label_outside_class_set(tmp_path, value):
    layout = make_camvid(tmp_path)
    mask = layout.frame("val", "0016E5", 2).mask
    write_png(mask, pattern((0, 11, value)))
    ds = CamVid(layout.root, "val")
    _raises_naming(mask, lambda: _read_all(ds), str(value), "outside the class set")


def test_camvid_missing_mask_and_frame(tmp_path):
    layout = make_camvid(tmp_path)
    mask = layout.frame("val", "0016E5", 1).mask
    mask.unlink()
    _raises_naming(mask, CamVid(layout.root, "val").videos, "missing mask")
    image = layout.frame("train", "0006R0", 0).image
    image.unlink()
    _raises_naming(image, CamVid(layout.root, "train").videos, "missing frame")


def test_camvid_missing_mask_without_listing(tmp_path):
    layout = make_camvid(tmp_path, listing=False)
    mask = layout.frame("val", "0016E5", 3).mask
    mask.unlink()
    _raises_naming(mask, CamVid(layout.root, "val").videos, "missing mask")


def test_camvid_malformed_listing_line(tmp_path):
    layout = make_camvid(tmp_path, extra_lines={"val": ["val/0016E5_07967.png"]})
    _raises_naming(layout.root / "val.txt", CamVid(layout.root, "val").videos, "val.txt:5")


def test_camvid_no_subset(tmp_path):
    layout = make_camvid(tmp_path, videos={"train": {"0001TP": ["006690"]}})
    _raises_naming(layout.root, CamVid(layout.root, "val").videos, "val.txt")


@pytest.mark.parametrize(
    "fault, fragment",
    [(truncate_file, "unreadable mask"), (write_garbage, "unreadable mask"), (write_rgb_mask, "'RGB'")],
    ids=["truncated", "garbage", "rgb"],
)
def test_camvid_bad_mask_file(tmp_path, fault, fragment):
    layout = make_camvid(tmp_path)
    mask = fault(layout.frame("val", "0016E5", 0).mask)
    _raises_naming(mask, lambda: _read_all(CamVid(layout.root, "val")), fragment)


def test_camvid_truncated_frame(tmp_path):
    layout = make_camvid(tmp_path)
    image = truncate_file(layout.frame("val", "0016E5", 3).image)
    _raises_naming(image, lambda: _read_all(CamVid(layout.root, "val")), "unreadable frame")


# =========================================================================== common behaviour


def test_unknown_subset_and_dataset(tmp_path):
    layout = make_camvid(tmp_path)
    with pytest.raises(DataError, match="'valid'"):
        CamVid(layout.root, "valid")
    with pytest.raises(OvbenchError, match="unknown"):
        open_dataset("kitti", layout.root, "val")
    assert set(DATASETS.names()) == {"vspw", "cityscapes", "camvid"}


@pytest.mark.parametrize(
    "name, make, folder",
    [
        ("vspw", make_vspw, "VSPW_480p"),
        ("vspw", make_vspw, "VSPW"),
        ("cityscapes", make_cityscapes, "cityscapes"),
        ("camvid", make_camvid, "camvid"),
        ("camvid", make_camvid, "CamVid"),
    ],
)
def test_resolve_root_dataset_folder_or_parent(tmp_path, monkeypatch, name, make, folder):
    monkeypatch.delenv(DATA_ENV, raising=False)
    layout = make(tmp_path, folder=folder)
    (tmp_path / "unrelated").mkdir()
    assert resolve_root(name, layout.root) == layout.root
    assert resolve_root(name, tmp_path) == layout.root
    assert resolve_root(name, str(tmp_path)) == layout.root
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    assert resolve_root(name, None) == layout.root
    monkeypatch.setenv(DATA_ENV, str(layout.root))
    assert resolve_root(name, None) == layout.root
    # --data-root wins over the environment
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "unrelated"))
    assert resolve_root(name, tmp_path) == layout.root
    # and the opened dataset lists the same videos either way
    assert [v.name for v in open_dataset(name, tmp_path, "val").videos()] == [
        v.name for v in open_dataset(name, layout.root, "val").videos()
    ]


def test_resolve_root_nested_vspw(tmp_path):
    # $OVBENCH_DATA/vspw/VSPW_480p/...: the shared-root subfolder, then the official folder inside it
    layout = make_vspw(tmp_path / "vspw")
    assert resolve_root("vspw", tmp_path) == tmp_path / "vspw"
    ds = open_dataset("vspw", tmp_path, "val")
    assert ds.root == layout.root
    assert len(ds.videos()) == 2


def test_vspw_opened_on_parent_folder(tmp_path):
    layout = make_vspw(tmp_path)
    assert VSPW(tmp_path, "val").root == layout.root
    assert len(VSPW(tmp_path, "val").videos()) == 2


def test_resolve_root_errors(tmp_path, monkeypatch):
    monkeypatch.delenv(DATA_ENV, raising=False)
    with pytest.raises(OvbenchError, match=DATA_ENV):
        resolve_root("camvid", None)
    monkeypatch.setenv(DATA_ENV, "")
    with pytest.raises(OvbenchError, match="--data-root"):
        resolve_root("camvid", None)
    missing = tmp_path / "nowhere"
    with pytest.raises(DataError, match=str(missing)):
        resolve_root("camvid", missing)
    monkeypatch.setenv(DATA_ENV, str(missing))
    with pytest.raises(DataError, match=str(missing)):
        resolve_root("vspw", None)
    file = tmp_path / "file.txt"
    file.write_text("x")
    with pytest.raises(DataError, match="not a folder"):
        resolve_root("cityscapes", file)


def _record(name: str, scored: str) -> VideoRecord:
    """A video whose frame i is scored where ``scored[i] == 'x'``."""
    return VideoRecord(
        name,
        tuple(FrameRecord(f"{i:03d}", Path(f"{name}/{i:03d}.png"), Path("m.png") if c == "x" else None)
              for i, c in enumerate(scored)),
    )  # fmt: skip


def test_video_record_truncated():
    v = _record("v", "..x..x.x..")
    assert v.scored_indices == (2, 5, 7)
    assert v.truncated(None) is v
    assert len(v.truncated(1).frames) == 3 and v.truncated(1).scored_indices == (2,)
    assert len(v.truncated(2).frames) == 6 and v.truncated(2).scored_indices == (2, 5)
    assert v.truncated(3) is v and v.truncated(10) is v  # all of it, trailing unscored frames too
    assert v.truncated(2).name == "v"
    assert v.truncated(2).frames == v.frames[:6]


def test_cityscapes_truncated_keeps_whole_snippet(tmp_path):
    # one scored frame per snippet: --max-frames 1 changes nothing, the 10 frames after it stay
    v = Cityscapes(make_cityscapes(tmp_path).root, "val").videos()[0]
    assert v.truncated(1) is v


def test_video_random_access_and_cache(tmp_path):
    layout = make_cityscapes(tmp_path, annotated={"val": [("bonn", 0, 19)]})
    record = Cityscapes(layout.root, "val").videos()[0]
    video = Video(record, cache_size=4)
    assert len(video) == 30 and video.name == "bonn_000000_000019"
    assert video.scored_indices == (19,)
    assert video.frame_names[0] == "bonn_000000_000000_leftImg8bit"
    frame = video[19]
    assert frame.shape == (H, W, 3) and frame.dtype == np.uint8
    assert not frame.flags.writeable
    from PIL import Image

    np.testing.assert_array_equal(frame, np.asarray(Image.open(record.frames[19].image).convert("RGB")))
    assert video[19] is frame  # cached, not decoded again
    assert video[-11] is frame
    assert video.frame_size(3) == (H, W)
    # random access in any order
    np.testing.assert_array_equal(video[29], np.asarray(Image.open(record.frames[29].image)))
    np.testing.assert_array_equal(video[0], np.asarray(Image.open(record.frames[0].image)))
    assert [a.shape for a in video[16:19]] == [(H, W, 3)] * 3
    assert len(video[::10]) == 3
    # the cache holds only the last few frames: 19 was pushed out and is decoded anew
    for i in range(5):
        video[i]
    again = video[19]
    assert again is not frame
    np.testing.assert_array_equal(again, frame)
    for bad in (30, -31):
        with pytest.raises(IndexError):
            video[bad]


def test_video_frames_are_decoded_lazily(tmp_path):
    layout = make_camvid(tmp_path)
    record = CamVid(layout.root, "val").videos()[0]
    truncate_file(record.frames[3].image)
    video = Video(record)  # creating the video decodes nothing
    assert video[0].shape == (H, W, 3)
    with pytest.raises(DataError):
        video[3]


def test_fingerprint_follows_the_file_list(tmp_path):
    layout = make_vspw(tmp_path)
    fp = fingerprint(VSPW(layout.root, "val").videos())
    assert fp == fingerprint(VSPW(layout.root, "val").videos())
    assert fp != fingerprint(VSPW(layout.root, "train").videos())
    assert len(fp) == 16
    last = layout.frame("val", "1001_5z_gjTyG7Fc", 3)
    last.image.unlink()
    last.mask.unlink()
    fewer = VSPW(layout.root, "val").videos()
    assert fingerprint(fewer) != fp
    assert fingerprint(fewer[:1]) != fingerprint(fewer)
    # truncation changes what is scored, hence the fingerprint
    assert fingerprint([v.truncated(1) for v in fewer]) != fingerprint(fewer)
    # unscored frames do not enter it
    assert fingerprint(VSPW(layout.root, "test").videos()) == fingerprint([])


# =========================================================================== the CLI path


def _cli(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _assert_one_line_error(result, *fragments):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: "), result.output
    for fragment in fragments:
        assert fragment in lines[0], result.output


def _predictions_for(dataset, folder: Path) -> Path:
    for record in dataset.videos():
        for i in record.scored_indices:
            frame = record.frames[i]
            write_png(folder / record.name / f"{frame.name}.png", np.zeros((H, W), dtype=np.uint8))
    return folder


def test_cli_bad_mask_is_one_line_error(tmp_path):
    layout = make_vspw(tmp_path / "data")
    preds = _predictions_for(VSPW(layout.root, "val"), tmp_path / "preds")
    mask = layout.frame("val", "20_yXHCPbxc4zw", 2).mask
    write_png(mask, pattern((3, 130)))
    result = _cli("evaluate", "--dataset", "vspw", "--data-root", tmp_path / "data", "--predictions", preds,
                  "--out", tmp_path / "r.json", "--no-progress")  # fmt: skip
    _assert_one_line_error(result, str(mask), "130")
    assert not (tmp_path / "r.json").exists()


def test_cli_truncated_mask_is_one_line_error(tmp_path):
    layout = make_camvid(tmp_path)
    preds = _predictions_for(CamVid(layout.root, "val"), tmp_path / "preds")
    mask = truncate_file(layout.frame("val", "0016E5", 1).mask)
    result = _cli("evaluate", "--dataset", "camvid", "--data-root", layout.root, "--predictions", preds,
                  "--out", tmp_path / "r.json", "--no-progress")  # fmt: skip
    _assert_one_line_error(result, str(mask))


def test_cli_label_ids_only_is_one_line_error(tmp_path):
    layout = make_cityscapes(tmp_path, train_ids=False)
    (tmp_path / "preds").mkdir()
    result = _cli("evaluate", "--dataset", "cityscapes", "--data-root", tmp_path, "--predictions",
                  tmp_path / "preds", "--out", tmp_path / "r.json", "--no-progress")  # fmt: skip
    _assert_one_line_error(result, "ovbench prepare cityscapes", str(layout.root / "gtFine" / "val"))


def test_cli_missing_data_root_is_one_line_error(tmp_path, monkeypatch):
    monkeypatch.delenv(DATA_ENV, raising=False)
    result = _cli("check", "--dataset", "vspw", "--data-root", tmp_path / "nowhere")
    _assert_one_line_error(result, str(tmp_path / "nowhere"))
    result = _cli("check", "--dataset", "vspw")
    _assert_one_line_error(result, DATA_ENV)


# =========================================================================== real CamVid


@pytest.fixture(scope="module")
def real_camvid() -> Path:
    if not REAL_CAMVID.is_dir():
        pytest.skip(f"real CamVid data not found at {REAL_CAMVID.resolve()}")
    return REAL_CAMVID.resolve()


def test_real_camvid_val(real_camvid):
    ds = CamVid(real_camvid, "val")
    (video,) = ds.videos()
    assert video.name == "0016E5"
    assert len(video.frames) == 101
    numbers = [int(f.name.split("_")[1]) for f in video.frames]
    assert numbers == list(range(7959, 8160, 2))
    assert video.scored_indices == tuple(range(101))
    seen = set()
    for i in (0, 50, 100):
        label = ds.read_label(video.frames[i])
        assert label.shape == (360, 480) and label.dtype == np.uint8
        seen |= set(np.unique(label).tolist())
    assert seen <= set(range(11)) | {255}
    assert len(seen) > 3
    frames = Video(video)
    assert frames[0].shape == (360, 480, 3)
    assert frames.frame_size(100) == (360, 480)


def test_real_camvid_train(real_camvid):
    videos = CamVid(real_camvid, "train").videos()
    assert [v.name for v in videos] == ["0001TP", "0006R0", "0016E5"]
    assert sum(len(v.frames) for v in videos) == 367
    for v in videos:
        assert [f.name for f in v.frames] == sorted(f.name for f in v.frames)


def test_real_camvid_resolve_from_parent(real_camvid):
    assert resolve_root("camvid", real_camvid.parent) == real_camvid
    assert resolve_root("camvid", real_camvid) == real_camvid
