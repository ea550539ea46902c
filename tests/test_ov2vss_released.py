"""The OV2VSS port against the official code's outputs in ``../shared/fixtures/ov2vss/vitb``.

The checkpoint is rebuilt here from ``keys.json`` (``released_weights``); the official code was run on
the same weights and every boundary it passed was saved. fp16 boundaries are compared at about 1e-2
relative (their storage precision); fp32 scores at 1e-4.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
from fixtures import FrameList
from PIL import Image
from released_weights import CAMVID, expected_sha256, fixture_folder, released_state, state_digest
from safetensors.torch import load_file

from ov2vss.checkpoint import load_state, read_checkpoint
from ov2vss.clips import released_clip, stf_chain
from ov2vss.model import OV2VSS
from ov2vss.network import ReleasedOV2VSS
from ov2vss.pipeline import network_input, network_size, rescaled_size
from ov2vss.sam import SAMImageEncoder, relative_positions
from ov2vss.stf import PyramidPool
from ovbench.api import VocabularyEntry, file_sha256
from ovbench.errors import OvbenchError


@pytest.fixture(scope="module")
def vitb():
    return fixture_folder("ov2vss/vitb")


BACKBONE = (("", "backbone."),)


@pytest.fixture(scope="module")
def state(vitb):
    return released_state(vitb)


@pytest.fixture(scope="module")
def backbone_state(state):
    return {k: v for k, v in state.items() if k.startswith("backbone.")}


def clip_images(case, expected) -> torch.Tensor:
    frames = expected["input.frames_bgr_uint8"].numpy()
    return torch.stack([network_input(np.ascontiguousarray(f[..., ::-1]), tuple(case["img_scale"])) for f in frames])


@pytest.fixture(scope="module")
def network(state):
    network = ReleasedOV2VSS().eval()
    network.load_checkpoint(state, "fixture")
    return network


@pytest.fixture(scope="module")
def text(network, vitb):
    with torch.inference_mode():
        return network.text_embeddings(json.loads((vitb / "vocabulary.json").read_text()))


@pytest.fixture(scope="module")
def t20_boundaries(network, text, case_t20):
    case, expected = case_t20
    boundaries = {}
    with torch.inference_mode():
        network(clip_images(case, expected), text, tuple(case["ori_hw"]), boundaries, target_only=False)
    return boundaries


def camvid_clip(case) -> torch.Tensor:
    """The case's clip from the CamVid frames, pre-resized with OpenCV as the fixture was."""
    if not (CAMVID / "val").is_dir():
        pytest.skip(f"{CAMVID} is absent")
    frames = []
    for name in case["frames"]:
        rgb = np.asarray(Image.open(CAMVID / "val" / name).convert("RGB"))
        if case["pre_resize_wh"]:
            rgb = cv2.resize(rgb, tuple(case["pre_resize_wh"]), interpolation=cv2.INTER_LINEAR)
        frames.append(network_input(rgb, tuple(case["img_scale"])))
    return torch.stack(frames)


def argmax_agreement(scores: torch.Tensor, official_argmax: torch.Tensor, official_scores=None) -> float:
    """Share of pixels with the official label; where the official top-2 gap is below 1e-6, either is right."""
    agree = scores.argmax(0) == official_argmax.long()
    if official_scores is not None:
        top2 = official_scores.topk(2, dim=0).values
        agree |= (top2[0] - top2[1]) < 1e-6
    return float(agree.float().mean())


@pytest.fixture(scope="module")
def case_t20(vitb):
    case = json.loads((vitb / "case.json").read_text())["cases"]["t20_240x180"]
    return case, load_file(str(vitb / "expected_t20_240x180.safetensors"))


def relative_error(ours: torch.Tensor, official: torch.Tensor) -> float:
    official = official.float()
    return float((ours.float() - official).abs().max() / official.abs().max())


