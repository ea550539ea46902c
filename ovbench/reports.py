"""Leaderboards from result files: one table per (dataset, subset, split, protocol), best first."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from ovbench.atomic import write_text
from ovbench.errors import OvbenchError
from ovbench.results import read_result

COLUMNS = {
    "gzsl": [("hiou", "hIoU"), ("miou", "mIoU"), ("miou_seen", "mIoU seen"), ("miou_unseen", "mIoU unseen"),
             ("mvc8", "mVC8"), ("mvc16", "mVC16")],
    "zsl": [("miou", "mIoU"), ("fwiou", "FWIoU"), ("mvc8", "mVC8"), ("mvc16", "mVC16")],
}  # fmt: skip


def group_key(result: dict) -> tuple[str, str, str, str]:
    d = result["dataset"]
    return d["name"], d["subset"], result["split"]["name"], result["protocol"]


def _labels(results: Sequence[dict]) -> list[str]:
    """Model names, plus the options that tell apart rows sharing a name."""
    by_name = defaultdict(list)
    for r in results:
        by_name[r["model"]["name"]].append(r["model"]["options"])
    labels = []
    for r in results:
        name, options = r["model"]["name"], r["model"]["options"]
        siblings = by_name[name]
        differing = sorted(k for k in options if any(o.get(k) != options[k] for o in siblings))
        labels.append(name + (f" ({', '.join(f'{k}={options[k]}' for k in differing)})" if differing else ""))
    return labels


def _notes(results: Sequence[dict]) -> list[str]:
    notes = []
    for what, get in (
        ("ovbench version", lambda r: r["ovbench_version"]),
        ("split hash", lambda r: r["split"]["hash"]),
        ("scored frames (dataset fingerprint)", lambda r: r["dataset"]["fingerprint"]),
    ):
        values = sorted({get(r) for r in results})
        if len(values) > 1:
            notes.append(f"inputs differ in {what}: {', '.join(values)}")
    return notes


def leaderboard(results: Sequence[dict]) -> pd.DataFrame:
    """One group's table, sorted by main score (missing scores last)."""
    protocol = results[0]["protocol"]
    rows = []
    for label, r in zip(_labels(results), results):
        row = {"Model": label}
        row.update({title: r["metrics"][key] for key, title in COLUMNS[protocol]})
        row["Frames"] = r["dataset"]["num_frames"]
        row["_main"] = r["main_score"]
        rows.append(row)
    table = pd.DataFrame(rows).sort_values("_main", ascending=False, na_position="last", kind="stable")
    return table.drop(columns="_main").reset_index(drop=True)


def grouped(files: Iterable[str | Path]) -> dict[tuple, list[dict]]:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for f in files:
        r = read_result(f)
        groups[group_key(r)].append(r)
    if not groups:
        raise OvbenchError("no result files given")
    return dict(sorted(groups.items()))


def _fmt(value, missing: str = "–") -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return missing
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def leaderboards(files: Iterable[str | Path], fmt: str = "markdown") -> str:
    groups = grouped(files)
    if fmt == "csv":
        frames = []
        for (dataset, subset, split, protocol), results in groups.items():
            table = leaderboard(results)
            table.insert(0, "Protocol", protocol)
            table.insert(0, "Split", split)
            table.insert(0, "Subset", subset)
            table.insert(0, "Dataset", dataset)
            frames.append(table)
        return pd.concat(frames, ignore_index=True).to_csv(index=False, float_format="%.4f", lineterminator="\n")
    parts = []
    for (dataset, subset, split, protocol), results in groups.items():
        missing = "--" if fmt == "latex" else "–"
        table = leaderboard(results).map(lambda v: _fmt(v, missing))
        title = f"{dataset} {subset} · {split} · {protocol}"
        notes = _notes(results)
        if fmt == "latex":
            body = table.to_latex(index=False, caption=title.replace("·", "/"), escape=True,
                                  column_format="l" + "r" * (table.shape[1] - 1))
            parts.append(body + "".join(f"% note: {n}\n" for n in notes))
        else:
            align = ("left",) + ("right",) * (table.shape[1] - 1)
            body = table.to_markdown(index=False, disable_numparse=True, colalign=align)
            parts.append(f"### {title}\n\n{body}\n" + "".join(f"\n> note: {n}\n" for n in notes))
    return "\n".join(parts)


__all__ = ["leaderboard", "leaderboards", "grouped", "write_text"]
