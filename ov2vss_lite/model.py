"""OV2VSS and its frame-level baseline as ovbench models (inference and training)."""

from __future__ import annotations

import dataclasses
import json
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from clip_toolkit import MEAN, STD
from clip_toolkit.loading import SEED_MAX, autocast_dtype, file_digest, load_clip, resolve_quick_gelu
from clip_toolkit.text import TEMPLATE_NAMES, TextEmbedder
from ov2vss_lite.clip_features import FrozenCLIPFeatures
from ov2vss_lite.clips import farthest_index, random_extra_index, reference_indices
from ov2vss_lite.network import OV2VSSConfig, OV2VSSNetwork
from ovbench.api import (
    OPTIONS,
    WEIGHTS,
    Option,
    OvbenchError,
    TrainableVideoModel,
    TrainingSample,
    VocabularyEntry,
    latest_checkpoint,
)

# Options fixed by a checkpoint: they define the weights' shapes or the frozen features they expect.
ARCHITECTURE = (
    "backbone", "pretrained", "quick_gelu", "seed", "input_size", "appearance_layers", "templates",
    "stf", "rfe", "vte", "offsets", "feature_dim", "cost_dim",
)  # fmt: skip


def _ints(text: str, flag: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in str(text).split(","))
    except ValueError:
        raise OvbenchError(f"{flag} {text!r}: expected comma-separated integers") from None