def test_the_rebuilt_checkpoint_is_the_one_the_official_code_ran(vitb, state):
    assert len(state) == 1513
    assert sum(v.numel() for k, v in state.items() if v.is_floating_point()) >= 259_946_350
    assert state_digest(state) == expected_sha256(vitb)


# ------------------------------------------------------------------------------------ test pipeline


def test_keep_ratio_resize_sizes_are_mmcv_imrescale_with_size_divisor_32():
    assert rescaled_size(480, 853, (1024, 1024)) == (576, 1024)  # VSPW 480p
    assert network_size(480, 853) == (576, 1024)
    assert rescaled_size(180, 240, (256, 256)) == (192, 256)
    assert rescaled_size(360, 480, (384, 384)) == (288, 384)
    assert network_size(500, 700, (1024, 1024)) == (736, 1024)  # 731.4 -> 731 -> aligned up to 736
    assert network_size(1024, 2048, (1024, 1024)) == (512, 1024)


def test_pipeline_gives_the_official_network_input(case_t20):
    case, expected = case_t20
    ours = clip_images(case, expected)
    assert list(ours.shape[-2:]) == case["network_input_hw"]
    official = expected["predictor.in.img"].float()  # clip frames 1..4, stored as float16
    assert (ours[1:] - official).abs().max() <= 2e-3  # float16 storage of values up to ~2.6


# ------------------------------------------------------------------------------------ SAM encoder


def test_relative_position_table_is_resized_linearly_and_indexed_by_offset():
    table = torch.arange(7 * 2, dtype=torch.float64).reshape(7, 2)  # made for size 4
    same = relative_positions(table, 4)
    for i in range(4):
        for j in range(4):
            assert torch.equal(same[i, j], table[i - j + 3])
    resized = relative_positions(table, 3)  # 7 rows -> 5 rows, linear, align_corners=False
    reference = torch.nn.functional.interpolate(table.T[None], size=5, mode="linear", align_corners=False)[0].T
    assert torch.equal(resized[0, 0], reference[2]) and torch.equal(resized[2, 0], reference[4])


def test_sam_encoder_equals_the_official_backbone(backbone_state, case_t20):
    case, expected = case_t20
    encoder = SAMImageEncoder().eval()
    load_state(encoder, backbone_state, "fixture", BACKBONE)
    assert sum(p.numel() for p in encoder.parameters()) == 89_672_448  # case.json param_counts["backbone"]
    with torch.inference_mode():
        levels = encoder(clip_images(case, expected))
    for level, ours in enumerate(levels):
        official = expected[f"backbone.out.{level}"]
        assert ours.shape == official.shape
        # measured 3.6e-4..4.6e-4: below float16's half step at the largest value (2^-11 = 4.9e-4)
        assert relative_error(ours, official) < 1e-3, level


# ------------------------------------------------------------------------------------ checkpoint file


def test_checkpoint_file_round_trip_and_wrong_files(backbone_state, tmp_path):
    path = tmp_path / "100000.pth"
    torch.save({"meta": {"note": "test"}, "state_dict": dict(backbone_state)}, path)
    state = read_checkpoint(path)
    encoder = SAMImageEncoder()
    load_state(encoder, state, path, BACKBONE)
    assert torch.equal(encoder.blocks[11].attn.rel_pos_w, backbone_state["backbone.blocks.11.attn.rel_pos_w"])

    with pytest.raises(OvbenchError, match=r"--checkpoint .*missing.pth: file not found"):
        read_checkpoint(tmp_path / "missing.pth")
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(path.read_bytes()[: 1 << 20])
    with pytest.raises(OvbenchError, match=r"truncated.pth: not a readable PyTorch checkpoint .*download it again"):
        read_checkpoint(truncated)
    other = tmp_path / "catseg.pth"
    torch.save({"model": {"sem_seg_head.predictor.x": torch.zeros(1)}}, other)
    with pytest.raises(OvbenchError, match=r"catseg.pth: not an OV2VSS checkpoint .*found \['model'\]"):
        read_checkpoint(other)

    broken = dict(backbone_state)
    broken.pop("backbone.neck.0.weight")
    broken["backbone.blocks.0.attn.extra"] = torch.zeros(1)
    broken["backbone.pos_embed"] = torch.zeros(1, 1025, 768)
    with pytest.raises(OvbenchError) as err:
        load_state(SAMImageEncoder(), broken, path, BACKBONE)
    message = str(err.value)
    assert message.startswith(f"--checkpoint {path}: does not fit the released OV2VSS")
    assert "missing backbone.neck.0.weight" in message
    assert "unexpected backbone.blocks.0.attn.extra" in message
    assert "wrong shape backbone.pos_embed (1, 1025, 768) (expected (1, 4097, 768))" in message


