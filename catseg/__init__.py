"""CAT-Seg (Cho et al., CVPR 2024) as released (KU-CVLAB/CAT-Seg @ 6d3a188: configs/vitb_384.yaml and
configs/vitl_336.yaml, with eval.sh's sliding-window protocol or the whole-image path), ported from the
authors' code; loads their checkpoint files (``model_base.pth``, ``model_large.pth``).

Both protocols equal the official code (``tests/test_catseg_released.py`` on the shared fixtures;
ViT-L/14 and other seeds, frames and vocabularies checked against the official code itself). Quirks of
the release are kept and documented where they are computed.
"""
