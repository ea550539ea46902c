"""Hostile input, one test per category: each ends with one clear line (tests/hostile.py checks it)."""

from __future__ import annotations

import json
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from fixtures import make_camvid_sequences
from hostile import refused
from PIL import Image

from ovbench import registry
from ovbench.results import write_result
from result_factory import make_result

SPLIT = Path(__file__).resolve().parents[1] / "ovbench" / "splits" / "camvid-7-4.yaml"


@pytest.fixture
def camvid(tmp_path):
    registry.register("toy-constant", "toy_models:Constant")
    return make_camvid_sequences(tmp_path / "camvid", {"0001TP": 3, "0006R0": 2})


def run(camvid, out, *extra):
    return ["run", "--model", "toy-constant", "--dataset", "camvid", "--data-root", camvid, "--out", out,
            "--no-progress", *extra]  # fmt: skip


def bomb_png(width: int = 40000, height: int = 40000) -> bytes:
    """A PNG whose header claims width × height 8-bit grey pixels (1.6 G by default), with almost no data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")


def test_text_files_that_are_folders_or_not_utf8(camvid, tmp_path):
    bad_split = tmp_path / "bad.yaml"
    bad_split.write_bytes(SPLIT.read_bytes().replace(b"name: camvid-7-4", b"name: camvid-7-4\xff"))
    refused(run(camvid, tmp_path / "r.json", "--split", bad_split), f"{bad_split}: the split file is not UTF-8 text",
            "save it as UTF-8", inputs=[bad_split], folder=tmp_path)  # fmt: skip
    (tmp_path / "folder.yaml").mkdir()
    refused(run(camvid, tmp_path / "r.json", "--split", tmp_path / "folder.yaml"), "is a folder, not a split file")
    listing = camvid / "val.txt"
    listing.write_bytes(listing.read_bytes() + b"val/\xff.png valannot/\xff.png\n")
    refused(run(camvid, tmp_path / "r.json"), f"{listing}: the list file is not UTF-8 text", inputs=[listing],
            folder=tmp_path)  # fmt: skip
    result = write_result(tmp_path / "a.json", make_result("m"))
    refused(["compare", result, "--reported-file", tmp_path], f"{tmp_path}: is a folder, not a reported-numbers file")
    preamble = tmp_path / "pre.md"
    preamble.write_bytes(b"# caf\xe9\n")
    refused(["compare", result, "--preamble", preamble], f"{preamble}: the preamble (--preamble) is not UTF-8 text")


def test_result_files_nested_looped_or_mistyped(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    refused(["compare", deep], f"{deep}: JSON nested too deeply to be a result file")
    os.symlink(tmp_path / "loop-b.json", tmp_path / "loop-a.json")
    os.symlink(tmp_path / "loop-a.json", tmp_path / "loop-b.json")
    refused(["compare", tmp_path / "loop-a.json"], "loop-a.json: cannot follow the link", "pass the result file itself")
    typed = tmp_path / "typed.json"
    typed.write_text(json.dumps({**make_result("m"), "schema_version": "1"}))
    refused(["compare", typed], f"{typed}: schema_version is '1' (str), not an integer")


def test_images_too_large_to_decode_or_changing_size_within_a_video(camvid, tmp_path):
    mask = sorted((camvid / "valannot").glob("0001TP_*.png"))[1]
    mask.write_bytes(bomb_png())
    refused(run(camvid, tmp_path / "r.json"), f"{mask}: the mask's header claims more than",
            "decompression-bomb limit", folder=tmp_path)  # fmt: skip
    grown = np.zeros((16, 16), np.uint8)  # the video's other masks are 12 × 16
    Image.fromarray(grown).save(mask)
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(camvid / "val" / mask.name)
    refused(run(camvid, tmp_path / "r.json"), f"{mask}: mask is 16x16, earlier frames of video 0001TP are 16x12",
            folder=tmp_path)  # fmt: skip
    assert not (tmp_path / "r.json.partial").exists()  # no finished video: nothing to resume
    frame = camvid / "val" / sorted((camvid / "valannot").glob("0006R0_*.png"))[0].name
    Image.fromarray(np.zeros((20, 16, 3), np.uint8)).save(frame)  # its mask stays 12 × 16
    mask.unlink()
    (camvid / "val" / mask.name).unlink()
    listing = camvid / "val.txt"
    listing.write_text("".join(line + "\n" for line in listing.read_text().splitlines() if mask.name not in line))
    refused(run(camvid, tmp_path / "r.json"), f"{frame}: frame is 16x20, its mask", "is 16x12")
    kept = sorted(p.name for p in (tmp_path / "r.json.partial").iterdir())
    assert kept == ["run.json", "video-0001TP.json"]  # the video finished before the bad frame is kept for resuming


def test_weights_files_and_seeds_that_cannot_load(camvid, tmp_path):
    text, empty = tmp_path / "weights.bin", tmp_path / "empty.bin"
    text.write_text("hello\n")
    empty.write_bytes(b"")
    base = ["run", "--model", "sclip", "--dataset", "camvid", "--data-root", camvid, "--out", tmp_path / "r.json",
            "--no-progress", "--backbone", "ViT-S-16"]  # fmt: skip
    refused([*base, "--pretrained", text], f"--pretrained {text}: not an open_clip checkpoint of ViT-S-16", inputs=[text])
    refused([*base, "--pretrained", empty], f"--pretrained {empty}: the file is empty")
    refused([*base, "--pretrained", "none", "--seed", str(10**20)], "--seed must be at most 9223372036854775807")
