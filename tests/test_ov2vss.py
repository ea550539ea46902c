"""OV2VSS: clip rules, each video module's effect and identity path, open vocabularies, training
(seen classes only, exact resume, checkpoint round trip) and a short real learning run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from fixtures import make_camvid_sequences
from tiny_clip import register_tiny_clip

from ov2vss_lite.clips import farthest_index, random_extra_index, reference_indices
from ov2vss_lite.model import OV2VSS, CatSegFrame
from ov2vss_lite.network import VideoTextEncoding
from ovbench.datasets import open_dataset
from ovbench.errors import OvbenchError
from ovbench.models import VocabularyEntry
from ovbench.protocols import get_protocol
from ovbench.run import RunConfig, run_model
from ovbench.splits import load_split
from ovbench.training import Sampler, TrainConfig, latest_checkpoint, seen_vocabulary, train

ROOT = Path(__file__).resolve().parents[1]
REAL_CAMVID = ROOT / ".." / "shared" / "data" / "camvid"
TINY = dict(pretrained="none", backbone=register_tiny_clip(), input_size=64, templates="single", appearance_layers="2,4",
            feature_dim=32, cost_dim=16)  # fmt: skip
VOCAB = [VocabularyEntry(n, (n,)) for n in ("sky", "road", "car")]


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("OVBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "ovbench-cache"))


class FramesVideo:
    """Random access to in-memory frames, like ovbench.datasets.Video."""

    def __init__(self, frames, name="v"):
        self.frames, self.name = list(frames), name
        self.scored_indices = tuple(range(len(self.frames)))

    def __len__(self):
        return len(self.frames)

    def __getitem__(self, i):
        return self.frames[i]


def random_frames(n, seed=0, size=(40, 56)):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 255, (*size, 3), dtype=np.uint8) for _ in range(n)]


def logits_of(model, frames, target, vocabulary=VOCAB):
    video = FramesVideo(frames)
    text, owner, classes = model._texts(vocabulary)
    with torch.inference_mode():
        return model.target_logits(video, target, text, owner, classes, model.frame_features(video))


# ----------------------------------------------------------------------------- clip rules


def test_reference_and_extra_frame_rules():
    assert reference_indices(11, (-9, -6, -3)) == [2, 5, 8]
    assert reference_indices(4, (-3, -9, -6)) == [0, 0, 1]  # clamped at the first frame, in temporal order
    assert reference_indices(0, (-9, -6, -3)) == [0, 0, 0]
    assert farthest_index(11, 30) == 29 and farthest_index(20, 30) == 0 and farthest_index(0, 1) == 0
    rng = np.random.default_rng(0)
    draws = {random_extra_index(11, 14, [2, 5, 8], rng) for _ in range(200)}
    assert draws == {0, 1, 3, 4, 6, 7, 9, 10, 12, 13}
    assert random_extra_index(0, 1, [0, 0, 0], rng) == 0  # a one-frame video never crashes


# ----------------------------------------------------------------------------- modules


def test_stf_reads_the_references_and_nothing_else():
    frames = random_frames(14)
    model = OV2VSS(rfe=False, vte=False, **TINY)
    base = logits_of(model, frames, 11)  # references 2, 5, 8
    changed = list(frames)
    changed[5] = 255 - changed[5]
    assert not torch.allclose(logits_of(model, changed, 11), base, atol=1e-6)
    outside = list(frames)
    outside[7] = 255 - outside[7]
    assert torch.equal(logits_of(model, outside, 11), base)


def test_rfe_reads_the_farthest_frame_only_when_enabled():
    frames = random_frames(14)
    changed = list(frames)
    changed[0] = 255 - changed[0]  # farthest from target 11 of 14 frames is frame 0
    with_rfe = OV2VSS(stf=False, vte=False, **TINY)
    assert not torch.allclose(logits_of(with_rfe, changed, 11), logits_of(with_rfe, frames, 11), atol=1e-6)
    without = OV2VSS(stf=False, rfe=False, vte=False, **TINY)
    assert torch.equal(logits_of(without, changed, 11), logits_of(without, frames, 11))


@pytest.mark.parametrize("module", ["stf", "rfe", "vte"])
def test_each_module_changes_the_output_and_is_an_identity_path_when_removed(module):
    frames = random_frames(14)
    model = OV2VSS(**TINY)
    enabled = logits_of(model, frames, 11)
    setattr(model.network, module, None)  # the same weights with that module's path removed
    model.config[module] = False
    disabled = logits_of(model, frames, 11)
    assert not torch.allclose(enabled, disabled, atol=1e-7)
    frame_level = CatSegFrame(**TINY).network
    assert frame_level.stf is None and frame_level.rfe is None and frame_level.vte is None


def test_video_text_encoding_starts_near_identity_and_is_identity_at_zero_scale():
    torch.manual_seed(0)
    vte = VideoTextEncoding(dim=16, heads=2, init=1e-4)
    text, frames = torch.randn(2, 3, 4, 16), [torch.randn(2, 9, 16) for _ in range(4)]
    out = vte(text, frames)
    assert 0 < (out - text).abs().max() < 1e-2
    with torch.no_grad():
        vte.alpha.zero_()
    assert torch.equal(vte(text, frames), text)


def test_any_vocabulary_size_works():
    frames = random_frames(4)
    model = CatSegFrame(**TINY)
    for names in (["sky"], ["sky", "road"], ["a", "b", "c", "d", "e", "f", "g"]):
        vocab = [VocabularyEntry(n, (n, n + "s")) for n in names]
        out = logits_of(model, frames, 3, vocab)
        assert out.shape[:2] == (1, len(names))
        (_, prediction), *_ = list(model.predict_video(FramesVideo(frames[:1]), vocab))
        assert prediction.shape == (40, 56) and prediction.max() < len(names)


# ----------------------------------------------------------------------------- training


@pytest.fixture
def camvid_train(tmp_path):
    root = make_camvid_sequences(tmp_path / "camvid", {"0001TP": 14, "0006R0": 6})
    (root / "val").rename(root / "train")
    (root / "valannot").rename(root / "trainannot")
    lines = (root / "val.txt").read_text().replace("val/", "train/").replace("valannot/", "trainannot/")
    (root / "train.txt").write_text(lines)
    return open_dataset("camvid", root, "train")


def test_training_sees_only_seen_classes(camvid_train):
    vocabulary, lut = seen_vocabulary(load_split("camvid-7-4"))
    assert [v.name for v in vocabulary] == ["Sky", "Building", "Pole", "Road", "Pavement", "Tree", "SignSymbol"]
    sampler = Sampler(camvid_train, seed=0, crop_scale=0.5)
    labels = np.concatenate([sampler.draw(camvid_train, lut, {}).label.ravel() for _ in range(20)])
    assert set(np.unique(labels)) <= set(range(7)) | {255}
    assert (labels == 255).any()  # unseen (7..10) and void (11) pixels are ignored


CONFIG = dict(steps=4, batch_size=2, lr=1e-3, warmup=1, crop_scale=0.6, checkpoint_every=2)


def _weights(model):
    return {k: v.clone() for k, v in model.network.state_dict().items()}


def test_resume_reproduces_the_uninterrupted_run(camvid_train, tmp_path):
    split = load_split("camvid-7-4")
    straight = OV2VSS(**TINY)
    history = train(straight, "ov2vss", camvid_train, split, tmp_path / "a", TrainConfig(**CONFIG), show_progress=False)
    assert [h["step"] for h in history] == [1, 2, 3, 4]

    class Crash(Exception):
        pass

    def crash_at_two(step, folder, history):
        if step == 2:
            raise Crash

    interrupted = OV2VSS(**TINY)
    with pytest.raises(Crash):
        train(interrupted, "ov2vss", camvid_train, split, tmp_path / "b", TrainConfig(**CONFIG),
              show_progress=False, on_checkpoint=crash_at_two)  # fmt: skip
    with pytest.raises(OvbenchError, match="--resume"):
        train(OV2VSS(**TINY), "ov2vss", camvid_train, split, tmp_path / "b", TrainConfig(**CONFIG), show_progress=False)
    resumed = OV2VSS(**TINY)
    train(resumed, "ov2vss", camvid_train, split, tmp_path / "b", TrainConfig(**CONFIG), resume=True, show_progress=False)
    a, b = _weights(straight), _weights(resumed)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert latest_checkpoint(tmp_path / "b").name == "step-000004"


def test_a_damaged_training_folder_is_named_piece_by_piece_with_the_way_on(camvid_train, tmp_path):
    split = load_split("camvid-7-4")
    out = tmp_path / "run"
    train(OV2VSS(**TINY), "ov2vss", camvid_train, split, out, TrainConfig(**CONFIG), show_progress=False)
    marker, step = out / "latest.json", out / "checkpoints" / "step-000004"
    good = marker.read_text()

    def resume():
        train(OV2VSS(**TINY), "ov2vss", camvid_train, split, out, TrainConfig(**{**CONFIG, "steps": 6}), resume=True,
              show_progress=False)  # fmt: skip

    marker.write_text('{"step": 4, "path": ')
    with pytest.raises(OvbenchError, match=r"latest.json: not JSON .*naming a saved step, or start again"):
        resume()
    marker.write_text('{"step": 9, "path": "checkpoints/step-000009"}')
    with pytest.raises(OvbenchError, match=r"latest.json: names no checkpoint folder .*'checkpoints/step-000009'"):
        resume()
    marker.write_text(good)
    trainer = (step / "trainer.pt").read_bytes()
    (step / "trainer.pt").write_bytes(trainer[: len(trainer) // 3])
    with pytest.raises(OvbenchError, match=r"trainer.pt: damaged trainer state .*resume from an earlier step"):
        resume()
    (step / "trainer.pt").write_bytes(trainer)
    (step / "model.safetensors").write_bytes(b"not weights")
    with pytest.raises(OvbenchError, match=r"model.safetensors: damaged or foreign weights .*resume from an earlier step"):
        resume()


def test_checkpoint_round_trip_and_run_records_its_hash(camvid_train, tmp_path):
    split = load_split("camvid-7-4")
    trained = CatSegFrame(**TINY)
    train(trained, "catseg-frame", camvid_train, split, tmp_path / "run", TrainConfig(**CONFIG), show_progress=False)
    loaded = CatSegFrame(checkpoint=str(tmp_path / "run"))
    assert loaded.config["feature_dim"] == 32 and loaded.config["stf"] is False  # options come from the checkpoint
    for key, value in trained.network.state_dict().items():
        assert torch.equal(value, loaded.network.state_dict()[key]), key
    assert "+head:step-000004:sha256=" in loaded.weights
    saved = json.loads((tmp_path / "run" / "checkpoints" / "step-000004" / "options.json").read_text())
    assert saved["vocabulary"][0] == "Sky" and saved["split_hash"] == split.hash and saved["step"] == 4
    frames = random_frames(3)
    a = list(trained.predict_video(FramesVideo(frames), VOCAB))
    b = list(loaded.predict_video(FramesVideo(frames), VOCAB))
    assert all(np.array_equal(x[1], y[1]) for x, y in zip(a, b))
    result = run_model(loaded, "catseg-frame", camvid_train, split, get_protocol("gzsl"), RunConfig(show_progress=False))
    assert result["model"]["weights"] == loaded.weights
    assert result["model"]["random_weights"] is True  # a trained head on TINY's random CLIP is still a smoke run
    assert result["model"]["options"]["checkpoint"].endswith("step-000004")
    with pytest.raises(OvbenchError, match="--feature-dim 64 differs from the checkpoint's 32"):
        CatSegFrame(checkpoint=str(tmp_path / "run"), feature_dim=64)
    with pytest.raises(OvbenchError, match="--checkpoint .*nowhere: no model.safetensors"):
        CatSegFrame(checkpoint=str(tmp_path / "nowhere"))


@pytest.mark.skipif(not REAL_CAMVID.is_dir(), reason="real CamVid copy not present at ../shared/data/camvid")
def test_short_training_on_camvid_learns(tmp_path):
    """A short version of benchmarks/ov2vss_learning.py: the loss falls and seen mIoU rises."""
    split, protocol = load_split("camvid-7-4"), get_protocol("gzsl")
    train_set = open_dataset("camvid", REAL_CAMVID, "train")
    val = open_dataset("camvid", REAL_CAMVID, "val")
    model = OV2VSS(pretrained="none", backbone="ViT-S-16", input_size=96, templates="single", train_cache=2000)
    before = run_model(model, "ov2vss", val, split, protocol, RunConfig(max_frames=8, show_progress=False))["metrics"]
    config = TrainConfig(steps=60, batch_size=4, lr=1e-3, warmup=5, crop_scale=1.0, checkpoint_every=60)
    history = train(model, "ov2vss", train_set, split, tmp_path / "run", config, show_progress=False)
    after = run_model(model, "ov2vss", val, split, protocol, RunConfig(max_frames=8, show_progress=False))["metrics"]
    first, last = np.mean([h["loss"] for h in history[:10]]), np.mean([h["loss"] for h in history[-10:]])
    assert last < 0.8 * first, (first, last)
    assert after["miou_seen"] > before["miou_seen"] + 5, (before["miou_seen"], after["miou_seen"])
