"""The CAT-Seg port against the official code's outputs in ``../shared/fixtures/catseg``: every saved
boundary of the sliding-window protocol; fp16 boundaries at float16 storage precision, fp32 logits at
1e−4, argmax ≥ 99.99 %."""

from __future__ import annotations

import json

import pytest
import torch
from fixtures import FrameList
from released_weights import expected_sha256, fixture_folder, released_state, state_digest
from safetensors.torch import load_file

from catseg.aggregator import shifted_window_mask
from catseg.checkpoint import joined_attention, read_checkpoint
from catseg.network import (
    VIT_B, VIT_L, CATSeg, config_of, merged_probabilities, sliding_views, whole_probabilities, whole_view,
)  # fmt: skip
from clip_toolkit.shortest_edge import mapper_image
from ovbench.errors import OvbenchError


@pytest.fixture(scope="module")
def folder():
    return fixture_folder("catseg")


@pytest.fixture(scope="module")
def state(folder):
    return released_state(folder)


@pytest.fixture(scope="module")
def network(state):
    network = CATSeg().eval()
    network.load_checkpoint(state, "fixture")
    return network


def run_case(network, folder, name, vocabulary_of=None):
    expected = load_file(str(folder / f"expected_{name}.safetensors"))
    cases = json.loads((folder / "case.json").read_text())["cases"]
    case = cases[name]
    boundaries = {}
    with torch.inference_mode():
        names = cases[vocabulary_of or name]["vocabulary"]
        text = network.text_embeddings([n.split(", ") for n in names])
        logits = network(sliding_views(expected["input.image_uint8"].float()), text, boundaries)
        boundaries["slide.sem_seg_probs"] = merged_probabilities(logits, tuple(case["original_hw"]))
    boundaries["slide.text_embeddings"] = text
    return boundaries, expected


@pytest.fixture(scope="module")
def camvid11(network, folder):
    return run_case(network, folder, "camvid11_480x360")


def relative_error(ours, official) -> float:
    official = official.float()
    return float((ours.float() - official).abs().max() / official.abs().max())


def test_the_rebuilt_checkpoint_is_the_one_the_official_code_ran(folder, state):
    assert len(state) == 484 and state_digest(state) == expected_sha256(folder)
    params = sum(v.numel() for k, v in state.items() if not k.endswith("attn_mask"))
    assert params == 154_289_378


def test_the_first_synonym_names_a_class(network):
    """The release embeds only the first of a class's synonyms (``get_text_embeds``)."""
    with torch.inference_mode():
        both = network.text_embeddings([["building", "house"], ["road", "street"]])
        first = network.text_embeddings([["building"], ["road"]])
    assert torch.equal(both, first)


def test_text_embeddings_equal_the_official_ones(camvid11):
    ours, expected = camvid11
    official = expected["slide.text_embeddings"]
    assert ours["slide.text_embeddings"].shape == official.shape == (11, 1, 512)
    assert (ours["slide.text_embeddings"] - official).abs().max() < 1e-5


@pytest.mark.parametrize("name", [
    "slide.clip_dense_features", "slide.img_feats", "slide.guidance.res3", "slide.cost_volume",
    "slide.proj_guidance", "slide.proj_decoder_guidance.0", "slide.proj_decoder_guidance.1",
    "slide.proj_text_guidance",
])  # fmt: skip
def test_clip_side_boundaries_equal_the_official_ones(camvid11, name):
    ours, expected = camvid11
    assert ours[name].shape == expected[name].shape
    assert relative_error(ours[name], expected[name]) < 1e-3


def test_views_are_four_row_major_crops_of_the_squashed_image_and_the_whole_image():
    image = torch.arange(3 * 640 * 853, dtype=torch.float32).reshape(3, 640, 853)
    views = sliding_views(image)
    assert views.shape == (5, 3, 384, 384)
    squashed = torch.nn.functional.interpolate(image[None], size=(640, 640), mode="bilinear", align_corners=False)
    unfolded = torch.nn.functional.unfold(squashed, 384, stride=256)[0].T.reshape(4, 3, 384, 384)
    assert torch.equal(views[:4], unfolded)  # nn.Unfold's order, as the release


