"""CLIP pieces shared by model packages: open_clip loading, prompt templates and text embedding,
dense tokens, positional-embedding interpolation, CLIP's pixel statistics.

A neutral package: model packages (``baselines``, ``catseg``, ``ov2vss``, ``ov2vss_lite``) import it,
never one another, and it imports nothing of theirs.
"""

# OpenAI CLIP pixel statistics (open_clip.OPENAI_DATASET_MEAN / _STD).
MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)
