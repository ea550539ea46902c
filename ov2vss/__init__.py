"""The released OV2VSS (AVC2-UESTC/OV2VSS @ 25fca42, config ``local_configs/vit/vitb/vitb.py``), ported.

Li et al., "Towards Open-Vocabulary Video Semantic Segmentation", IEEE TMM 2025. This package computes
what the authors' released code computes at test time, from their published checkpoint file, with
plain PyTorch modules whose parameter names follow the checkpoint's (``ov2vss.checkpoint`` maps the
keys). Every quirk of the release is kept; ``../shared/notes/official-ov2vss.md`` lists them. The
re-interpretation of the paper's figure that ovbench shipped first lives in ``ov2vss_lite``.
"""
