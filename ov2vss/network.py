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

    def load_checkpoint(self, state, source) -> None:
        load_state(self, state, source, KEY_PREFIXES, UNUSED_KEYS)

    def text_embeddings(self, names: list[str]) -> torch.Tensor:
        """C×80×512 class embeddings (``text_features_test``) of the class names, synonyms split at ", "."""
        return class_embeddings(self.clip, [name.split(", ") for name in names])

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
        return self.decode(clip_frames, text, appearance, decoder_guidance, original_size, boundaries)

    def decode(self, clip_frames: torch.Tensor, text: torch.Tensor, appearance: torch.Tensor,
               decoder_guidance: torch.Tensor, original_size: tuple[int, int],
               boundaries: dict | None = None) -> torch.Tensor:  # fmt: skip
        """CLIP, VTE, cost volume and decoder of F CLIP frames (F×3×H×W) -> the last one's C×H₀×W₀ scores.

        Post-processing as released: sigmoid, resized to 480×480, to the network input, to the
        original frame, then a softmax over the classes.
        """
        tokens = dense_tokens(self.clip, clip_frames)
        patches = tokens[:, 1:].transpose(1, 2).reshape(tokens.shape[0], -1, *COST_SIZE)
        offset = self.vte(text, tokens[:, 1:])
        adapted = text[None] + offset
        logits = self.corr(patches, adapted, appearance, decoder_guidance, boundaries)
        height, width = clip_frames.shape[-2:]
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

    def frame_features(self, images: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """(backbone maps, ``linear_down`` maps), each [c1..c4] of n×256×h×w: all a frame contributes."""
        levels = self.backbone(images)
        return levels, self.levels.down(levels)

    def video_guidance(self, chain: list[torch.Tensor], far: list[torch.Tensor],
                       boundaries: dict | None = None) -> tuple[torch.Tensor, torch.Tensor, list]:  # fmt: skip
        """The target's (decoder guidance, appearance guidance, STF outputs) on the video path.

        ``chain[ℓ−1]``: level ℓ's 4×256×h×w ``linear_down`` maps of the STF chain, seed first and the
        target last (released: [far, t−9, t−6, t]); ``far[ℓ−1]``: the far frame's 1×256×h×w maps (RFE).
        """
        h, w = chain[1].shape[-2:]
        fused = self.stf(chain, boundaries)  # the chain's frames 2..4 fused, each hw×C
        enhanced = self.rfe(far, fused[2], (h, w), boundaries)
        if boundaries is not None:
            for i, f in enumerate(fused):
                boundaries[f"stf.out.{i}"] = f[None, None]
        return enhanced[None], chain[3][-1:], fused

    def frame_guidance(self, levels: list[torch.Tensor], down: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """(decoder, appearance) guidance of frames on the frame-level fallback: own halved fuse, own c4."""
        return halved(self.levels.fuse(levels)), down[3]

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
        levels, down = self.frame_features(images)
        if boundaries is not None:
            for i, x in enumerate(levels):
                boundaries[f"backbone.out.{i}"] = x
            for i, x in enumerate(down):
                boundaries[f"head.linear_down_c{i + 1}"] = x.flatten(2).transpose(1, 2)
        if not video:
            return self.frame_guidance(levels, down)
        chain = [x if target_only else x[[0, 1, 2, 4]] for x in down]  # [far, t−9, t−6, t]
        enhanced, appearance, fused = self.video_guidance(chain, [x[0:1] for x in chain], boundaries)
        if target_only:
            return enhanced, appearance
        fuse = self.levels.fuse(levels)
        h, w = down[1].shape[-2:]
        first = F.interpolate(halved(fuse[0:1]), size=(h, w), mode="bilinear", align_corners=False)[0]
        as_maps = [f.T.reshape(-1, h, w) for f in fused[:2]]
        decoder_guidance = torch.cat([first[None], torch.stack(as_maps), enhanced])
        if boundaries is not None:
            boundaries["head.linear_fuse"] = fuse
            boundaries["predictor.in.feature"] = decoder_guidance
        return decoder_guidance, down[3][1:]
