"""The five training-free baselines as ovbench models (one class, the method as data)."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator, Sequence
from importlib import resources

import cv2
import numpy as np
import torch
import torch.nn.functional as F
import yaml

from baselines.last_block import DenseCLIP
from baselines.pamr import pamr
from baselines.sliding import sliding_logits
from clip_toolkit.loading import SEED_MAX, autocast_dtype, load_clip, resolve_quick_gelu
from clip_toolkit.text import TEMPLATE_NAMES, TextEmbedder
from ovbench.api import Option, OvbenchError, VideoModel, VocabularyEntry

MAX_LONG_SIDE = 2048  # MMSeg Resize(scale=(2048, S), keep_ratio=True)
# The SegDataPreProcessor statistics of the SCLIP, NACLIP and ClearCLIP code (CLIP's, rounded), 0..255, RGB.
CLIP_PIXEL_MEAN, CLIP_PIXEL_STD = (122.771, 116.746, 104.094), (68.501, 66.632, 70.323)
IMAGENET_PIXEL_MEAN, IMAGENET_PIXEL_STD = (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)  # MaskCLIP's


@functools.cache
def settings(method: str) -> dict:
    """``baselines/settings/<method>.yaml``: the method's official knobs and, per dataset, the geometry
    of its source's configuration (``defaults`` where the source published none)."""
    return yaml.safe_load((resources.files("baselines") / "settings" / f"{method}.yaml").read_text())


def common_options(method: str) -> tuple[Option, ...]:
    data = settings(method)
    defaults, datasets = data["defaults"], data.get("datasets", {})

    def option(name: str, help: str, **kwargs) -> Option:
        per_dataset = {d: values[name] for d, values in datasets.items() if name in values}
        return Option(name, defaults[name], help, dataset_defaults=per_dataset, **kwargs)

    return (
        Option("backbone", "ViT-B-16", "open_clip model name."),
        Option("pretrained", "openai", "open_clip pretrained tag, a local checkpoint path, or 'none' (random)."),
        Option("quick_gelu", "auto", "QuickGELU activations (OpenAI weights need them).", choices=("auto", "on", "off")),
        Option("seed", 0, "Seed of the random initialisation (with --pretrained none).", minimum=0, maximum=SEED_MAX),
        option("short_side", "Resize frames so the short side is this (long side at most 2048).", minimum=1),
        option("crop", "Sliding-window crop size.", minimum=1),
        option("stride", "Sliding-window stride (at most --crop, so every pixel is covered).", minimum=1),
        Option("templates", "imagenet80", "Prompt template set.", choices=TEMPLATE_NAMES),
        option("logit_scale", "Temperature of the softmax over class queries.", above=0),
        option("pamr", "Refine logits with PAMR (pixel-adaptive mask refinement)."),
        Option("pamr_steps", defaults.get("pamr_steps", 10), "PAMR iterations.", minimum=1),
        Option("pamr_dilations", defaults.get("pamr_dilations", "8,16"), "PAMR dilations, comma-separated."),
        Option("dtype", "auto", "Compute precision: auto = fp32 on CPU, fp16 autocast on CUDA.",
               choices=("auto", "fp32", "fp16", "bf16")),  # fmt: skip
        Option("batch_size", 16, "Crops of a frame per forward pass.", affects_score=False, minimum=1),
    )


