"""``ovbench run --model san --checkpoint san_vit_b_16.pth``: the released SAN, frame by frame.

Each scored frame goes through the official test protocol (``train_net.py --eval-only``, no
test-time augmentation): detectron2's resize (shorter side 640, longer at most 2560), one forward
pass, the post-processing, argmax. The configuration (ViT-B/16 ``san_vit_b_16.pth`` or ViT-L/14
``san_vit_large_14.pth``) is told by the file. The classifier is built once per vocabulary.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

from clip_toolkit.shortest_edge import LONG, SHORT, SIZE_DIVISIBILITY, mapper_image, padded_size
from ovbench.api import Option, OvbenchError, VideoModel, VocabularyEntry, file_sha256
from sanseg.checkpoint import read_checkpoint
from sanseg.network import SAN, VILD_TEMPLATES, config_of, semantic_scores

SOURCE = "MendelXu/SAN@e19262d"
SYNONYMS = ", "  # the release puts a class's names into each template joined like this


class SANModel(VideoModel):
    """SAN as released (Xu et al., CVPR 2023), ViT-B/16 or ViT-L/14, from its checkpoint."""

    options = (
        Option("checkpoint", "", "The released checkpoint file: san_vit_b_16.pth or san_vit_large_14.pth "
               "(detectron2's {'model': ...})."),  # fmt: skip
    )

    def __init__(self, device: str = "cpu", dataset: str | None = None, **options):
        super().__init__(device=device, dataset=dataset, **options)
        if not self.config["checkpoint"]:
            raise OvbenchError("san needs --checkpoint FILE: the released SAN san_vit_b_16.pth (see its README)")
        path = Path(self.config["checkpoint"])
        state = read_checkpoint(path)
        self.network = SAN(config_of(state))
        self.network.load_checkpoint(state, path)
        self.network.to(device).eval()
        del state
        self.parameter_count = sum(p.numel() for p in self.network.parameters())
        self._sha256 = file_sha256(path)
        self._classifier: dict[tuple, torch.Tensor] = {}

    @property
    def weights(self) -> str:
        return f"san-released:sha256={self._sha256}"

    def describe(self) -> dict:
        info = super().describe()
        config = self.network.config
        info.update(architecture=f"{SOURCE} configs/{config.name}.yaml", config=config.name,
                    parameters=self.parameter_count, templates=f"vild ({len(VILD_TEMPLATES)})",
                    resize_short=SHORT, resize_max=LONG, size_divisibility=SIZE_DIVISIBILITY,
                    clip_resolution=config.clip_resolution, synonyms="joined with ', ' in each template")  # fmt: skip
        return info

    def predict_video(self, video, vocabulary: Sequence[VocabularyEntry]) -> Iterator[tuple[int, np.ndarray]]:
        names = tuple(SYNONYMS.join(v.prompts) for v in vocabulary)
        with torch.inference_mode():
            if names not in self._classifier:
                text = self.network.text_embeddings(names)
                self._classifier = {names: self.network.classifier(text).to(self.device)}
            classifier = self._classifier[names]
            for i in video.scored_indices:
                image = mapper_image(np.asarray(video[i])).to(self.device)
                masks, logits = self.network(image, classifier)
                size = tuple(image.shape[-2:])
                scores = semantic_scores(masks, logits, padded_size(size), size, video.frame_size(i))
                yield i, scores.argmax(dim=0).to(torch.uint8).cpu().numpy()
