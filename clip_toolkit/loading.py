"""Loading an open_clip model by name and weights: a pretrained tag, a local checkpoint, or none."""

from __future__ import annotations

import contextlib
import logging
import socket
from pathlib import Path
from urllib.parse import urlsplit

import torch

from ovbench.api import OvbenchError, file_sha256

SEED_MAX = 2**63 - 1  # seeds beyond this overflow torch.manual_seed
CHECKPOINT_SUFFIXES = {".bin", ".pt", ".pth", ".safetensors", ".npz"}


def _looks_like_path(value: str) -> bool:
    return "/" in value or "\\" in value or Path(value).suffix.lower() in CHECKPOINT_SUFFIXES


def file_digest(path: Path) -> str:
    """The first 16 hex digits of the file's SHA-256, as weights identifiers carry it."""
    return file_sha256(path)[:16]


@contextlib.contextmanager
def quiet_root_logger():
    """open_clip logs expected situations (random init) as root warnings and a failed download as a root
    error that our own message replaces; keep the CLI clean."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        root.setLevel(level)


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hugging Face hub (``HF_ENDPOINT``) accepts a connection within ``timeout`` seconds."""
    from huggingface_hub import constants

    url = urlsplit(constants.ENDPOINT)
    try:
        socket.create_connection((url.hostname, url.port or (443 if url.scheme == "https" else 80)), timeout).close()
    except (OSError, ValueError):
        return False
    return True


@contextlib.contextmanager
def hub_offline_unless_reachable():
    """Hub downloads inside answer from the local cache at once when the hub cannot be reached.

    Without it, ``huggingface_hub`` retries an unreachable hub for about 50 s before failing; in its offline
    mode it serves cached files and fails immediately for missing ones.
    """
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE or hub_reachable():
        yield
        return
    constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = False


def weights_identifier(backbone: str, pretrained: str, seed: int) -> tuple[str | None, str]:
    """(the value for open_clip, the identifier recorded in results); raises on a bad value."""
    import open_clip

    if pretrained.lower() == "none":
        return None, f"{backbone}:random-init:seed={seed}"
    if _looks_like_path(pretrained):
        path = Path(pretrained).expanduser()
        if not path.is_file():
            raise OvbenchError(
                f"--pretrained {pretrained}: no such checkpoint file; pass an existing open_clip checkpoint "
                "(.bin, .pt, .safetensors), a pretrained tag, or 'none' for random weights"
            )
        if path.stat().st_size == 0:
            raise OvbenchError(f"--pretrained {pretrained}: the file is empty (an interrupted download?); download it again")
        return str(path), f"{backbone}:file:{path.name}:sha256={file_digest(path)}"
    tags = open_clip.list_pretrained_tags_by_model(backbone)
    if pretrained not in tags:
        raise OvbenchError(
            f"--pretrained {pretrained!r} is not an open_clip tag for {backbone} "
            f"(known: {', '.join(tags) or 'none'}); or pass a checkpoint path, or 'none'"
        )
    return pretrained, f"{backbone}:open_clip:{pretrained}"


def resolve_quick_gelu(backbone: str, pretrained: str, setting: str) -> bool:
    """OpenAI weights need QuickGELU, which open_clip's plain ``ViT-B-16`` config does not use."""
    if setting != "auto":
        return setting == "on"
    if pretrained.lower() == "none" or _looks_like_path(pretrained):
        return True  # OpenAI's architecture; local files are most often OpenAI's weights
    import open_clip

    return bool(open_clip.get_pretrained_cfg(backbone, pretrained).get("quick_gelu", False))


def load_clip(backbone: str, pretrained: str, quick_gelu: bool, seed: int, device: str):
    """(model in eval mode, tokenizer, weights identifier); every failure is one clear OvbenchError."""
    import open_clip

    if backbone not in open_clip.list_models():
        raise OvbenchError(f"--backbone {backbone!r} is not an open_clip model (e.g. ViT-B-16, ViT-L-14)")
    value, identifier = weights_identifier(backbone, pretrained, seed)
    torch.manual_seed(seed)  # makes random initialisation reproducible
    downloads = value is not None and not _looks_like_path(pretrained)
    try:
        with quiet_root_logger(), hub_offline_unless_reachable() if downloads else contextlib.nullcontext():
            model = open_clip.create_model(backbone, pretrained=value, force_quick_gelu=quick_gelu, device=device)
    except Exception as exc:  # a user's file meets a third-party loader: anything it raises means "not loadable"
        reason = (str(exc).splitlines() or [""])[0][:300] or type(exc).__name__
        if value is not None and _looks_like_path(pretrained):
            detail = f"{type(exc).__name__}: {reason}" if reason != type(exc).__name__ else reason
            raise OvbenchError(
                f"--pretrained {pretrained}: not an open_clip checkpoint of {backbone} ({detail}); "
                "pass the open_clip_pytorch_model.bin (or .safetensors) of this backbone"
            ) from None
        raise OvbenchError(
            f"--pretrained {pretrained}: could not load {backbone} weights ({reason}). Without internet access, "
            "download the checkpoint on another machine and pass its path: --pretrained "
            "/path/to/open_clip_pytorch_model.bin (or --pretrained none for random weights)"
        ) from None
    model.eval().requires_grad_(False)
    if not hasattr(model, "visual") or not hasattr(model.visual, "transformer"):
        raise OvbenchError(f"--backbone {backbone}: only ViT image towers are supported by these baselines")
    return model, open_clip.get_tokenizer(backbone), identifier


def untrained_clip(architecture: str = "ViT-B-16-quickgelu"):
    """A randomly initialised open_clip model of ``architecture``, to receive the weights a port maps in
    from its own checkpoint file (eval mode)."""
    import open_clip

    with quiet_root_logger():
        return open_clip.create_model(architecture, pretrained=None).eval()


def autocast_dtype(setting: str, device: str) -> torch.dtype | None:
    """The ``--dtype`` option: None for fp32 (and for ``auto`` on CPU), else the CUDA autocast type."""
    if setting == "fp32" or (setting == "auto" and not device.startswith("cuda")):
        return None
    if not device.startswith("cuda"):
        raise OvbenchError(f"--dtype {setting}: half precision is only used on CUDA; use --dtype fp32 on CPU")
    return torch.bfloat16 if setting == "bf16" else torch.float16
