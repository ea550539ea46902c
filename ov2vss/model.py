"""``ovbench run --model ov2vss --checkpoint 100000.pth``: the released OV2VSS as an ovbench model.

Each scored frame t is predicted from the release's test clip (``ov2vss.clips``) with the release's
test pipeline and network. The vocabulary is the one ovbench asks for plus the literal "background"
prompt last, as in the released class files; a pixel whose best class is "background" is no
prediction (255). Backbone features are computed once per frame and shared by the clips that read
the frame (the release recomputes them per clip; the numbers are the same up to float rounding).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

from ov2vss.checkpoint import checkpoint_parameter_count, read_checkpoint
from ov2vss.clip_branch import class_embeddings
from ov2vss.clips import released_clip, stf_chain
from ov2vss.network import VIDEO_CLIP, ReleasedOV2VSS
from ov2vss.pipeline import network_input
from ovbench.api import (
    NO_PREDICTION,
    Option,
    OvbenchError,
    VideoModel,
    VocabularyEntry,
    cached_tensor,
    file_sha256,
)

BACKGROUND = "background"
ARCHITECTURE = "AVC2-UESTC/OV2VSS@25fca42 local_configs/vit/vitb/vitb.py: SAM ViT-B + CLIP ViT-B/16"


class OV2VSS(VideoModel):
    """OV2VSS as released (Li et al., TMM 2025): SAM ViT-B + CLIP ViT-B/16, from the authors' checkpoint."""

    options = (
        Option("checkpoint", "", "The released checkpoint file: 100000.pth (mmseg's {'meta', 'state_dict'})."),
        Option("chain", "released", "STF chain: released = far -> t-9 -> t-6 -> t (the code; t-3 unused); figure = "
               "t-9 -> t-6 -> t-3 -> t (the paper's figure, a research variant).", choices=("released", "figure")),
        Option("img_scale", "1024,1024", "Keep-ratio resize limits (long,short) before the size divisor 32; "
               "the release's VSPW test setting."),
        Option("frame_cache", 12, "Backbone features of this many frames kept per video.", affects_score=False,
               minimum=1),
    )  # fmt: skip

    def __init__(self, device: str = "cpu", dataset: str | None = None, **options):
        super().__init__(device=device, dataset=dataset, **options)
        cfg = self.config
        self.img_scale = _scale(cfg["img_scale"])
        path = Path(cfg["checkpoint"]) if cfg["checkpoint"] else None
        if path is None:
            raise OvbenchError(
                "ov2vss needs --checkpoint FILE: the released OV2VSS checkpoint 100000.pth (see the AVC2-UESTC/OV2VSS "
                "README); the re-implementation that trains here is ov2vss-lite"
            )
        state = read_checkpoint(path)
        self.network = ReleasedOV2VSS()
        self.network.load_checkpoint(state, path)
        self.network.to(device).eval()
        self.parameter_count = checkpoint_parameter_count(state)
        del state
        self._sha256 = file_sha256(path)
        self._text: dict[tuple, torch.Tensor] = {}

    @property
    def weights(self) -> str:
        return f"ov2vss-released:sha256={self._sha256}"

    def describe(self) -> dict:
        info = super().describe()
        info.pop("checkpoint", None)  # a local path; the weights identifier carries the file's SHA-256
        info.update(architecture=ARCHITECTURE, parameters=self.parameter_count, background_prompt=BACKGROUND,
                    templates="imagenet80", size_divisor=32)  # fmt: skip
        return info

    def predict_video(self, video, vocabulary: Sequence[VocabularyEntry]) -> Iterator[tuple[int, np.ndarray]]:
        classes = [tuple(v.prompts) for v in vocabulary] + [(BACKGROUND,)]
        text = self.text_embeddings(classes)
        cache: OrderedDict[int, tuple] = OrderedDict()

        def frame(i: int) -> tuple:
            """(network input 1×3×H×W, backbone maps, linear_down maps) of frame i, cached."""
            if i not in cache:
                image = network_input(np.asarray(video[i]), self.img_scale)[None].to(self.device)
                cache[i] = (image, *self.network.frame_features(image))
                while len(cache) > self.config["frame_cache"]:
                    cache.popitem(last=False)
            cache.move_to_end(i)
            return cache[i]

        with torch.inference_mode():
            for t in video.scored_indices:
                clip = released_clip(t, len(video))
                if len(clip) == VIDEO_CLIP:
                    chain = [frame(i)[2] for i in stf_chain(clip, self.config["chain"])]
                    far = frame(clip[0])[2]
                    per_level = [torch.cat([c[level] for c in chain]) for level in range(4)]
                    decoder_guidance, appearance, _ = self.network.video_guidance(per_level, far)
                else:  # the release's frame-level fallback (t <= 2): only frame t reaches the output
                    _, levels, down = frame(t)
                    decoder_guidance, appearance = self.network.frame_guidance(levels, down)
                image = frame(t)[0]
                scores = self.network.decode(image, text, appearance, decoder_guidance, video.frame_size(t))
                labels = scores.argmax(dim=0)
                labels[labels == len(vocabulary)] = NO_PREDICTION
                yield t, labels.to(torch.uint8).cpu().numpy()

    def text_embeddings(self, classes: Sequence[tuple[str, ...]]) -> torch.Tensor:
        """C×80×512, per class cached in memory and on disk (keyed by the checkpoint's SHA-256)."""
        blocks = []
        for synonyms in classes:
            if synonyms not in self._text:
                self._text[synonyms] = self._cached_class(synonyms)
            blocks.append(self._text[synonyms])
        return torch.stack(blocks).to(self.device)

    def _cached_class(self, synonyms: tuple[str, ...]) -> torch.Tensor:
        import open_clip

        def compute() -> torch.Tensor:
            with torch.inference_mode():
                return class_embeddings(self.network.clip, [list(synonyms)])[0].cpu()

        return cached_tensor("text", compute, kind="ov2vss-class-text", weights=self._sha256, synonyms=list(synonyms),
                             open_clip=open_clip.__version__, torch=torch.__version__)  # fmt: skip


def _scale(text: str) -> tuple[int, int]:
    try:
        values = tuple(int(v) for v in str(text).split(","))
    except ValueError:
        values = ()
    if len(values) != 2 or min(values) < 1:
        raise OvbenchError(f"--img-scale {text!r}: expected two positive integers like 1024,1024")
    return values

