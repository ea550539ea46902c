"""Training any trainable plugin on the seen classes of a split (``ovbench train``).

The harness owns what every model's training shares: the seen-only vocabulary and labels (unseen
pixels become ignore, unseen names are never shown), seeded sampling of target frames and crops,
AdamW with linear warm-up then a poly schedule, gradient accumulation, AMP on CUDA, progress, and
checkpoints that resume exactly. The model owns its loss through :class:`TrainableVideoModel`.
"""

from __future__ import annotations

import abc
import json
import math
import pickle
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

import ovbench
from ovbench.atomic import atomic_path, write_text
from ovbench.datasets import IGNORE, Dataset, Video
from ovbench.errors import OvbenchError
from ovbench.models import VideoModel, VocabularyEntry
from ovbench.splits import Split

WEIGHTS = "model.safetensors"
OPTIONS = "options.json"
TRAINER = "trainer.pt"


@dataclass(frozen=True)
class TrainingSample:
    """One target frame to learn from: ``label`` holds training-vocabulary indices (255 = ignore).

    ``crop`` is a (top, left, height, width) box in frame pixels with the frame's aspect ratio, and
    ``flip`` a horizontal flip, both to be applied identically to every frame the model reads for
    this sample. With ``--crop-scale 1`` the crop is always the whole frame.
    """

    video: Video
    index: int
    label: np.ndarray
    crop: tuple[int, int, int, int]
    flip: bool