class OV2VSS(TrainableVideoModel):
    """ov2vss-lite: the paper's figure re-interpreted on a frozen open_clip ViT (not the released OV2VSS)."""

    options = (
        Option("backbone", "ViT-B-16", "open_clip ViT, frozen."),
        Option("pretrained", "openai", "open_clip tag, local checkpoint path, or 'none' (random)."),
        Option("quick_gelu", "auto", "QuickGELU activations (OpenAI weights need them).", choices=("auto", "on", "off")),
        Option("seed", 0, "Seed of random initialisation (CLIP with --pretrained none, and the head).", minimum=0,
               maximum=SEED_MAX),
        Option("input_size", 384, "Frames are resized to this square for CLIP (OV2VSS: 384 -> 24x24 patches).", minimum=1),
        Option("appearance_layers", "3,6,9", "ViT blocks (1-based) whose tokens form the appearance features."),
        Option("templates", "imagenet80", "Prompt templates, one cost-volume channel each.", choices=TEMPLATE_NAMES),
        Option("stf", True, "Spatial-Temporal Fusion over the reference frames."),
        Option("rfe", True, "Random Frame Enhancement with an extra (test: farthest) frame."),
        Option("vte", True, "Video Text Encoding of the prompt embeddings."),
        Option("offsets", "-9,-6,-3", "Reference frame offsets from the target."),
        Option("feature_dim", 128, "Width of appearance and fusion features.", minimum=1),
        Option("cost_dim", 64, "Aggregated cost channels per class.", minimum=1),
        Option("checkpoint", "", "Trained weights: an `ovbench train` output folder or one of its checkpoints."),
        Option("dtype", "auto", "auto = fp32 on CPU, fp16 autocast on CUDA.", choices=("auto", "fp32", "fp16", "bf16")),
        Option("frame_cache", 16, "Frozen CLIP features of this many recent frames kept per video (0 = 1).",
               affects_score=False, minimum=0),  # fmt: skip
        Option("train_cache", 0, "Training: frozen CLIP features of this many (frame, crop, flip) views kept "
               "in memory; pays off with --crop-scale 1, where each frame has two views.", affects_score=False,
               minimum=0),  # fmt: skip
    )

    def __init__(self, device: str = "cpu", dataset: str | None = None, **options):
        checkpoint = self._checkpoint_folder(options.get("checkpoint", ""))
        if checkpoint is not None:
            saved = json.loads((checkpoint / OPTIONS).read_text())["options"]
            for key in ARCHITECTURE:
                if key in options and options[key] != saved[key]:
                    raise OvbenchError(
                        f"--{key.replace('_', '-')} {options[key]!r} differs from the checkpoint's {saved[key]!r} "
                        f"({checkpoint}); drop the option to use the checkpoint's"
                    )
            options = {**{k: saved[k] for k in ARCHITECTURE}, **options, "checkpoint": str(checkpoint)}
        super().__init__(device=device, dataset=dataset, **options)
        cfg = self.config
        self.offsets = _ints(cfg["offsets"], "--offsets")
        if any(o >= 0 for o in self.offsets):
            raise OvbenchError(f"--offsets {cfg['offsets']!r}: reference offsets must be negative (past frames)")
        layers = _ints(cfg["appearance_layers"], "--appearance-layers")
        self.quick_gelu = resolve_quick_gelu(cfg["backbone"], cfg["pretrained"], cfg["quick_gelu"])
        clip, tokenizer, clip_weights = load_clip(cfg["backbone"], cfg["pretrained"], self.quick_gelu, cfg["seed"], device)
        try:
            self.clip = FrozenCLIPFeatures(clip.visual, layers)
        except ValueError as exc:
            raise OvbenchError(f"--appearance-layers: {exc}") from None
        identity = {"backbone": cfg["backbone"], "weights": clip_weights, "quick_gelu": self.quick_gelu}
        self.text = TextEmbedder(clip, tokenizer, cfg["templates"], device, identity)
        self.amp_dtype = autocast_dtype(cfg["dtype"], device)
        network_config = OV2VSSConfig(
            clip_dim=clip.visual.output_dim, clip_width=clip.visual.transformer.width,
            num_references=len(self.offsets), stf=cfg["stf"], rfe=cfg["rfe"], vte=cfg["vte"],
            feature_dim=cfg["feature_dim"], cost_dim=cfg["cost_dim"],
        )  # fmt: skip
        torch.manual_seed(cfg["seed"] + 1)
        self.network = OV2VSSNetwork(network_config, len(self.text.templates), len(layers)).to(device).eval()
        self._weights = f"{clip_weights}+head:untrained:seed={cfg['seed']}"
        self._random_weights = cfg["pretrained"].lower() == "none" or checkpoint is None
        if checkpoint is not None:
            state = load_file(checkpoint / WEIGHTS, device=str(device))
            try:
                self.network.load_state_dict(state)
            except RuntimeError as exc:
                raise OvbenchError(f"{checkpoint / WEIGHTS}: does not fit this model ({str(exc).splitlines()[0]})") from None
            self._weights = f"{clip_weights}+head:{checkpoint.name}:sha256={file_digest(checkpoint / WEIGHTS)}"
        self._mean = torch.tensor(MEAN, device=device).view(1, 3, 1, 1)
        self._std = torch.tensor(STD, device=device).view(1, 3, 1, 1)
        self._train_cache: OrderedDict[tuple, tuple] = OrderedDict()

    @staticmethod
    def _checkpoint_folder(value: str) -> Path | None:
        if not value:
            return None
        folder = Path(value).expanduser()
        if (folder / "latest.json").is_file():
            folder = latest_checkpoint(folder)
        if not (folder / WEIGHTS).is_file() or not (folder / OPTIONS).is_file():
            raise OvbenchError(
                f"--checkpoint {value}: no {WEIGHTS} + {OPTIONS} there; pass an `ovbench train` --out folder "
                "or one of its checkpoints/step-* folders"
            )
        return folder

    @property
    def weights(self) -> str:
        return self._weights

    @property
    def random_weights(self) -> bool:
        return self._random_weights

    def describe(self) -> dict:
        info = super().describe()
        info.update(quick_gelu=self.quick_gelu, num_templates=len(self.text.templates),
                    dtype="fp32" if self.amp_dtype is None else str(self.amp_dtype).removeprefix("torch."))  # fmt: skip
        return info

    def trainable_module(self) -> torch.nn.Module:
        return self.network

    # ------------------------------------------------------------------ frames and features

    def _pixels(self, frames: list[np.ndarray], crops=None, flips=None) -> torch.Tensor:
        """uint8 frames -> normalised B×3×S×S (each cropped and flipped first when given)."""
        size = self.config["input_size"]
        out = []
        for i, frame in enumerate(frames):
            x = torch.from_numpy(np.array(frame)).to(self.device).permute(2, 0, 1).float().div_(255)
            if crops is not None:
                top, left, height, width = crops[i]
                x = x[:, top : top + height, left : left + width]
            if flips is not None and flips[i]:
                x = x.flip(-1)
            out.append(F.interpolate(x[None], size=(size, size), mode="bilinear", align_corners=False)[0])
        return (torch.stack(out) - self._mean) / self._std

    def _clip(self, pixels: torch.Tensor):
        with torch.autocast("cuda", dtype=self.amp_dtype, enabled=self.amp_dtype is not None):
            return self.clip(pixels)

    def _texts(self, vocabulary: Sequence[VocabularyEntry]) -> tuple[torch.Tensor, torch.Tensor, int]:
        prompts = [list(v.prompts) for v in vocabulary]
        text, owner = self.text.queries(prompts, per_template=True)
        return text.clone(), owner, len(prompts)

    @staticmethod
    def _class_logits(logits: torch.Tensor, owner: torch.Tensor, classes: int) -> torch.Tensor:
        """Query (synonym) logits B×Q×… -> class logits B×C×…: each class scores by its best synonym."""
        return torch.stack([logits[:, owner == c].amax(dim=1) for c in range(classes)], dim=1)

    def _roles(self, target: int, length: int, extra: int) -> dict[str, list[int]]:
        return {"references": reference_indices(target, self.offsets), "target": [target], "extra": [extra]}

    def _needed(self) -> set[str]:
        cfg = self.config
        needed = {"target"}
        if cfg["stf"] or cfg["vte"]:
            needed.add("references")
        if cfg["rfe"]:
            needed.add("extra")
        return needed

    def _network_inputs(self, features: dict[str, list]) -> dict:
        return {
            "target": features["target"][0],
            "references": features.get("references", []),
            "extra": features["extra"][0] if "extra" in features else None,
        }

    # ------------------------------------------------------------------ inference

    def target_logits(self, video, target: int, text, owner, classes: int, features) -> torch.Tensor:
        """Class logits (1×C×2h×2w) for frame ``target``; ``features(i)`` gives frame i's CLIP features."""
        roles = self._roles(target, len(video), farthest_index(target, len(video)))
        inputs = self._network_inputs({r: [features(i) for i in roles[r]] for r in self._needed()})
        with torch.autocast("cuda", dtype=self.amp_dtype, enabled=self.amp_dtype is not None):
            logits, _ = self.network(inputs, text)
        return self._class_logits(logits.float(), owner, classes)

    def frame_features(self, video, size: int | None = None):
        """A per-video memo of frozen CLIP features (recent frames), shared by the targets' clips."""
        cache: OrderedDict[int, tuple] = OrderedDict()
        size = size or max(self.config["frame_cache"], 1)

        def features(i: int):
            if i not in cache:
                cache[i] = self._clip(self._pixels([video[i]]))
                if len(cache) > size:
                    cache.popitem(last=False)
            cache.move_to_end(i)
            return cache[i]

        return features

    def predict_video(self, video, vocabulary: Sequence[VocabularyEntry]) -> Iterator[tuple[int, np.ndarray]]:
        text, owner, classes = self._texts(vocabulary)
        features = self.frame_features(video)
        self.network.eval()
        with torch.inference_mode():
            for target in video.scored_indices:
                logits = self.target_logits(video, target, text, owner, classes, features)
                height, width = video[target].shape[:2]
                logits = F.interpolate(logits, size=(height, width), mode="bilinear", align_corners=False)
                yield target, logits[0].argmax(dim=0).to(torch.uint8).cpu().numpy()

    # ------------------------------------------------------------------ training

    def _training_features(self, views: list[tuple[TrainingSample, int]]):
        """CLIP features of frame ``i`` of each sample's video under that sample's crop and flip."""
        limit = self.config["train_cache"]
        keys = [(s.video.name, i, s.crop, s.flip) for s, i in views]
        missing = [k for k, key in enumerate(keys) if key not in self._train_cache]
        if missing:
            pixels = self._pixels([views[k][0].video[views[k][1]] for k in missing],
                                  [views[k][0].crop for k in missing], [views[k][0].flip for k in missing])  # fmt: skip
            dense, tokens = self._clip(pixels)
            if not limit:
                fresh = {keys[k]: (dense[j], tokens[j]) for j, k in enumerate(missing)}
                return tuple(torch.stack([fresh[key][part] for key in keys]) for part in (0, 1))
            for j, k in enumerate(missing):
                self._train_cache[keys[k]] = (dense[j], tokens[j])
        for key in keys:
            self._train_cache.move_to_end(key)
        result = tuple(torch.stack([self._train_cache[key][part] for key in keys]) for part in (0, 1))
        while len(self._train_cache) > limit:
            self._train_cache.popitem(last=False)
        return result

    def training_loss(self, samples: Sequence[TrainingSample], vocabulary, rng) -> torch.Tensor:
        text, owner, classes = self._texts(vocabulary)
        clips = []
        for s in samples:  # one draw per sample, in sample order, so training is reproducible
            extra = random_extra_index(s.index, len(s.video), reference_indices(s.index, self.offsets), rng)
            clips.append(self._roles(s.index, len(s.video), extra))
        features: dict[str, list] = {}
        for role in sorted(self._needed()):
            features[role] = [
                self._training_features([(s, clip[role][k]) for s, clip in zip(samples, clips)])
                for k in range(len(clips[0][role]))
            ]
        logits, aux = self.network(self._network_inputs(features), text)
        size = self.config["input_size"]
        labels = []
        for s in samples:
            top, left, height, width = s.crop
            label = torch.from_numpy(np.ascontiguousarray(s.label[top : top + height, left : left + width]))
            if s.flip:
                label = label.flip(-1)
            labels.append(F.interpolate(label[None, None].float(), size=(size, size), mode="nearest")[0, 0])
        target = torch.stack(labels).long().to(self.device)
        loss = 0.0
        for output in (logits, aux):
            output = self._class_logits(output.float(), owner, classes)
            output = F.interpolate(output, size=(size, size), mode="bilinear", align_corners=False)
            loss = loss + F.cross_entropy(output, target, ignore_index=255) / 2
        return loss


def _with_defaults(options: tuple[Option, ...], **defaults) -> tuple[Option, ...]:
    return tuple(dataclasses.replace(o, default=defaults[o.name]) if o.name in defaults else o for o in options)


class CatSegFrame(OV2VSS):
    """ov2vss-lite with STF, RFE and VTE switched off: a frame-level CAT-Seg-style head (not CAT-Seg)."""

    options = _with_defaults(OV2VSS.options, stf=False, rfe=False, vte=False)