# ------------------------------------------------------------------------------------ fuse, STF, RFE

BOUNDARIES = (
    [f"head.linear_down_c{i}" for i in (1, 2, 3, 4)] + ["head.linear_fuse"]
    + [f"stf.affinity_raw.{f}.{i}" for f in ("t_minus_9", "t_minus_6", "target") for i in range(4)]
    + [f"stf.affinity_refined.{f}" for f in ("t_minus_9", "t_minus_6", "target")]
    + [f"stf.out.{i}" for i in range(3)]
    + [f"rfe.pooled_random_frame.c{i}" for i in (1, 2, 3, 4)]
    + ["rfe.pooling_linear", "rfe.token_map", "rfe.dsn_logits", "rfe.class_contexts", "rfe.out", "predictor.in.feature"]
    + ["clip.visual_dense", "vte.out", "corr.in.text", "corr.cost_volume", "corr.template_conv", "corr.proj_img_c4",
       "corr.proj_img_1", "corr.ensemble_last", "corr.decoder", "segmentor.encode_decode"]
)  # fmt: skip


@pytest.mark.parametrize("name", BOUNDARIES)
def test_every_float16_boundary_equals_the_official_one(t20_boundaries, case_t20, name):
    official = case_t20[1][name]
    ours = t20_boundaries[name]
    assert ours.shape == official.shape
    assert relative_error(ours, official) < 1e-3  # measured 2.4e-4..4.6e-4: float16 storage precision


def test_pyramid_pooling_rounds_half_to_even():
    assert PyramidPool.grid_sizes(12, 16) == [(6, 8), (3, 4), (2, 3), (2, 2)]  # 70 tokens, as the fixture
    assert sum(h * w for h, w in PyramidPool.grid_sizes(36, 64)) == 818  # VSPW 1024x576: 4.5 -> 4, not 5


# ------------------------------------------------------------------------------------ scores


def test_class_embeddings_equal_the_official_text_features(text, case_t20):
    official = case_t20[1]["decode_head.predictor.text_features_test"]
    assert text.shape == official.shape == (6, 80, 512)  # "car, vehicle" is one class of two synonyms
    assert (text - official).abs().max() < 1e-6  # measured 2.4e-8
    assert torch.allclose(text.norm(dim=-1)[[0, 1, 2, 4, 5]], torch.full((5, 80), 80**-0.5), atol=1e-6)


def test_scores_of_the_t20_clip_equal_the_official_ones(t20_boundaries, case_t20):
    expected = case_t20[1]
    for name in ("predictor.logits", "segmentor.whole_inference", "segmentor.softmax"):
        assert (t20_boundaries[name] - expected[name]).abs().max() < 1e-4, name  # measured ≤ 7e-6
    official = expected["segmentor.softmax"][0]
    assert argmax_agreement(t20_boundaries["segmentor.softmax"][0], expected["segmentor.argmax"], official) >= 0.9999


def test_the_target_alone_gives_the_same_scores_as_all_four_frames(network, text, case_t20, t20_boundaries):
    case, expected = case_t20
    with torch.inference_mode():
        scores = network(clip_images(case, expected), text, tuple(case["ori_hw"]))
    assert (scores - t20_boundaries["segmentor.softmax"][0]).abs().max() < 1e-6