def test_checkpoint_files_are_read_as_released_and_wrong_ones_refused(state, tmp_path):
    path = tmp_path / "model_base.pth"
    small = {k: v for k, v in state.items() if "visual.transformer.resblocks.0." in k}
    torch.save({"model": small, "iteration": 80000}, path)
    read = read_checkpoint(path)
    joined = joined_attention(read)
    prefix = "sem_seg_head.predictor.clip_model.visual.transformer.resblocks.0.attn."
    assert torch.equal(joined[prefix + "in_proj_weight"],
                       torch.cat([small[prefix + f"{p}_proj_weight"] for p in "qkv"]))  # fmt: skip
    assert not any(k.endswith(("q_proj_weight", "k_proj_weight", "v_proj_weight")) for k in joined)
    ov2vss_like = tmp_path / "100000.pth"
    torch.save({"meta": {}, "state_dict": {"backbone.pos_embed": torch.zeros(1)}}, ov2vss_like)
    with pytest.raises(OvbenchError, match=r"100000.pth: not a CAT-Seg checkpoint .*found \['meta', 'state_dict'\]"):
        read_checkpoint(ov2vss_like)
    with pytest.raises(OvbenchError, match=r"does not fit the released CAT-Seg ViT-B/16 .*missing sem_seg_head"):
        CATSeg().load_checkpoint(read, path)


@pytest.mark.parametrize("name", ["camvid11_480x360", "synonyms_320x240"])
def test_logits_probabilities_and_labels_equal_the_official_ones(network, folder, camvid11, name):
    """synonyms_320x240 ran in the official process after camvid11, and the release caches its text
    embeddings at the first call (``get_text_embeds``), so its reference holds camvid11's text: the
    port, given camvid11's names, must give that case's official logits."""
    if name == "camvid11_480x360":
        ours, expected = camvid11
    else:
        ours, expected = run_case(network, folder, name, vocabulary_of="camvid11_480x360")
    assert (ours["slide.text_embeddings"] - expected["slide.text_embeddings"]).abs().max() < 1e-5
    assert (ours["slide.logits"] - expected["slide.logits"]).abs().max() < 1e-4  # measured 3.7e-6
    probs = ours["slide.sem_seg_probs"]
    tolerance = 1e-3 if expected["slide.sem_seg_probs"].dtype == torch.float16 else 1e-4  # measured 4.2e-7 (fp32)
    assert (probs - expected["slide.sem_seg_probs"].float()).abs().max() < tolerance
    assert (probs.argmax(0) == expected["slide.pred"].long()).float().mean() >= 0.9999


@pytest.mark.parametrize("name", ["camvid11_480x360", "synonyms_320x240"])
def test_the_whole_image_path_equals_the_official_one(network, folder, name):
    """``TEST.SLIDING_WINDOW False``: padded to /32, one squashed view, sigmoid on the 96×96 map, the
    no-op crop of ``sem_seg_postprocess``, bilinear to the frame (text: camvid11's, as above)."""
    expected = load_file(str(folder / f"expected_{name}.safetensors"))
    cases = json.loads((folder / "case.json").read_text())["cases"]
    image = expected["input.image_uint8"].float()
    with torch.inference_mode():
        text = network.text_embeddings([[n] for n in cases["camvid11_480x360"]["vocabulary"]])
        view = whole_view(image)
        logits = network(view, text, stage="whole")
        probs = whole_probabilities(logits, tuple(image.shape[-2:]), tuple(cases[name]["original_hw"]))
    assert view.shape == (1, 3, 640, 864)
    assert (logits - expected["whole.logits"]).abs().max() < 1e-4
    assert (probs.argmax(0) == expected["whole.pred"].long()).float().mean() >= 0.9999


