"""ov2vss-lite: a research variant, the paper's figure of OV2VSS (Li et al., IEEE TMM 2025) re-interpreted.

Not the released model (that is ``ov2vss``, the port of the authors' code and checkpoint): a small
CAT-Seg-style cost-volume head on a frozen open_clip ViT with the three video modules as the figure
draws them (Spatial-Temporal Fusion over t−9 → t−6 → t−3 → t, Random Frame Enhancement, Video Text
Encoding), trainable here with ``ovbench train``. With all three off it is ``ov2vss-lite-frame``.
"""
