"""SAN (Xu et al., CVPR 2023), the side adapter network, as released (MendelXu/SAN @ e19262d,
configs/san_clip_vit_res4_coco.yaml and san_clip_vit_large_res4_coco.yaml), ported from the authors'
code; loads their checkpoint files (``san_vit_b_16.pth``, ``san_vit_large_14.pth``).

Named ``sanseg`` because ``san`` is another project's import name on PyPI.
"""
