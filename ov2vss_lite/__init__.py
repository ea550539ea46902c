"""OV2VSS (Li et al., "Towards Open-Vocabulary Video Semantic Segmentation", IEEE TMM 2025) for ovbench.

A CAT-Seg-style cost-volume segmenter on a frozen open_clip ViT with three video modules:
Spatial-Temporal Fusion, Random Frame Enhancement and Video Text Encoding. With all three off it is
the frame-level baseline registered as ``catseg-frame``. Builds on the CLIP utilities of ``baselines``.
"""
