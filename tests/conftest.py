"""Shared test setup. The helper modules beside the tests (``fixtures``, ``toy_models``, ``tiny_*``, ...)
are imported by name; no test module imports another."""

from __future__ import annotations

import pytest

from ovbench import registry


@pytest.fixture(autouse=True)
def _registrations_do_not_leak():
    """What a test registers (models, datasets, protocols, ...) is gone before the next test."""
    with registry.isolated():
        yield
