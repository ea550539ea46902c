"""The training-free baselines end to end against the official code's outputs in
``../shared/fixtures/baselines`` (each repository run from the PNG on the rebuilt CLIP weights)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from fixtures import FrameList
from PIL import Image
from released_weights import CAMVID, fixture_folder, released_state
from safetensors.torch import load_file

from ovbench.api import VocabularyEntry
from ovbench.registry import get_model_class


@pytest.fixture(scope="module")
def folder():
    return fixture_folder("baselines")


@pytest.fixture(scope="module")
def weights(folder, tmp_path_factory):
    path = tmp_path_factory.mktemp("clip") / "ViT-B-16.pt"
    torch.save(dict(released_state(folder)), path)
    return path


def camvid_case(folder, method):
    name = f"{method}.camvid.camvid.e2e"
    case = json.loads((folder / "case.json").read_text())["cases"][name]
    frame_path = CAMVID / "val" / "0016E5_07959.png"
    if not frame_path.is_file():
        pytest.skip(f"{frame_path} is absent")
    frame = np.asarray(Image.open(frame_path).convert("RGB"))
    return case, load_file(str(folder / f"{name}.safetensors")), frame, folder / f"{name}.pred.png"


@pytest.mark.parametrize("method", ["clip", "sclip", "naclip", "clearclip", "maskclip"])
def test_the_network_input_is_the_official_one(folder, weights, method):
    """OpenCV's bilinear resize on the uint8 frame, then each repository's normalisation (the reference
    is stored in float16: equal at that precision)."""
    case, expected, frame, _ = camvid_case(folder, method)
    model = get_model_class(method)(pretrained=str(weights), dataset="camvid")
    with torch.inference_mode():
        ours = model.network_input(frame)
    official = expected["input"]
    assert ours.shape == official.shape == (3, 336, 448)
    assert (ours.half() == official).float().mean() >= 0.9999
    assert (ours - official.float()).abs().max() <= 2e-3  # one float16 step at |x| < 4


@pytest.mark.parametrize("method", ["clip", "sclip", "clearclip"])
def test_labels_equal_the_official_ones_with_the_camvid_defaults(folder, weights, method):
    """The camvid cases ran the official code at ovbench's CamVid protocol (short side 336, 224/112
    windows), which these methods' defaults are; pixels where the official top-2 gap is below 1e-6 are
    ties and excepted."""
    case, expected, frame, pred_png = camvid_case(folder, method)
    model = get_model_class(method)(pretrained=str(weights), dataset="camvid")
    vocabulary = [VocabularyEntry(names[0], tuple(names)) for names in case["vocabulary"]]
    (_, labels), = model.predict_video(FrameList([frame], [0]), vocabulary)
    official = np.asarray(Image.open(pred_png))
    decided = expected["gap"].float().numpy() >= 1e-6
    assert labels.shape == official.shape
    assert (labels == official)[decided].mean() >= 0.9999


@pytest.mark.parametrize("method", ["clip", "sclip", "clearclip"])
def test_probabilities_equal_the_official_ones(folder, weights, method):
    case, expected, frame, _ = camvid_case(folder, method)
    model = get_model_class(method)(pretrained=str(weights), dataset="camvid")
    assert model.config["logit_scale"] == case["official_settings"]["logit_scale"]
    text, probs = class_probabilities(model, frame, case["vocabulary"], renormalised=method == "clip")
    assert (text - expected["text"]).abs().max() < 1e-5
    (r0, r1), (c0, c1) = case["probs_crop_rows_cols"]
    assert (probs[:, r0:r1, c0:c1] - expected["probs_crop"]).abs().max() < 1e-4  # measured 1.5e-7


def class_probabilities(model, frame, vocabulary, renormalised: bool):
    """Each official code's reported probabilities: softmax(scale · cosine) over the queries, the best of a
    class's synonyms, renormalised over the classes in NACLIP's code (which runs ``clip`` too)."""
    with torch.inference_mode():
        text, owner = model.text.queries([list(n) for n in vocabulary])
        probs = torch.softmax(model.config["logit_scale"] * model.frame_logits(frame, text), dim=0)
    classes = torch.stack([probs[owner == c].max(0).values for c in range(len(vocabulary))])
    return text, classes / classes.sum(0, keepdim=True) if renormalised else classes


@pytest.mark.parametrize("method", ["clip", "sclip", "clearclip"])
def test_the_cityscapes_defaults_are_each_papers_configuration(folder, weights, method):
    """official-city: the repository's own Cityscapes configuration (ClearCLIP: short side 448, stride 224)
    on the 2048x1024 frame, reached by the dataset's default options alone."""
    name = f"{method}.official-city.city.e2e"
    case = json.loads((folder / "case.json").read_text())["cases"][name]
    expected = load_file(str(folder / f"{name}.safetensors"))
    frame = np.asarray(Image.open(folder / "city_2048x1024.png").convert("RGB"))
    model = get_model_class(method)(pretrained=str(weights), dataset="cityscapes")
    settings = case["official_settings"]
    assert (model.config["short_side"], model.config["crop"], model.config["stride"], model.config["logit_scale"]) == \
        (settings["resize"][1], settings["crop"], settings["stride"], settings["logit_scale"])  # fmt: skip
    text, probs = class_probabilities(model, frame, case["vocabulary"], renormalised=method == "clip")
    assert (text - expected["text"]).abs().max() < 1e-5
    (r0, r1), (c0, c1) = case["probs_crop_rows_cols"]
    assert (probs[:, r0:r1, c0:c1] - expected["probs_crop"]).abs().max() < 1e-4  # measured <= 1.6e-7
    labels, official = probs.argmax(0).numpy(), np.asarray(Image.open(folder / f"{name}.pred.png"))
    top = probs.topk(2, dim=0).values
    decided = (top[0] - top[1]).numpy() >= 1e-6  # this case saved no official gap: ours decides the ties
    assert (labels == official)[decided].mean() >= 0.9999
