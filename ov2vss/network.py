"""The released OV2VSS network at test time, one clip at a time, composed from the ported parts.

Clip order is the release's: [far, t−9, t−6, t−3, t] (five frames: the video path) or any other
length (the frame-level fallback, which the release takes for t ≤ 2). ``boundaries``, when given,
collects every intermediate tensor under the names the official references use.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ov2vss.checkpoint import load_state
from ov2vss.clip_branch import build_clip, class_embeddings, dense_tokens
from ov2vss.corr import COST_SIZE, CostVolumeHead
from ov2vss.levels import LevelProjections, halved
from ov2vss.rfe import RandomFrameEnhancement
from ov2vss.sam import SAMImageEncoder
from ov2vss.stf import SpatialTemporalFusion
from ov2vss.vte import VideoTextEncoding

VIDEO_CLIP = 5  # the release's num_clips
HEAD_OUTPUT = (480, 480)  # sem_seg_postprocess's fixed size, whatever the frame

# (port prefix, checkpoint prefix), first match wins.
KEY_PREFIXES = (
    ("backbone.", "backbone."),
    ("levels.", "decode_head."),
    ("stf.", "decode_head.hypercorre_module."),
    ("rfe.", "decode_head."),
    ("clip.", "decode_head.predictor.clip_model."),
    ("vte.", "decode_head.predictor.prompts_generator."),
    ("corr.downlinear.", "decode_head.predictor.corr.layers.3.downlinear."),
    ("corr.", "decode_head.predictor.corr."),
)

# Modules the release builds, saves and never runs at test time.
UNUSED_KEYS = tuple(
    f"decode_head.hypercorre_module.{name}." for name in
    ("fs1 fs2 fs3 fs4 vs1 vs2 vs3 vs4 linear1 linear2 pooling_proj_linear_3".split())
) + tuple(
    f"decode_head.{name}." for name in "conv_seg sr2 sr3 sr1_feat linearconv1 linearc2 corrconv1 corrconv2 "
    "linear_ref aux_head corr predictor.transformer predictor.corr.text_linear "
    "predictor.corr.text_guidance_projection predictor.corr.layers".split()
)  # fmt: skip


class ReleasedOV2VSS(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = SAMImageEncoder()
        self.levels = LevelProjections()
        self.stf = SpatialTemporalFusion()
        self.rfe = RandomFrameEnhancement()
        self.clip = build_clip()
        self.vte = VideoTextEncoding()
        self.corr = CostVolumeHead()

    def load_checkpoint(self, state, source, ignored: tuple[str, ...] = ()) -> None:
        load_state(self, state, source, KEY_PREFIXES, UNUSED_KEYS + ignored)

    def text_embeddings(self, names: list[str]) -> torch.Tensor:
        """C×80×512 class embeddings (``text_features_test``) of the class names, synonyms split at ", "."""
        return class_embeddings(self.clip, names)

    def forward(self, images: torch.Tensor, text: torch.Tensor, original_size: tuple[int, int],
                boundaries: dict | None = None, target_only: bool = True) -> torch.Tensor:  # fmt: skip
        """Class probabilities (C×H₀×W₀, softmax) of the clip's last frame, at its original size.

        The CLIP branch, VTE and decoder work on each CLIP frame independently and only the last
        frame is returned, so ``target_only`` runs them on that frame alone (the release runs all
        four and discards three; ``target_only=False`` does the same, for comparing boundaries).
        """
        decoder_guidance, appearance = self.guidance(images, boundaries, target_only)
        clip_frames = images[1:] if images.shape[0] == VIDEO_CLIP else images
        if target_only:
            clip_frames = clip_frames[-1:]
        tokens = dense_tokens(self.clip, clip_frames)
        patches = tokens[:, 1:].transpose(1, 2).reshape(tokens.shape[0], -1, *COST_SIZE)
        offset = self.vte(text, tokens[:, 1:])
        adapted = text[None] + offset
        logits = self.corr(patches, adapted, appearance, decoder_guidance, boundaries)
        height, width = images.shape[-2:]
        probs = torch.sigmoid(logits[-1:])[:, :, :height, :width]
        head = F.interpolate(probs, size=HEAD_OUTPUT, mode="bilinear", align_corners=False)
        at_input = F.interpolate(head, size=(height, width), mode="bilinear", align_corners=False)
        at_frame = F.interpolate(at_input, size=original_size, mode="bilinear", align_corners=False)
        scores = F.softmax(at_frame, dim=1)[0]
        if boundaries is not None:
            boundaries.update({
                "clip.visual_dense": tokens, "vte.out": offset.flatten(0, 1), "corr.in.text": adapted,
                "predictor.logits": logits, "head.out": head, "segmentor.encode_decode": at_input,
                "segmentor.whole_inference": at_frame, "segmentor.softmax": scores[None],
            })  # fmt: skip
        return scores

    def guidance(self, images: torch.Tensor, boundaries: dict | None = None,
                 target_only: bool = False) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        """The SAM side of a clip (n×3×H×W): (decoder guidance, appearance guidance) per CLIP frame.

        Video path (n = 5): CLIP frames are clip frames 1..4; the decoder guidance is [the far frame's
        halved fuse, enlarged back; STF(t−9); STF(t−6); RFE(STF(t))] and the appearance guidance is
        ``linear_down_c4`` of frames 1..4. Fallback (n ≠ 5): every frame is a CLIP frame, guided by its
        own halved fuse and ``linear_down_c4``. With ``target_only``, only what reaches the last CLIP
        frame is computed: no t−3 and no fuse on the video path, the last frame alone on the fallback.
        """
        video = images.shape[0] == VIDEO_CLIP
        if target_only:
            images = images[[0, 1, 2, 4]] if video else images[-1:]
        levels = self.backbone(images)
        down = self.levels.down(levels)
        fuse = None if (video and target_only) else self.levels.fuse(levels)
        if boundaries is not None:
            for i, x in enumerate(levels):
                boundaries[f"backbone.out.{i}"] = x
            for i, x in enumerate(down):
                boundaries[f"head.linear_down_c{i + 1}"] = x.flatten(2).transpose(1, 2)
            if fuse is not None:
                boundaries["head.linear_fuse"] = fuse
        if not video:
            return halved(fuse), down[3]
        used = [x if target_only else x[[0, 1, 2, 4]] for x in down]  # [far, t−9, t−6, t]
        h, w = down[1].shape[-2:]
        fused = self.stf(used, boundaries)  # [t−9, t−6, t], each hw×C
        enhanced = self.rfe([x[0:1] for x in used], fused[2], (h, w), boundaries)
        if boundaries is not None:
            for i, f in enumerate(fused):
                boundaries[f"stf.out.{i}"] = f[None, None]
        if target_only:
            return enhanced[None], used[3][-1:]
        first = F.interpolate(halved(fuse[0:1]), size=(h, w), mode="bilinear", align_corners=False)[0]
        as_maps = [f.T.reshape(-1, h, w) for f in fused[:2]]
        decoder_guidance = torch.stack([first, *as_maps, enhanced])
        if boundaries is not None:
            boundaries["predictor.in.feature"] = decoder_guidance
        return decoder_guidance, down[3][1:]
