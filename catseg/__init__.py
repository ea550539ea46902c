"""CAT-Seg (Cho et al., CVPR 2024), ViT-B/16, as released (KU-CVLAB/CAT-Seg @ 6d3a188, configs/vitb_384.yaml
with eval.sh's sliding-window protocol), ported from the authors' code; loads their checkpoint file.

The sliding-window protocol is complete and equals the official code (``tests/test_catseg_released.py``);
the whole-image path and ViT-L/14 are not ported yet. Quirks of the release are kept and documented
where they are computed.
"""