def test_whole_view_pads_to_32_with_what_normalises_to_zero():
    from catseg.network import CLIP_MEAN, CLIP_STD

    image = torch.full((3, 33, 64), 7.0)
    view = whole_view(image)
    assert view.shape == (1, 3, 64, 64) and torch.equal(view[0, :, :33], image)
    normalised = (view - torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)) / torch.tensor(CLIP_STD).view(1, 3, 1, 1)
    assert torch.equal(normalised[0, :, 33:], torch.zeros(3, 31, 64))
    logits = torch.randn(1, 2, 96, 96)
    probs = whole_probabilities(logits, (640, 853), (20, 30))  # the crop keeps all of a 96x96 map
    expected = torch.nn.functional.interpolate(torch.sigmoid(logits), size=(20, 30), mode="bilinear")[0]
    assert torch.allclose(probs, expected)


def test_the_configuration_is_told_by_the_checkpoint(state):
    assert config_of(state) is VIT_B
    wide = {"sem_seg_head.predictor.clip_model.visual.conv1.weight": torch.zeros(1024, 3, 14, 14)}
    assert config_of(wide) is VIT_L and config_of({}) is VIT_B


def test_test_resize_is_detectron2s_resize_shortest_edge(folder):
    import numpy as np
    from PIL import Image

    frame = np.asarray(Image.open(folder / "frame_320x240.png").convert("RGB"))
    expected = load_file(str(folder / "expected_synonyms_320x240.safetensors"))["input.image_uint8"]
    assert torch.equal(mapper_image(frame), expected.float())  # PIL bilinear, 240x320 -> 640x853


def test_shifted_window_masks_equal_the_released_buffers(folder):
    built = load_file(str(folder / "buffers.safetensors"))
    for i in (0, 1):
        released = built[f"sem_seg_head.predictor.transformer.layers.{i}.swin_block.block_2.attn_mask"]
        assert torch.equal(shifted_window_mask(24, 12, 6), released.float())


def test_merge_is_the_fold_average_with_the_global_view():
    torch.manual_seed(0)
    logits = torch.randn(5, 2, 96, 96)
    merged = merged_probabilities(logits, (640, 640))
    probs = torch.sigmoid(torch.nn.functional.interpolate(logits, size=(384, 384), mode="bilinear", align_corners=False))
    canvas, count = torch.zeros(2, 640, 640), torch.zeros(1, 640, 640)
    for k, (y, x) in enumerate([(0, 0), (0, 256), (256, 0), (256, 256)]):
        canvas[:, y : y + 384, x : x + 384] += probs[k]
        count[:, y : y + 384, x : x + 384] += 1
    whole = torch.nn.functional.interpolate(probs[4:], size=(640, 640), mode="bilinear", align_corners=False)[0]
    assert torch.allclose(merged, (canvas / count + whole) / 2, atol=1e-6)


def test_the_model_labels_a_frame_as_the_official_code_does(state, folder, tmp_path):
    import numpy as np
    from PIL import Image
    from released_weights import CAMVID

    from catseg.model import CATSegModel
    from ovbench.api import VocabularyEntry, file_sha256

    if not (CAMVID / "val").is_dir():
        pytest.skip(f"{CAMVID} is absent")
    path = tmp_path / "model_base.pth"
    torch.save({"model": dict(state), "iteration": 0}, path)
    model = CATSegModel(checkpoint=str(path), batch_size=2)  # batching the views is speed only
    assert model.parameter_count == 154_289_378 and model.weights == f"catseg-released:sha256={file_sha256(path)}"
    names = json.loads((folder / "case.json").read_text())["cases"]["camvid11_480x360"]["vocabulary"]
    frame = np.asarray(Image.open(CAMVID / "val" / "0016E5_08085.png").convert("RGB"))
    (index, labels), = model.predict_video(FrameList([frame], [0]), [VocabularyEntry(n, (n,)) for n in names])
    official = load_file(str(folder / "expected_camvid11_480x360.safetensors"))["slide.pred"].numpy()
    assert index == 0 and labels.shape == (360, 480) and (labels == official).mean() >= 0.9999
    with pytest.raises(OvbenchError, match="catseg needs --checkpoint FILE"):
        CATSegModel()


@pytest.mark.parametrize(("config", "count"), [(VIT_B, 154_289_378), (VIT_L, 433_726_946)])
def test_each_configuration_holds_the_official_parameter_count(config, count):
    """Counts of the official models' state dicts (ViT-L/14 measured by building the official code)."""
    assert sum(p.numel() for p in CATSeg(config).parameters()) == count
