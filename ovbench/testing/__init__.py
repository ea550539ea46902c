"""Aids for tests and benchmarks, never used by a run: the literal restatement of the official VSPW
evaluation scripts (``reference``, slow on purpose) and synthetic VSPW-layout data (``synthetic``)."""
