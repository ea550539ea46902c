"""SAN's side adapter network at test time: a small ViT on the full-resolution image, with 100 learned
query tokens, CLIP features added in at four depths, and an MLP decoder that turns its last block
into mask predictions and the attention biases of the recognition head.

Names as the release's ``side_adapter_network`` (timm blocks: ``blocks.N.{norm1,attn.qkv,...}``).
"""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F
from timm.models.vision_transformer import Block
from torch import nn


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channels of an N×C×H×W map (the release's ``layers.LayerNorm``, eps 1e−6)."""

    def __init__(self, channels: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        return self.weight[:, None, None] * ((x - mean) / torch.sqrt(var + self.eps)) + self.bias[:, None, None]


class AddFusion(nn.Module):
    """CLIP features (N×C×h×w) normed, projected to the side width by a 1×1 conv, resized bilinearly to
    the side grid and added to the side ViT's patch tokens."""

    def __init__(self, clip_width: int, width: int):
        super().__init__()
        self.input_proj = nn.Sequential(ChannelLayerNorm(clip_width), nn.Conv2d(clip_width, width, 1))

    def forward(self, tokens: torch.Tensor, clip: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        y = F.interpolate(self.input_proj(clip), size=grid, mode="bilinear", align_corners=False)
        return tokens + y.permute(0, 2, 3, 1).reshape(tokens.shape)


class MLP(nn.Module):
    """``layers`` affine maps with ReLU between them (``nn.Linear`` on tokens, 1×1 convs on maps)."""

    def __init__(self, dim_in: int, hidden: int, dim_out: int, layers: int, conv: bool = False):
        super().__init__()
        affine = partial(nn.Conv2d, kernel_size=1) if conv else nn.Linear
        dims = [dim_in] + [hidden] * (layers - 1)
        self.layers = nn.ModuleList(affine(a, b) for a, b in zip(dims, dims[1:] + [dim_out]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x) if i == len(self.layers) - 1 else F.relu(layer(x))
        return x


class MaskDecoder(nn.Module):
    """Queries and pixels through their MLPs; masks = q·p; attention biases = q·(per-head pixel maps),
    rescaled by a learned a·x + b (``RESCALE_ATTN_BIAS``)."""

    def __init__(self, width: int, heads: int, embed: int = 256, hidden: int = 256, layers: int = 3):
        super().__init__()
        self.heads = heads
        self.query_mlp = MLP(width, hidden, embed, layers)
        self.pix_mlp = MLP(width, hidden, embed, layers, conv=True)
        self.attn_mlp = MLP(width, hidden, embed * heads, layers, conv=True)
        self.bias_scaling = nn.Linear(1, 1)

    def forward(self, query: torch.Tensor, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """query B×Q×C, pixels B×C×H×W -> masks B×Q×H×W, attention bias B×heads×Q×H×W."""
        query = self.query_mlp(query)
        pix = self.pix_mlp(pixels)
        b, c, h, w = pix.shape
        masks = torch.einsum("bqc,bchw->bqhw", query, pix)
        attn = self.attn_mlp(pixels).reshape(b, self.heads, c, h, w)
        bias = torch.einsum("bqc,bnchw->bnqhw", query, attn)
        return masks, self.bias_scaling(bias[..., None]).squeeze(-1)


class SideViT(nn.Module):
    """The side ViT's parameters (timm ``VisionTransformer`` without class token and final norm)."""

    def __init__(self, width: int, heads: int, depth: int, image_size: int, patch: int = 16):
        super().__init__()
        self.patch_embed = nn.ModuleDict({"proj": nn.Conv2d(3, width, patch, stride=patch)})
        self.grid = image_size // patch
        self.pos_embed = nn.Parameter(torch.zeros(1, self.grid**2, width))
        norm = partial(nn.LayerNorm, eps=1e-6)  # timm's ViT norm
        self.blocks = nn.ModuleList(Block(width, heads, qkv_bias=True, norm_layer=norm) for _ in range(depth))


class SideAdapter(nn.Module):
    def __init__(self, clip_width: int, fusion: dict[int, int], heads: int, width: int = 240, vit_heads: int = 6,
                 depth: int = 8, image_size: int = 640, queries: int = 100):  # fmt: skip
        super().__init__()
        self.fusion = dict(fusion)  # side block index (0 = before block 1) -> CLIP feature index
        self.vit_model = SideViT(width, vit_heads, depth, image_size)
        self.query_embed = nn.Parameter(torch.zeros(1, queries, width))
        self.query_pos_embed = nn.Parameter(torch.zeros(1, queries, width))
        self.fusion_layers = nn.ModuleDict({f"layer_{i}": AddFusion(clip_width, width) for i in self.fusion})
        self.mask_decoder = MaskDecoder(width, heads)

    def forward(self, image: torch.Tensor, clip_features: dict[int, torch.Tensor],
                boundaries: dict | None = None) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        """The normalised padded image B×3×H×W and CLIP's feature maps -> masks B×Q×H/16×W/16 and
        attention biases B×heads×Q×H/16×W/16, from the last block (the release decodes only that one
        at test time)."""
        vit = self.vit_model
        x = vit.patch_embed["proj"](image)
        h, w = x.shape[-2:]
        x = x.flatten(2).transpose(1, 2)
        n = h * w
        pos = vit.pos_embed
        if pos.shape[1] != n:
            grid = pos.reshape(1, vit.grid, vit.grid, -1).permute(0, 3, 1, 2)
            pos = F.interpolate(grid, size=(h, w), mode="bicubic", align_corners=False).flatten(2).transpose(1, 2)
        pos = torch.cat([self.query_pos_embed.expand(pos.shape[0], -1, -1), pos], dim=1)
        x = torch.cat([self.query_embed.expand(x.shape[0], -1, -1), x], dim=1) + pos
        x = self._fused(0, x, clip_features, (h, w), boundaries)
        for i, block in enumerate(vit.blocks, start=1):
            x = self._fused(i, block(x), clip_features, (h, w), boundaries)
            if i < len(vit.blocks):
                x = x + pos  # the positions are added again after every block but the last
        query, pixels = x[:, :-n], x[:, -n:].transpose(1, 2).reshape(x.shape[0], -1, h, w)
        masks, bias = self.mask_decoder(query, pixels)
        if boundaries is not None:
            boundaries.update({"san.side.query_tokens": query, "san.side.pixel_tokens": pixels,
                               "san.side.mask_preds": masks, "san.side.attn_bias.0": bias})  # fmt: skip
        return masks, bias

    def _fused(self, index, x, clip_features, grid, boundaries):
        if index not in self.fusion:
            return x
        n = grid[0] * grid[1]
        fused = self.fusion_layers[f"layer_{index}"](x[:, -n:], clip_features[self.fusion[index]], grid)
        if boundaries is not None:
            boundaries[f"san.side.fused_tokens.layer_{index}"] = fused
        return torch.cat([x[:, :-n], fused], dim=1)
