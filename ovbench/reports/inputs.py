"""Result files as ``ovbench compare`` and ``ovbench plot`` read them: paths, groups, labels, ranks."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

from ovbench.errors import OvbenchError
from ovbench.results import Result, read_result, to_dataframe


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given, folders as their ``*.json`` files (sorted); each file once."""
    out: list[Path] = []
    seen: set[Path] = set()
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(p.glob("*.json"))
            if not found:
                raise OvbenchError(f"{p}: folder holds no result files (*.json)")
        else:
            found = [p]
        for f in found:
            try:
                key = f.resolve(strict=f.is_symlink())
            except (RuntimeError, OSError) as exc:  # a symlink loop (RuntimeError up to Python 3.12)
                raise OvbenchError(f"{f}: cannot follow the link ({exc}); pass the result file itself") from None
            if key not in seen:
                seen.add(key)
                out.append(f)
    return out


def load_results(paths: Iterable[str | Path]) -> list[tuple[Path, dict]]:
    """(path, validated result) for every file (or folder of files) given."""
    loaded = [(p, read_result(p)) for p in expand_paths(paths)]
    if not loaded:
        raise OvbenchError("no result files given")
    return loaded


def group_key(result: dict) -> tuple[str, str, str, str]:
    """(dataset, subset, split, protocol) of a result: the results one leaderboard compares."""
    return (result if isinstance(result, Result) else Result(result)).group


def results_table(paths: Iterable[str | Path]):
    """Every result file (or folder of them) as one pandas table, one row per result (for notebooks)."""
    loaded = load_results(paths)
    return to_dataframe([r for _, r in loaded], [p for p, _ in loaded])


def grouped(files: Iterable[str | Path]) -> dict[tuple, list[dict]]:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for _, r in load_results(files):
        groups[group_key(r)].append(r)
    return dict(sorted(groups.items()))


def group_title(key: tuple[str, str, str, str]) -> str:
    dataset, subset, split, protocol = key
    return f"{dataset} {subset} · {split} · {protocol}"


def option_text(key: str, value, limit: int = 24) -> str:
    """``key=value`` for a label; long values (prompt lists) are cut with an ellipsis."""
    text = str(value)
    return f"{key}={text if len(text) <= limit else text[: limit - 1] + '…'}"


def differing_options(results: Sequence[dict], skip: Iterable[str] = ()) -> list[list[str]]:
    """Per result, the option keys whose values differ among results of the same model name."""
    by_name = defaultdict(list)
    for r in results:
        by_name[r["model"]["name"]].append(r["model"]["options"])
    skip = set(skip)
    return [
        sorted(k for k in r["model"]["options"] if k not in skip
               and any(o.get(k) != r["model"]["options"][k] for o in by_name[r["model"]["name"]]))
        for r in results
    ]  # fmt: skip


def model_labels(results: Sequence[dict]) -> list[str]:
    """Model names, plus the options that tell apart rows sharing a name."""
    labels = []
    for r, keys in zip(results, differing_options(results)):
        options = r["model"]["options"]
        shown = f" ({', '.join(option_text(k, options[k]) for k in keys)})" if keys else ""
        labels.append(r["model"]["name"] + shown)
    return labels


def ranked(results: Sequence[dict]) -> list[int]:
    """Indices of ``results`` by main score, best first; missing scores last; ties keep input order."""
    scores = [r["main_score"] for r in results]
    return sorted(range(len(results)), key=lambda i: (scores[i] is None, -(scores[i] or 0)))


def hardware(result: dict) -> str:
    """The GPU's name, or the device plus the machine architecture from the platform string."""
    env = result["environment"]
    if env.get("gpu"):
        return str(env["gpu"])
    arch = re.search(r"(x86_64|amd64|aarch64|arm64|ppc64le|s390x)", str(env.get("platform", "")), re.I)
    device = str(env.get("device") or "not recorded")
    return f"{device} ({arch.group(1)})" if arch else device


def weights(result: dict) -> str:
    return result["model"]["weights"] or "not recorded"