@pytest.mark.parametrize("name", ["t1_240x180", "t20_480x360", "t20_official"])
def test_other_cases_equal_the_official_outputs(network, text, vitb, name):
    """t1: the 2-frame clip [far, t] of the frame-level fallback; 480x360: CamVid as it is at img_scale 384;
    official: VSPW 480p geometry (853x480 -> 1024x576), argmax and logits only."""
    case = json.loads((vitb / "case.json").read_text())["cases"][name]
    expected = load_file(str(vitb / f"expected_{name}.safetensors"))
    images = camvid_clip(case)
    assert list(images.shape[-2:]) == case["network_input_hw"] and images.shape[0] == case["num_clips"]
    boundaries = {}
    with torch.inference_mode():
        scores = network(images, text, tuple(case["ori_hw"]), boundaries, target_only=name != "t20_official")
    logits = expected["predictor.logits"]
    ours = boundaries["predictor.logits"]
    if name == "t20_official":  # float16 logits; only the target's were computed here
        assert relative_error(ours[-1], logits[-1]) < 1e-3
        assert argmax_agreement(scores, expected["segmentor.argmax"]) >= 0.9999
        return
    assert (ours[-1] - logits[-1]).abs().max() < 1e-4
    official = expected["segmentor.softmax"][0]
    assert (scores - official).abs().max() < 1e-4
    assert argmax_agreement(scores, expected["segmentor.argmax"], official) >= 0.9999


# ------------------------------------------------------------------------------------ the ovbench model


def test_clip_indices_follow_the_released_rules():
    assert released_clip(20, 101) == (100, 11, 14, 17, 20)  # the fixture's clip
    assert released_clip(1, 101) == (100, 1)  # t <= 2: [far, t], the frame-level fallback
    assert released_clip(0, 1) == (0, 0)
    assert [released_clip(t, 50)[1:] for t in range(3, 9)] == [
        (0, 1, 2, 3), (0, 2, 3, 4), (0, 2, 4, 5), (0, 2, 4, 6), (0, 3, 5, 7), (0, 3, 6, 8)
    ]  # fmt: skip
    # far = last frame when len - t > the clip's first index, else frame 0 (not the farther of the two)
    assert released_clip(54, 101)[0] == 100  # 101 - 54 = 47 > 45
    assert released_clip(56, 101)[0] == 0  # 45 > 47 is false, though frame 100 is 44 away and frame 0 is 56
    assert released_clip(3, 4) == (3, 0, 1, 2, 3)  # 4 - 3 = 1 > 0
    assert stf_chain(released_clip(20, 101), "released") == (100, 11, 14, 20)
    assert stf_chain(released_clip(20, 101), "figure") == (11, 14, 17, 20)
    with pytest.raises(ValueError):
        released_clip(5, 5)


