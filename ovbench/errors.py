"""User-facing errors.

Anything a user can cause (a missing file, a bad option, a broken plugin) is raised as
:class:`OvbenchError` with one line that names the culprit and the fix; the CLI prints it
without a traceback. Anything else is a bug and keeps its traceback.
"""


class OvbenchError(Exception):
    """An error caused by input, configuration or a plugin, explained in one message."""


class DataError(OvbenchError):
    """A dataset file is missing, unreadable or inconsistent."""


class PredictionError(OvbenchError):
    """Saved predictions are missing or unreadable."""


class WriteError(OvbenchError, OSError):
    """A file could not be written (a folder in the way, a read-only or full disk). Also an OSError, so the
    best-effort writers (caches) that catch OSError keep going without it."""