class TrainableVideoModel(VideoModel):
    """A model ``ovbench train`` can train: it exposes its trainable module and its loss."""

    @abc.abstractmethod
    def trainable_module(self) -> torch.nn.Module:
        """The module whose state is checkpointed (frozen parts excluded)."""

    @abc.abstractmethod
    def training_loss(
        self, samples: Sequence[TrainingSample], vocabulary: Sequence[VocabularyEntry], rng: np.random.Generator
    ) -> torch.Tensor:
        """Mean loss over ``samples`` (model in train mode; the harness calls backward)."""

    def param_groups(self, lr: float) -> list[dict[str, Any]]:
        """AdamW parameter groups; override to give parts their own learning rate or weight decay."""
        return [{"params": [p for p in self.trainable_module().parameters() if p.requires_grad], "lr": lr}]


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 1000
    batch_size: int = 4
    accumulate: int = 1
    lr: float = 1e-4
    weight_decay: float = 0.01
    warmup: int = 100
    poly_power: float = 0.9
    crop_scale: float = 0.5
    seed: int = 0
    checkpoint_every: int = 500

    def check(self) -> None:
        for name, value in asdict(self).items():
            if isinstance(value, float) and not math.isfinite(value):
                raise OvbenchError(f"--{name.replace('_', '-')} {value} is not a finite number")
        for name in ("steps", "batch_size", "accumulate", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise OvbenchError(f"--{name.replace('_', '-')} must be at least 1")
        if not 0 < self.crop_scale <= 1:
            raise OvbenchError("--crop-scale must be in (0, 1]")
        if self.lr <= 0:
            raise OvbenchError("--lr must be positive")
        if self.weight_decay < 0 or self.poly_power < 0 or self.warmup < 0:
            raise OvbenchError("--weight-decay, --poly-power and --warmup must not be negative")


def learning_rate_factor(step: int, config: TrainConfig) -> float:
    """Linear warm-up from 1e−6 to 1 over ``warmup`` steps, then poly decay to 0 at ``steps``."""
    if step < config.warmup:
        return 1e-6 + (1 - 1e-6) * step / config.warmup
    return (1 - step / config.steps) ** config.poly_power


def seen_vocabulary(split: Split) -> tuple[list[VocabularyEntry], np.ndarray]:
    """The seen classes as a vocabulary, and a 256-entry map evaluation id -> vocabulary index."""
    seen = [c for c in split.classes if c.seen]
    lut = np.full(256, IGNORE, dtype=np.uint8)
    for position, c in enumerate(seen):
        lut[c.id] = position
    return [VocabularyEntry(c.name, c.prompts) for c in seen], lut


class Sampler:
    """Seeded draws of (video, scored frame, crop, flip); its state is saved with checkpoints."""

    def __init__(self, dataset: Dataset, seed: int, crop_scale: float):
        self.videos = dataset.videos()
        self.frames = [(v, i) for v, record in enumerate(self.videos) for i in record.scored_indices]
        if not self.frames:
            raise OvbenchError(f"{dataset.root}: no annotated frames in {dataset.subset} to train on")
        self.rng = np.random.default_rng(seed)
        self.crop_scale = crop_scale

    def draw(self, dataset: Dataset, label_lut: np.ndarray, videos: dict[int, Video]) -> TrainingSample:
        v, index = self.frames[self.rng.integers(len(self.frames))]
        record = self.videos[v]
        video = videos.setdefault(v, Video(record, cache_size=8))
        label = label_lut.take(dataset.read_label(record.frames[index]))
        h, w = label.shape
        scale = self.rng.uniform(self.crop_scale, 1.0) if self.crop_scale < 1 else 1.0
        ch, cw = max(int(h * scale), 1), max(int(w * scale), 1)
        top, left = int(self.rng.integers(h - ch + 1)), int(self.rng.integers(w - cw + 1))
        return TrainingSample(video, index, label, (top, left, ch, cw), bool(self.rng.random() < 0.5))


def _rng_states() -> dict:
    states = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def save_checkpoint(folder: Path, model: TrainableVideoModel, model_name: str, info: dict, trainer_state: dict) -> None:
    """Writes weights (safetensors), options (JSON) and trainer state, each atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in model.trainable_module().state_dict().items()}
    with atomic_path(folder / WEIGHTS) as tmp:
        save_file(state, str(tmp))
    with atomic_path(folder / TRAINER) as tmp:
        torch.save(trainer_state, tmp)
    write_text(folder / OPTIONS, json.dumps({"model": model_name, "options": model.config, **info}, indent=1) + "\n")


def _check_finite_weights(module: torch.nn.Module, step: int, out: Path) -> None:
    """Stops training at the first step that leaves a weight non-finite, before it can be saved."""
    params = [p for p in module.parameters() if p.requires_grad]
    if not params or bool(torch.stack([p.detach().isfinite().all() for p in params]).all()):
        return
    raise OvbenchError(f"step {step + 1}: the weights became non-finite (inf or NaN); {_kept(out)}; lower --lr")


def _kept(out: Path) -> str:
    last = latest_checkpoint(out)
    return f"the last good checkpoint, {last}, is kept" if last is not None else "no checkpoint was written"


_START_AGAIN = "or start again with another --out"


def latest_checkpoint(out: Path) -> Path | None:
    """The checkpoint folder ``out/latest.json`` names; a damaged marker is one error saying how to go on."""
    from ovbench.textfiles import read_json

    marker = out / "latest.json"
    if not marker.is_file():
        return None
    fix = f'; write {{"step": N, "path": "checkpoints/step-N"}} naming a saved step, {_START_AGAIN}'
    data = read_json(marker, "training marker", fix)
    path = data.get("path") if isinstance(data, dict) else None
    if not isinstance(path, str) or not (out / path).is_dir():
        raise OvbenchError(f"{marker}: names no checkpoint folder of {out} (path {path!r}){fix}")
    return out / path


def _resume_state(existing: Path, module: torch.nn.Module, device: torch.device) -> dict:
    """The trainer state of ``existing`` with the weights loaded into ``module``; a damaged file is named."""
    earlier = f"resume from an earlier step (point latest.json at another checkpoints/step-N), {_START_AGAIN}"
    try:
        state = torch.load(existing / TRAINER, weights_only=False)
        missing = [k for k in ("optimizer", "scaler", "sampler", "rng", "history", "step", "config") if k not in state]
        if missing:
            raise KeyError(f"no {', '.join(missing)}")
    except Exception as exc:  # a torch pickle: anything it raises means damaged
        raise OvbenchError(f"{existing / TRAINER}: damaged trainer state ({type(exc).__name__}: {exc}); {earlier}") from None
    try:
        module.load_state_dict(load_file(existing / WEIGHTS, device=str(device)))
    except Exception as exc:
        raise OvbenchError(f"{existing / WEIGHTS}: damaged or foreign weights ({type(exc).__name__}: "
                           f"{str(exc).splitlines()[0] if str(exc) else ''}); {earlier}") from None  # fmt: skip
    return state


def train(
    model: TrainableVideoModel, model_name: str, dataset: Dataset, split: Split, out: Path, config: TrainConfig,
    *, resume: bool = False, show_progress: bool = True, on_checkpoint=None,
) -> list[dict]:  # fmt: skip
    """Trains ``model`` on the seen classes; returns the loss history (one entry per step)."""
    config.check()
    out = Path(out)
    existing = latest_checkpoint(out)
    if existing is not None and not resume:
        raise OvbenchError(f"{out} already holds a training run; pass --resume to continue it or choose another --out")
    vocabulary, label_lut = seen_vocabulary(split)
    module = model.trainable_module()
    device = torch.device(model.device)
    torch.manual_seed(config.seed)
    optimizer = torch.optim.AdamW(model.param_groups(config.lr), lr=config.lr, weight_decay=config.weight_decay)
    base_lrs = [g["lr"] for g in optimizer.param_groups]
    sampler = Sampler(dataset, config.seed, config.crop_scale)
    scaler = torch.amp.GradScaler("cuda", enabled=device.type == "cuda")
    history: list[dict] = []
    start = 0
    if resume and existing is not None:
        state = _resume_state(existing, module, device)
        optimizer.load_state_dict(state["optimizer"])
        scaler.load_state_dict(state["scaler"])
        sampler.rng = pickle.loads(state["sampler"])
        torch.set_rng_state(state["rng"]["torch"])
        if "cuda" in state["rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        history, start = state["history"], state["step"]
        if state["config"] != asdict(config):
            raise OvbenchError(f"{existing}: trained with other settings {state['config']}; resume with the same options")
    info = {
        "split": split.name, "split_hash": split.hash, "dataset": dataset.name, "subset": dataset.subset,
        "vocabulary": [v.name for v in vocabulary], "train": asdict(config), "ovbench_version": ovbench.__version__,
    }  # fmt: skip
    videos: dict[int, Video] = {}
    from ovbench.progress import training_progress

    module.train()
    with training_progress(config.steps, start, model_name, show_progress) as progress:
        for step in range(start, config.steps):
            tic = time.perf_counter()
            factor = learning_rate_factor(step, config)
            for group, base in zip(optimizer.param_groups, base_lrs):
                group["lr"] = base * factor
            optimizer.zero_grad(set_to_none=True)
            total = 0.0
            for _ in range(config.accumulate):
                samples = [sampler.draw(dataset, label_lut, videos) for _ in range(config.batch_size)]
                with torch.autocast("cuda", enabled=device.type == "cuda"):
                    loss = model.training_loss(samples, vocabulary, sampler.rng) / config.accumulate
                if not torch.isfinite(loss):
                    raise OvbenchError(
                        f"step {step + 1}: the loss is {loss.item()}; {_kept(out)}; lower --lr or check the data"
                    )
                scaler.scale(loss).backward()
                total += loss.item()
            scaler.step(optimizer)
            scaler.update()
            _check_finite_weights(module, step, out)
            history.append({"step": step + 1, "loss": total, "lr": base_lrs[0] * factor, "seconds": time.perf_counter() - tic})
            progress.step(total)
            if (step + 1) % config.checkpoint_every == 0 or step + 1 == config.steps:
                folder = out / "checkpoints" / f"step-{step + 1:06d}"
                trainer_state = {
                    "optimizer": optimizer.state_dict(), "scaler": scaler.state_dict(), "step": step + 1,
                    "sampler": pickle.dumps(sampler.rng), "rng": _rng_states(), "history": history,
                    "config": asdict(config),
                }  # fmt: skip
                save_checkpoint(folder, model, model_name, {**info, "step": step + 1}, trainer_state)
                write_text(out / "latest.json", json.dumps({"step": step + 1, "path": str(folder.relative_to(out))}) + "\n")
                if on_checkpoint is not None:
                    module.eval()
                    on_checkpoint(step + 1, folder, history)
                    module.train()
    module.eval()
    return history
