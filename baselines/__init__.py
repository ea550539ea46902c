"""Training-free open-vocabulary segmentation baselines on a frozen open_clip ViT.

CLIP, MaskCLIP, SCLIP, ClearCLIP and NACLIP differ only in the last vision block
(:mod:`baselines.last_block`); text embedding, sliding-window inference and PAMR are shared.
Registered as ovbench models through the ``ovbench.models`` entry-point group.
"""
