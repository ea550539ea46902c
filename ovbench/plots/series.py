"""How one model's results are told apart and styled alike across panels: labels, switches, style indices."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from ovbench.plots.style import MARKERS, SERIES_COLORS
from ovbench.reports import differing_options, option_text, ranked


def switches(results: Sequence[dict]) -> tuple[str, ...]:
    """The boolean options whose value differs among ``results`` (one model's), in the order declared."""
    names: list[str] = []
    for r in results:
        names += [k for k, v in r["model"]["options"].items() if isinstance(v, bool) and k not in names]
    return tuple(k for k in names if len({bool(r["model"]["options"].get(k)) for r in results}) > 1)


def switched_on(options: dict, names: Sequence[str]) -> tuple[str, ...]:
    return tuple(k for k in names if options.get(k))


def switch_label(on: tuple[str, ...]) -> str:
    """(), ("a",), ("a", "b") -> "none", "+A", "+A+B"."""
    return "+" + "+".join(k.upper() for k in on) if on else "none"


def series_style(i: int) -> dict:
    n = len(SERIES_COLORS)
    return {"color": SERIES_COLORS[i % n], "marker": MARKERS[(i // n + i) % len(MARKERS)]}


def series_index(groups: dict[tuple, list[tuple[Path, dict]]]) -> dict[str, int]:
    """One style index per model (name and options), so a model looks the same in every panel."""
    index: dict[str, int] = {}
    for members in groups.values():
        results = [r for _, r in members]
        for i in ranked(results):
            index.setdefault(model_key(results[i]), len(index))
    return index


def series_labels(results: Sequence[dict]) -> list[str]:
    """Like :func:`ovbench.reports.model_labels`, but boolean switches read "name +STF+RFE"."""
    by_name: dict[str, list[dict]] = defaultdict(list)
    for r in results:
        by_name[r["model"]["name"]].append(r)
    names = {name: switches(runs) for name, runs in by_name.items()}
    labels = []
    for r, keys in zip(results, differing_options(results)):
        name, options = r["model"]["name"], r["model"]["options"]
        keys = [k for k in keys if k not in names[name]]
        label = name + (f" {switch_label(switched_on(options, names[name]))}" if names[name] else "")
        labels.append(label + (f" ({', '.join(option_text(k, options[k]) for k in keys)})" if keys else ""))
    return labels


def model_key(result: dict) -> str:
    """Model name and scalar options (vocabulary-dependent lists such as prompts differ across protocols)."""
    options = {k: v for k, v in result["model"]["options"].items() if not isinstance(v, (list, dict))}
    return json.dumps([result["model"]["name"], options], sort_keys=True, default=str)