class TrainingFreeCLIP(VideoModel):
    """Base of the five baselines; ``method`` names the last-block variant."""

    method: str = "clip"
    options = common_options("clip")
    pixel_mean, pixel_std = CLIP_PIXEL_MEAN, CLIP_PIXEL_STD

    def __init__(self, device: str = "cpu", dataset: str | None = None, **options):
        super().__init__(device=device, dataset=dataset, **options)
        cfg = self.config
        if cfg["stride"] > cfg["crop"]:
            # Windows would leave pixels that no window covers (MMSeg's slide_inference asserts this too).
            raise OvbenchError(
                f"--stride {cfg['stride']} is larger than --crop {cfg['crop']}: pixels between windows would have "
                "no prediction; use a stride of at most the crop size"
            )
        try:
            self.dilations = tuple(int(d) for d in str(cfg["pamr_dilations"]).split(","))
        except ValueError:
            self.dilations = ()
        if not self.dilations or min(self.dilations) < 1:
            raise OvbenchError(f"--pamr-dilations {cfg['pamr_dilations']!r}: expected positive integers like 8,16")
        self.quick_gelu = resolve_quick_gelu(cfg["backbone"], cfg["pretrained"], cfg["quick_gelu"])
        clip, tokenizer, self._weights = load_clip(
            cfg["backbone"], cfg["pretrained"], self.quick_gelu, cfg["seed"], device
        )
        self.dense = DenseCLIP(clip.visual, self.method)
        identity = {"backbone": cfg["backbone"], "weights": self._weights, "quick_gelu": self.quick_gelu}
        self.text = TextEmbedder(clip, tokenizer, cfg["templates"], device, identity)
        self.amp_dtype = autocast_dtype(cfg["dtype"], device)
        self._mean = torch.tensor(self.pixel_mean, device=device).view(3, 1, 1)
        self._std = torch.tensor(self.pixel_std, device=device).view(3, 1, 1)
        self.timing = {"backbone_s": 0.0, "total_s": 0.0}

    @property
    def weights(self) -> str:
        return self._weights

    @property
    def random_weights(self) -> bool:
        return self.config["pretrained"].lower() == "none"

    def describe(self) -> dict:
        info = super().describe()
        info.update(
            method=self.method,
            quick_gelu=self.quick_gelu,
            dtype="fp32" if self.amp_dtype is None else str(self.amp_dtype).removeprefix("torch."),
            num_templates=len(self.text.templates),
            settings=settings(self.method)["source"],
            resize="OpenCV bilinear on uint8 (mmcv imresize)",
            pixel_mean=list(self.pixel_mean),
            pixel_std=list(self.pixel_std),
        )
        return info

    def resized_size(self, height: int, width: int) -> tuple[int, int]:
        scale = min(self.config["short_side"] / min(height, width), MAX_LONG_SIDE / max(height, width))
        return int(height * scale + 0.5), int(width * scale + 0.5)

    def _crop_logits(self, text: torch.Tensor):
        def run(crops: torch.Tensor) -> torch.Tensor:
            start = time.perf_counter()
            with torch.autocast("cuda", dtype=self.amp_dtype, enabled=self.amp_dtype is not None):
                features = self.dense(crops)
            features = F.normalize(features.float(), dim=-1)
            if crops.is_cuda:
                torch.cuda.synchronize()
            self.timing["backbone_s"] += time.perf_counter() - start
            return torch.einsum("bhwe,qe->bqhw", features, text)

        return run

    def network_input(self, frame: np.ndarray) -> torch.Tensor:
        """3×h×w: the H×W×3 uint8 frame as the official pipelines give it to the network — resized on
        uint8 by OpenCV's bilinear filter (mmcv ``imresize``), then normalised (``SegDataPreProcessor``)."""
        h, w = self.resized_size(*frame.shape[:2])
        resized = cv2.resize(np.ascontiguousarray(frame), (w, h), interpolation=cv2.INTER_LINEAR)
        image = torch.from_numpy(resized).to(self.device).permute(2, 0, 1).float()
        return (image - self._mean) / self._std

    def frame_logits(self, frame: np.ndarray, text: torch.Tensor) -> torch.Tensor:
        """Q×H×W cosine similarities for one H×W×3 uint8 frame."""
        height, width = frame.shape[:2]
        resized = self.network_input(frame)
        cfg = self.config
        logits = sliding_logits(
            resized, cfg["crop"], cfg["stride"], cfg["batch_size"], self.dense.patch_size, self._crop_logits(text)
        )
        logits = F.interpolate(logits[None], size=(height, width), mode="bilinear", align_corners=False)[0]
        if cfg["pamr"]:
            guide = F.interpolate(resized[None], size=(height, width), mode="bilinear", align_corners=False)[0]
            logits = pamr(guide, logits, cfg["pamr_steps"], self.dilations)
        return logits

    def predict_video(self, video, vocabulary: Sequence[VocabularyEntry]) -> Iterator[tuple[int, np.ndarray]]:
        text, owner = self.text.queries([list(v.prompts) for v in vocabulary])
        with torch.inference_mode():
            for index in video.scored_indices:
                start = time.perf_counter()
                logits = self.frame_logits(video[index], text)
                # softmax(scale·logits) then max over a class's synonyms has the same argmax as the
                # best query's class, so the temperature only matters to refinement, not to labels.
                prediction = owner[logits.argmax(dim=0)].to(torch.uint8).cpu().numpy()
                self.timing["total_s"] += time.perf_counter() - start
                yield index, prediction


class VanillaCLIP(TrainingFreeCLIP):
    """CLIP dense patch features (unmodified last block)."""

    method = "clip"


class MaskCLIP(TrainingFreeCLIP):
    """MaskCLIP (Zhou et al., ECCV 2022): value path in the last block, residual and FFN kept."""

    method = "maskclip"
    options = common_options("maskclip")
    pixel_mean, pixel_std = IMAGENET_PIXEL_MEAN, IMAGENET_PIXEL_STD


class SCLIP(TrainingFreeCLIP):
    """SCLIP (Wang et al., ECCV 2024): correlative q-q + k-k self-attention."""

    method = "sclip"
    options = common_options("sclip")


class ClearCLIP(TrainingFreeCLIP):
    """ClearCLIP (Lan et al., ECCV 2024): q-q attention, residual and FFN removed."""

    method = "clearclip"
    options = common_options("clearclip")


class NACLIP(TrainingFreeCLIP):
    """NACLIP (Hajimiri et al., WACV 2025): k-k attention with a Gaussian neighbourhood prior."""

    method = "naclip"
    options = common_options("naclip") + (Option("gaussian_std", 5.0, "σ of the neighbourhood prior, in patches.", above=0),)

    def __init__(self, device: str = "cpu", dataset: str | None = None, **options):
        super().__init__(device=device, dataset=dataset, **options)
        self.dense.gaussian_std = self.config["gaussian_std"]
