"""CAT-Seg (Cho et al., CVPR 2024), ViT-B/16, as released (KU-CVLAB/CAT-Seg @ 6d3a188, configs/vitb_384.yaml
with eval.sh's sliding-window protocol), ported from the authors' code; loads their checkpoint file.

Work in progress, built in slices: the CLIP side (dense features, guidance, text, cost volume and the
guidance projections) equals the official code; the aggregator, decoder, view merge and the ovbench
model come next. Quirks of the release are kept and documented where they are computed.
"""
