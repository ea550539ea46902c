"""Spatial-Temporal Fusion as released (``hypercorre_topk2``): a raw-affinity chain over pooled tokens.

For each of the four backbone levels, the far frame's pooled tokens seed a chain: frame t−9 reads
them, its result is pooled and read by t−6, whose result is pooled and read by the target t. There
is no softmax and no 1/√d: raw dot products propagate. Frame t−3 is handed in and never read (as in
the release). The affinity maps of levels 4, 3 and 2 are refined by a small conv net (``hpn*``) and
multiply the value tokens of all four levels, concatenated and projected to 256 channels.

Naming follows the checkpoint: per-pixel keys/queries ``k{ℓ}``/``q{ℓ}`` by level ℓ = 1…4, while the
pooled-path modules (``pooling_mhsa_fk``, ``pk``, ``f·p``, ``sk``, ``i``, ``iv``, ``f``, ``v``) carry
the index m = 5 − ℓ, so level 4 uses ``pk1`` and level 1 uses ``pk4``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

POOL_RATIOS = (2, 4, 6, 8)  # the ratios the release uses whatever the caller passes


class PyramidPool(nn.Module):
    """C×h×w -> T×C tokens: average pools to round(h/r)×round(w/r) (Python's half-to-even round) for
    r = 2, 4, 6, 8, each plus a depthwise 3×3 conv of itself, concatenated, then LayerNorm."""

    def __init__(self, dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.d_convs = nn.ModuleList(nn.Conv2d(dim, dim, 3, padding=1, groups=dim) for _ in POOL_RATIOS)

    @staticmethod
    def grid_sizes(h: int, w: int) -> list[tuple[int, int]]:
        return [(round(h / r), round(w / r)) for r in POOL_RATIOS]

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # B×C×h×w -> B×T×C
        pools = []
        for conv, size in zip(self.d_convs, self.grid_sizes(*x.shape[-2:])):
            pool = F.adaptive_avg_pool2d(x, size)
            pools.append((pool + conv(pool)).flatten(2))
        return self.norm(torch.cat(pools, dim=2).transpose(1, 2))


class _Conv(nn.Module):
    """The release's ``CenterPivotConv4d_half``: of its 4-D machinery only ``conv2`` ever runs."""

    def __init__(self, kernel: int):
        super().__init__()
        self.conv2 = nn.Conv2d(1, 1, kernel, padding=kernel // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(x)


def conv_gn_relu(kernel: int) -> nn.Sequential:
    """One building block of the refinement: k×k conv 1→1, GroupNorm(1, 1), ReLU."""
    return nn.Sequential(_Conv(kernel), nn.GroupNorm(1, 1), nn.ReLU())


class AffinityRefiner(nn.Module):
    """``HPNLearner_topk2`` ('b2' branch): each pooled token's affinity map is a 1-channel image; the maps
    of levels 4, 3, 2 are squeezed (kernels 3, 5, 5) and mixed coarse to fine (3×3 blocks)."""

    def __init__(self):
        super().__init__()
        self.encoder_layer4 = conv_gn_relu(3)
        self.encoder_layer3 = conv_gn_relu(5)
        self.encoder_layer2 = conv_gn_relu(5)
        self.encoder_layer4to3 = conv_gn_relu(3)
        self.encoder_layer3to2 = conv_gn_relu(3)

    def forward(self, maps: list[torch.Tensor]) -> torch.Tensor:  # [level 4, 3, 2, 1] each T×1×h×w
        s4, s3, s2 = self.encoder_layer4(maps[0]), self.encoder_layer3(maps[1]), self.encoder_layer2(maps[2])
        s4 = F.interpolate(s4, s3.shape[-2:], mode="bilinear", align_corners=True)
        mixed = self.encoder_layer4to3(s4 + s3)
        mixed = F.interpolate(mixed, s2.shape[-2:], mode="bilinear", align_corners=True)
        return self.encoder_layer3to2(mixed + s2)


def _linears(names: str, dim: int) -> dict[str, nn.Linear]:
    return {name: nn.Linear(dim, dim) for name in names.split()}


class SpatialTemporalFusion(nn.Module):
    """[far, t−9, t−6, t−3] and t, per level -> the fused features of t−9, t−6 and t (each hw×256)."""

    def __init__(self, dim: int = 256):
        super().__init__()
        for name, layer in _linears(
            "q1 q2 q3 q4 k1 k2 k3 k4 i1 i2 i3 i4 iv1 iv2 iv3 iv4 f1 f2 f3 f4 v1 v2 v3 v4 "
            "pk1 pk2 pk3 pk4 f1p f2p f3p f4p", dim
        ).items():  # fmt: skip
            self.add_module(name, layer)
        for kind in ("fk", "sk", "f"):
            for m in range(1, 5):
                self.add_module(f"pooling_mhsa_{kind}{m}", PyramidPool(dim))
        self.pooling_proj_linear = nn.Linear(4 * dim, dim)  # target
        self.pooling_proj_linear_1 = nn.Linear(4 * dim, dim)  # t−9
        self.pooling_proj_linear_2 = nn.Linear(4 * dim, dim)  # t−6
        self.hpn = AffinityRefiner()
        self.hpn1 = AffinityRefiner()
        self.hpn2 = AffinityRefiner()

    def forward(self, frames: list[torch.Tensor], boundaries: dict | None = None) -> list[torch.Tensor]:
        """``frames[ℓ−1]``: level ℓ's 4×C×h×w maps of [far, t−9, t−6, t] (the release also hands in t−3
        and never reads it); returns the fused features of [t−9, t−6, t], each hw×C."""
        raw = {"t_minus_9": [], "t_minus_6": [], "target": []}
        values = {"far": [], "t_minus_9": [], "t_minus_6": []}
        for level in (4, 3, 2, 1):  # the release's order: coarse names first
            m = 5 - level
            x = frames[level - 1]
            h, w = x.shape[-2:]
            pixels = x.flatten(2).transpose(1, 2)  # 5×hw×C
            module = self.get_submodule

            seed = module(f"pooling_mhsa_fk{m}")(x[0:1])[0]  # far frame, T×C
            keys, vals = module(f"pk{m}")(seed), module(f"f{m}p")(seed)
            values["far"].append(vals)
            affinity = module(f"k{level}")(pixels[1]) @ keys.T  # t−9 reads the far frame: hw×T
            raw["t_minus_9"].append(affinity)
            out = affinity @ vals  # hw×C

            pooled = module(f"pooling_mhsa_sk{m}")(out.T.reshape(1, -1, h, w))[0]
            keys, vals = module(f"i{m}")(pooled), module(f"iv{m}")(pooled)
            values["t_minus_9"].append(vals)
            affinity = module(f"k{level}")(pixels[2]) @ keys.T  # t−6 reads t−9 (the same k as above)
            raw["t_minus_6"].append(affinity)
            out = affinity @ vals

            pooled = module(f"pooling_mhsa_f{m}")(out.T.reshape(1, -1, h, w))[0]
            keys, vals = module(f"f{m}")(pooled), module(f"v{m}")(pooled)
            values["t_minus_6"].append(vals)
            raw["target"].append(module(f"q{level}")(pixels[3]) @ keys.T)  # t reads t−6

        h, w = frames[1].shape[-2:]  # the refined maps live at level 2's size
        fused = []
        for name, refiner, seen, project in (
            ("t_minus_9", self.hpn1, "far", self.pooling_proj_linear_1),
            ("t_minus_6", self.hpn2, "t_minus_9", self.pooling_proj_linear_2),
            ("target", self.hpn, "t_minus_6", self.pooling_proj_linear),
        ):
            maps = [a.T.reshape(a.shape[1], 1, *frames[4 - i - 1].shape[-2:]) for i, a in enumerate(raw[name])]
            refined = refiner(maps)  # T×1×h×w
            fused.append(refined.reshape(refined.shape[0], h * w).T @ project(torch.cat(values[seen], dim=1)))
            if boundaries is not None:
                for i, m in enumerate(maps):
                    boundaries[f"stf.affinity_raw.{name}.{i}"] = m
                boundaries[f"stf.affinity_refined.{name}"] = refined
        return fused
