"""What the speed scripts share: the best of repeated timed calls, and the official time that a
fixture's ``case.json`` records (the issue's quoted figure where ``../shared`` is absent)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"


def best_of(fn: Callable[[], object], repeats: int) -> float:
    """Seconds of the fastest of ``repeats`` calls (the least disturbed by other load)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def recorded_time(model: str, case: str, quoted: float) -> tuple[float, str]:
    """(seconds, where from): ``forward_s`` of ``case`` in ``../shared/fixtures/<model>/case.json``."""
    path = FIXTURES / model / "case.json"
    if not path.is_file():
        return quoted, "the issue"
    return json.loads(path.read_text())["cases"][case]["forward_s"], str(path)