@pytest.fixture(scope="module")
def checkpoint_file(state, tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "100000.pth"
    torch.save({"meta": {"note": "ovbench test: fixture ov2vss/vitb seed 1"}, "state_dict": state}, path)
    return path


def test_the_model_predicts_what_the_official_code_does_and_marks_background(checkpoint_file, vitb, tmp_path,
                                                                              monkeypatch):  # fmt: skip
    """t = 20 (video path) and t = 1 (fallback) of CamVid val, pre-resized to 240x180 as the fixture."""
    if not (CAMVID / "val").is_dir():
        pytest.skip(f"{CAMVID} is absent")
    monkeypatch.setenv("OVBENCH_CACHE", str(tmp_path / "cache"))
    names = sorted(p.name for p in (CAMVID / "val").glob("*.png"))
    frames = [cv2.resize(np.asarray(Image.open(CAMVID / "val" / n).convert("RGB")), (240, 180),
                         interpolation=cv2.INTER_LINEAR) for n in names]  # fmt: skip
    vocabulary = [VocabularyEntry(n, tuple(n.split(", "))) for n in json.loads((vitb / "vocabulary.json").read_text())]
    assert vocabulary[-1].name == "background"
    model = OV2VSS(checkpoint=str(checkpoint_file), img_scale="256,256")
    assert model.parameter_count == 259_946_350
    assert model.weights == f"ov2vss-released:sha256={file_sha256(checkpoint_file)}"
    predictions = dict(model.predict_video(FrameList(frames, [1, 20]), vocabulary[:-1]))  # the model adds background
    for t, name in ((20, "t20_240x180"), (1, "t1_240x180")):
        expected = load_file(str(vitb / f"expected_{name}.safetensors"))
        official = expected["segmentor.argmax"].numpy().astype(np.int64)
        official[official == 5] = 255  # background: no prediction
        assert (predictions[t] == official).mean() >= 0.9999, t
    again = OV2VSS(checkpoint=str(checkpoint_file), img_scale="256,256")  # text from the disk cache
    assert torch.equal(again.text_embeddings([("sky",)]), model.text_embeddings([("sky",)]))
    assert any((tmp_path / "cache" / "text").iterdir())


def test_ovbench_run_on_a_vspw_layout_end_to_end(checkpoint_file, tmp_path, monkeypatch):
    from click.testing import CliRunner
    from fixtures import make_vspw

    from ovbench.cli import cli
    from ovbench.results import read_result

    def fake_class(self, synonyms):  # text is checked against the official code above; here it would cost minutes
        g = torch.Generator().manual_seed(sum(map(ord, synonyms[0])))
        block = torch.randn(80, 512, generator=g)
        return block / block.norm()

    monkeypatch.setattr(OV2VSS, "_cached_class", fake_class)
    layout = make_vspw(tmp_path, videos={"val": {"20_yXHCPbxc4zw": 4}})
    out = tmp_path / "r.json"
    args = ["run", "--model", "ov2vss", "--dataset", "vspw", "--data-root", layout.root, "--protocol", "zsl",
            "--out", out, "--no-progress", "--checkpoint", checkpoint_file, "--img-scale", "256,256"]  # fmt: skip
    res = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    result = read_result(out)
    model = result["model"]
    assert model["weights"] == f"ov2vss-released:sha256={file_sha256(checkpoint_file)}"
    assert model["options"]["parameters"] == 259_946_350 and model["options"]["chain"] == "released"
    assert model["options"]["img_scale"] == "256,256" and "checkpoint" not in model["options"]
    assert result["dataset"]["num_frames"] == 4  # t = 0, 1, 2 take the fallback; t = 3 the 5-frame clip
    assert result["metrics"]["miou"] is not None

    for bad, message in ((tmp_path / "none.pth", "file not found"), (out, "not a readable PyTorch checkpoint")):
        res = CliRunner().invoke(cli, [str(a) for a in [*args[:-4], "--checkpoint", bad, "--overwrite"]])
        assert res.exit_code == 2 and message in res.output and res.output.count("\n") == 1, res.output
    res = CliRunner().invoke(cli, [str(a) for a in args[:-4] + ["--overwrite"]])
    assert res.exit_code == 2 and "ov2vss needs --checkpoint FILE" in res.output


def test_a_checkpoint_of_the_resnet_variant_is_refused_naming_the_keys():
    """The released ResNet-101 config: same head, another backbone; one error names the first keys."""
    keys = json.loads((fixture_folder("ov2vss/r101") / "keys.json").read_text())["keys"]
    state = {k: torch.empty(shape, dtype=getattr(torch, dtype)) for k, (dtype, shape, _) in keys.items()}
    with pytest.raises(OvbenchError) as err:
        ReleasedOV2VSS().load_checkpoint(state, "r101.pth")
    message = str(err.value)
    assert message.startswith("--checkpoint r101.pth: does not fit the released OV2VSS (vitb config): missing ")
    assert "missing backbone.blocks.0.attn.proj.bias" in message and "unexpected backbone.bn1.bias" in message
    assert " more" in message and message.count("\n") == 0
