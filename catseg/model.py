"""``ovbench run --model catseg --checkpoint model_base.pth``: the released CAT-Seg, frame by frame.

Each scored frame goes through the official test protocol of ``eval.sh`` (sliding window): the
detectron2 resize, the five 384×384 views batched through the network, the merge, bilinear to the
frame, argmax; ``--sliding-window false`` takes the configs' whole-image path instead. The
configuration (ViT-B/16 ``model_base.pth`` or ViT-L/14 ``model_large.pth``) is told by the file. The
class names are embedded once per vocabulary.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

from catseg.checkpoint import read_checkpoint
from catseg.network import (
    TEMPLATE, CATSeg, config_of, merged_probabilities, sliding_views, whole_probabilities, whole_view,
)  # fmt: skip
from clip_toolkit.shortest_edge import LONG, SHORT, mapper_image
from ovbench.api import Option, OvbenchError, VideoModel, VocabularyEntry, file_sha256

SOURCE = "KU-CVLAB/CAT-Seg@6d3a188"


class CATSegModel(VideoModel):
    """CAT-Seg as released (Cho et al., CVPR 2024), ViT-B/16 or ViT-L/14, from its checkpoint."""

    options = (
        Option("checkpoint", "", "The released checkpoint file: model_base.pth or model_large.pth "
               "(detectron2's {'model': ...})."),  # fmt: skip
        Option("sliding_window", True, "eval.sh's TEST.SLIDING_WINDOW: four 384 crops of the 640x640 squash plus "
               "the global view; false = the configs' whole-image path (pad to /32, one view)."),  # fmt: skip
        Option("batch_size", 5, "Views per forward pass (5 = a frame's four crops and global view at once).",
               affects_score=False, minimum=1),  # fmt: skip
    )

    def __init__(self, device: str = "cpu", dataset: str | None = None, **options):
        super().__init__(device=device, dataset=dataset, **options)
        if not self.config["checkpoint"]:
            raise OvbenchError("catseg needs --checkpoint FILE: the released CAT-Seg model_base.pth (see its README)")
        path = Path(self.config["checkpoint"])
        state = read_checkpoint(path)
        self.network = CATSeg(config_of(state))
        self.network.load_checkpoint(state, path)
        self.network.to(device).eval()
        self.parameter_count = sum(v.numel() for k, v in state.items() if not k.endswith("attn_mask"))
        del state
        self._sha256 = file_sha256(path)
        self._text: dict[tuple, torch.Tensor] = {}

    @property
    def weights(self) -> str:
        return f"catseg-released:sha256={self._sha256}"

    def describe(self) -> dict:
        info = super().describe()
        config = self.network.config
        views = "4 crops 384/256 of 640x640 + global 384" if self.config["sliding_window"] else "whole, padded to /32"
        info.update(architecture=f"{SOURCE} configs/{config.name}.yaml", config=config.name,
                    parameters=self.parameter_count, template=TEMPLATE, resize_short=SHORT, resize_max=LONG,
                    clip_resolution=config.resolution, views=views, synonyms="first only")  # fmt: skip
        return info

    def predict_video(self, video, vocabulary: Sequence[VocabularyEntry]) -> Iterator[tuple[int, np.ndarray]]:
        key = tuple(tuple(v.prompts) for v in vocabulary)
        with torch.inference_mode():
            if key not in self._text:
                self._text = {key: self.network.text_embeddings([list(p) for p in key]).to(self.device)}
            text = self._text[key]
            for i in video.scored_indices:
                image = mapper_image(np.asarray(video[i])).to(self.device)
                if self.config["sliding_window"]:
                    views, size = sliding_views(image), self.config["batch_size"]
                    logits = torch.cat([self.network(views[j : j + size], text) for j in range(0, len(views), size)])
                    probs = merged_probabilities(logits, video.frame_size(i))
                else:
                    logits = self.network(whole_view(image), text, stage="whole")
                    probs = whole_probabilities(logits, tuple(image.shape[-2:]), video.frame_size(i))
                yield i, probs.argmax(dim=0).to(torch.uint8).cpu().numpy()
