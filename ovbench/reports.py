"""Leaderboards, per-class tables and published ("reported") numbers, from result files.

One leaderboard per (dataset, subset, split, protocol), best first, with the columns of its protocol,
the weights and hardware of every run, and a "Reported mIoU" column matched from ``results/reported.yaml``.
Every table renders as Markdown, CSV, LaTeX (booktabs) or HTML; the best value of each score column
(of each row for per-class tables) is bold.
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

import ovbench
from ovbench.atomic import write_text
from ovbench.errors import OvbenchError
from ovbench.results import read_result

FORMATS = ("markdown", "csv", "latex", "html")

METRIC_TITLES = {
    "miou": "mIoU", "miou_seen": "mIoU seen", "miou_unseen": "mIoU unseen", "hiou": "hIoU",
    "fwiou": "FWIoU", "pixel_acc": "pAcc", "mvc8": "mVC8", "mvc16": "mVC16",
}  # fmt: skip


def protocol_columns(protocol_name: str) -> list[tuple[str, str]]:
    """(metric key, column title) of a protocol's leaderboard, as the protocol declares them."""
    from ovbench.protocols import get_protocol

    return [(k, METRIC_TITLES.get(k, k)) for k in get_protocol(protocol_name).columns]


# Protocols a published number can carry; "all-classes" = image-level, every class asked for and scored,
# no seen/unseen split (training-free methods); "cross-dataset" = a model trained on one dataset's classes
# (CAT-Seg and SAN on COCO-Stuff) asked for and scored on all classes of another. Both are shown beside
# ovbench's gzsl mIoU column.
REPORTED_PROTOCOLS = {
    "zsl": "ZSL as in the OV2VSS tables: the vocabulary is the unseen names, seen pixels are ignored",
    "gzsl": "GZSL: every class asked for and scored, seen/unseen mIoU and hIoU",
    "all-classes": "image-level mIoU over all classes of a training-free method (no seen/unseen split); "
    "the nearest ovbench number is the gzsl mIoU column, under ovbench's prompts and resizing",
    "cross-dataset": "mIoU over all classes of a dataset the model was not trained on (trained on COCO-Stuff); "
    "the nearest ovbench number is the gzsl mIoU column",
}
_NO_SPLIT = ("all-classes", "cross-dataset")  # published protocols with no seen/unseen split
# Benchmarks of published rows that ovbench cannot load yet: their rows show in ``compare --reported``
# and match no result.
REPORTED_ONLY_DATASETS = ("ade20k-847", "pascal-context-459", "ade20k-150", "pascal-context-59",
                          "pascal-voc-20", "pascal-voc-20b")  # fmt: skip
REPORTED_SCHEMA_ID = "ovbench-reported/1"
DEFAULT_REPORTED = Path(ovbench.__file__).resolve().parent.parent / "results" / "reported.yaml"


# --------------------------------------------------------------------------- inputs


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
            key = f.resolve()
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
    d = result["dataset"]
    return d["name"], d["subset"], result["split"]["name"], result["protocol"]


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


# --------------------------------------------------------------------------- published numbers


@dataclass(frozen=True)
class Reported:
    """One published row: a method's numbers on one dataset under one protocol, with its source."""

    method: str
    backbone: str
    dataset: str
    subset: str | None
    split: str | None
    protocol: str
    metrics: dict
    source: str
    note: str = ""
    match: tuple = ()

    def applies_to(self, result: dict) -> bool:
        """Whether this row is the published counterpart of ``result`` (same data, protocol and model)."""
        d = result["dataset"]
        if self.dataset != d["name"] or self.subset not in (None, d["subset"]):
            return False
        if self.split not in (None, result["split"]["name"]):
            return False
        protocol = result["protocol"]
        if not (self.protocol == protocol or (self.protocol in _NO_SPLIT and protocol == "gzsl")):
            return False
        name, options = result["model"]["name"], result["model"]["options"]
        return any(
            m["model"] == name and all(options.get(k) == v for k, v in m.get("options", {}).items())
            for m in self.match
        )

    def citation(self) -> str:
        """The footnote of a "Reported mIoU" cell."""
        parts = [f"{self.method}, {self.backbone}: {self.source}"]
        if self.split is None and self.protocol not in _NO_SPLIT:
            parts.append("the source's seen/unseen split is not stated and may differ from this table's")
        if self.note:
            parts.append(self.note)
        return "; ".join(parts)


# What a "Reported mIoU" cell means, by the protocol of the published number; printed once per table.
_REPORTED_CAVEATS = {
    "zsl": "Reported mIoU{refs}: published ZSL mIoU over the unseen classes (the OV2VSS tables).",
    "gzsl": "Reported mIoU{refs}: published GZSL mIoU over all classes.",
    "all-classes": "Reported mIoU{refs}: training-free methods, image-level mIoU over all classes (no seen/unseen "
    "split); compare with the mIoU column. The sources' prompts, resizing and crops are their own.",
    "cross-dataset": "Reported mIoU{refs}: models trained on COCO-Stuff, mIoU over all classes of this dataset; "
    "compare with the mIoU column.",
}


def _reported_schema() -> dict:
    from ovbench.registry import DATASETS

    text = {"type": "string", "minLength": 1}
    percent = {"type": "number", "minimum": 0, "maximum": 100}
    entry = {
        "type": "object",
        "additionalProperties": False,
        "required": ["method", "backbone", "dataset", "subset", "split", "protocol", "metrics", "source"],
        "properties": {
            "method": text,
            "backbone": text,
            "dataset": {"enum": DATASETS.names() + list(REPORTED_ONLY_DATASETS)},
            "subset": {"type": ["string", "null"]},
            "split": {"type": ["string", "null"]},
            "protocol": {"enum": list(REPORTED_PROTOCOLS)},
            "metrics": {"type": "object", "minProperties": 1, "additionalProperties": False,
                        "properties": {k: percent for k in METRIC_TITLES}},  # fmt: skip
            "source": text,
            "note": {"type": "string"},
            "match": {"type": "array", "items": {
                "type": "object", "additionalProperties": False, "required": ["model"],
                "properties": {"model": text, "options": {"type": "object"}},
            }},  # fmt: skip
        },
    }
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["schema", "entries"],
        "properties": {"schema": {"const": REPORTED_SCHEMA_ID}, "entries": {"type": "array", "items": entry}},
    }


def load_reported(path: str | Path | None = None, *, required: bool = False) -> list[Reported]:
    """Published numbers from ``path`` (default: ``results/reported.yaml`` of this checkout).

    Without ``path`` a missing default file gives an empty list, unless ``required``.
    """
    import jsonschema

    if path is None:
        path = DEFAULT_REPORTED
        if not path.is_file():
            if required:
                raise OvbenchError(f"no published numbers: {path} not found; pass --reported-file PATH")
            return []
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise OvbenchError(f"{path}: reported-numbers file not found") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise OvbenchError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    try:
        jsonschema.validate(data, _reported_schema())
    except jsonschema.ValidationError as exc:
        where = list(exc.absolute_path)
        what = "top level"
        if len(where) >= 2 and where[0] == "entries":
            entry = data["entries"][where[1]]
            method = entry.get("method") if isinstance(entry, dict) else None
            what = f"entry {where[1] + 1}" + (f" ({method})" if method else "")
            if len(where) > 2:
                what += ", " + "/".join(map(str, where[2:]))
        elif where:
            what = "/".join(map(str, where))
        raise OvbenchError(f"{path}: {what}: {exc.message}") from None
    return [Reported(**{**e, "match": tuple(e.get("match", ()))}) for e in data["entries"]]


# --------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Cited:
    """Published values with the numbers of their footnotes."""

    refs: tuple[tuple[float, int], ...]


@dataclass
class Table:
    """A rendered-format-independent table: raw cell values plus what goes around it."""

    title: str
    columns: list[str]
    rows: list[list]
    key: dict[str, str] = field(default_factory=dict)  # Dataset/Subset/Split/Protocol, for CSV
    score_columns: tuple[int, ...] = ()  # columns whose best value is bold
    best: str = "column"  # compare scores down a "column" or across a "row"
    numeric: frozenset[int] = frozenset()  # right-aligned columns
    footnotes: list[str] = field(default_factory=list)  # "[n] ..." lines, visible in every format
    warnings: list[str] = field(default_factory=list)  # input problems, as notes (comments in LaTeX)


def _number(v) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _best_cells(table: Table) -> set[tuple[int, int]]:
    """Cells holding the best (highest, as printed) value of their score column or row; needs two values."""
    lines: list[list[tuple[int, int]]]
    if table.best == "column":
        lines = [[(r, c) for r in range(len(table.rows))] for c in table.score_columns]
    elif table.best == "row":
        lines = [[(r, c) for c in table.score_columns] for r in range(len(table.rows))]
    else:
        return set()
    bold = set()
    for cells in lines:
        values = {cell: round(v, 2) for cell in cells if (v := _number(table.rows[cell[0]][cell[1]])) is not None}
        if len(values) >= 2:
            top = max(values.values())
            bold.update(cell for cell, v in values.items() if v == top)
    return bold


def leaderboard_table(key: tuple, results: Sequence[dict], reported: Sequence[Reported] = ()) -> Table:
    """One group's leaderboard, best main score first."""
    protocol = key[3]
    metrics = protocol_columns(protocol)
    labels = model_labels(results)
    order = ranked(results)
    citations: list[Reported] = []
    cited_cells = []
    for i in order:
        refs = []
        for entry in reported:
            if entry.applies_to(results[i]) and "miou" in entry.metrics:
                if entry not in citations:
                    citations.append(entry)
                refs.append((float(entry.metrics["miou"]), citations.index(entry) + 1))
        cited_cells.append(Cited(tuple(refs)) if refs else None)
    show_reported = bool(citations)

    columns = ["Model", *(title for _, title in metrics)] + (["Reported mIoU"] if show_reported else [])
    columns += ["Frames", "Weights", "Hardware"]
    rows = []
    for i, cited in zip(order, cited_cells):
        r = results[i]
        row = [labels[i], *(r["metrics"][k] for k, _ in metrics)]
        if show_reported:
            row.append(cited)
        row += [r["dataset"]["num_frames"], weights(r), hardware(r)]
        rows.append(row)
    n_metrics = len(metrics)
    numeric = frozenset(range(1, n_metrics + 2 + show_reported))
    return Table(
        title=group_title(key),
        columns=columns,
        rows=rows,
        key=dict(zip(("Dataset", "Subset", "Split", "Protocol"), key)),
        score_columns=tuple(range(1, n_metrics + 1)),
        numeric=numeric,
        footnotes=_caveats(citations) + [f"[{n}] {e.citation()}" for n, e in enumerate(citations, 1)],
        warnings=_warnings([results[i] for i in order], [labels[i] for i in order]),
    )


def _caveats(citations: Sequence[Reported]) -> list[str]:
    by_protocol: dict[str, list[int]] = defaultdict(list)
    for n, e in enumerate(citations, 1):
        by_protocol[e.protocol].append(n)
    return [
        _REPORTED_CAVEATS[p].format(refs=" " + ", ".join(f"[{n}]" for n in ns) if len(by_protocol) > 1 else "")
        for p, ns in by_protocol.items()
    ]


def _warnings(results: Sequence[dict], labels: Sequence[str]) -> list[str]:
    notes = []
    for what, get in (
        ("ovbench version", lambda r: r["ovbench_version"]),
        ("split hash", lambda r: r["split"]["hash"]),
        ("scored frames (dataset fingerprint)", lambda r: r["dataset"]["fingerprint"]),
    ):
        values = sorted({get(r) for r in results})
        if len(values) > 1:
            notes.append(f"inputs differ in {what}: {', '.join(values)}")
    random = [label for label, r in zip(labels, results) if "random-init" in (r["model"]["weights"] or "")]
    if random:
        notes.append(f"random weights (smoke runs; their numbers are meaningless): {', '.join(random)}")
    partial: dict[str, list[str]] = defaultdict(list)
    for label, r in zip(labels, results):
        d = r["dataset"]
        limits = [f"--{k.replace('_', '-')} {d[k]}" for k in ("max_videos", "max_frames") if d.get(k) is not None]
        if limits:
            partial[f"{d['subset']} ({' '.join(limits)})"].append(label)
    notes += [f"scored only part of {what}: {', '.join(names)}" for what, names in partial.items()]
    return notes


def per_class_table(key: tuple, results: Sequence[dict]) -> Table:
    """IoU of every class (rows) for every model (columns); seen/unseen marked; only the classes the protocol scores."""
    from ovbench.protocols import get_protocol

    protocol = get_protocol(key[3])
    labels = model_labels(results)
    order = ranked(results)
    first = results[order[0]]["split"]
    names, seen = first["classes"], first["seen"]
    warnings = []
    if any(results[i]["split"]["classes"] != names for i in order):
        warnings.append("inputs name the classes differently (edited split files); names are the first result's")
    rows = []
    for c, (name, is_seen) in enumerate(zip(names, seen)):
        if not protocol.scores_class(is_seen):
            continue
        ious = [results[i]["metrics"]["per_class_iou"][c] for i in order]
        rows.append([name, "seen" if is_seen else "unseen", *ious])
    columns = ["Class", "Set", *(labels[i] for i in order)]
    scores = tuple(range(2, len(columns)))
    return Table(
        title=f"{group_title(key)} · per-class IoU",
        columns=columns,
        rows=rows,
        key=dict(zip(("Dataset", "Subset", "Split", "Protocol"), key)),
        score_columns=scores,
        best="row",
        numeric=frozenset(scores),
        warnings=warnings,
    )


def reported_tables(entries: Sequence[Reported], datasets: Iterable[str] | None = None) -> list[Table]:
    """Published numbers, one table per (dataset, protocol); only ``datasets`` if given."""
    wanted = None if datasets is None else set(datasets)
    groups: dict[tuple[str, str], list[Reported]] = defaultdict(list)
    for e in entries:
        if wanted is None or e.dataset in wanted:
            groups[e.dataset, e.protocol].append(e)
    protocol_order = list(REPORTED_PROTOCOLS)
    tables = []
    for (dataset, protocol) in sorted(groups, key=lambda k: (k[0], protocol_order.index(k[1]))):
        group = groups[dataset, protocol]
        metrics = [k for k in METRIC_TITLES if any(k in e.metrics for e in group)]
        columns = ["Method", "Backbone", "Subset", "Split", *(METRIC_TITLES[k] for k in metrics), "Source"]
        rows = [
            [e.method, e.backbone, e.subset or "not stated",
             e.split or ("none (all classes)" if e.protocol in _NO_SPLIT else "not stated"),
             *(e.metrics.get(k) for k in metrics), f"[{n}]"]
            for n, e in enumerate(group, 1)
        ]  # fmt: skip
        scores = tuple(range(4, 4 + len(metrics)))
        footnotes = [f"Protocol: {REPORTED_PROTOCOLS[protocol]}."]
        footnotes += [f"[{n}] {e.source}" + (f"; {e.note}" if e.note else "") for n, e in enumerate(group, 1)]
        tables.append(Table(
            title=f"Reported · {dataset} · {protocol}",
            columns=columns,
            rows=rows,
            key={"Dataset": dataset, "Protocol": protocol},
            score_columns=scores,
            numeric=frozenset(scores),
            footnotes=footnotes,
        ))  # fmt: skip
    return tables


# --------------------------------------------------------------------------- rendering


def _fmt_cell(value, missing: str, cite: str) -> str:
    if value is None:
        return missing
    if isinstance(value, Cited):
        return ", ".join(cite.format(v=f"{v:.2f}", n=n) for v, n in value.refs)
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _markdown(table: Table) -> str:
    from tabulate import tabulate

    bold = _best_cells(table)
    cells = [
        [(f"**{s}**" if (r, c) in bold else s) for c, v in enumerate(row) for s in [_fmt_cell(v, "–", "{v} [{n}]")]]
        for r, row in enumerate(table.rows)
    ]
    align = ["right" if c in table.numeric else "left" for c in range(len(table.columns))]
    body = tabulate(cells, headers=table.columns, tablefmt="pipe", colalign=align, disable_numparse=True)
    out = f"### {table.title}\n\n{body}\n"
    if table.footnotes:
        out += "\n" + "".join(f"- {f}\n" for f in table.footnotes)
    out += "".join(f"\n> note: {n}\n" for n in table.warnings)
    return out


_TEX_SPECIAL = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
                "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}",
                "–": "--", "—": "---", "·": "/", "…": r"\ldots{}", "≥": r"$\geq$",
                "×": r"$\times$"}  # fmt: skip


def tex_escape(text: str) -> str:
    return "".join(_TEX_SPECIAL.get(ch, ch) for ch in text)


def _latex(table: Table) -> str:
    bold = _best_cells(table)
    spec = "".join("r" if c in table.numeric else "l" for c in range(len(table.columns)))
    lines = [r"\begin{table}", r"\centering", rf"\caption{{{tex_escape(table.title)}}}",
             rf"\begin{{tabular}}{{{spec}}}", r"\toprule",
             " & ".join(map(tex_escape, table.columns)) + r" \\", r"\midrule"]  # fmt: skip
    for r, row in enumerate(table.rows):
        cells = []
        for c, v in enumerate(row):
            s = tex_escape(_fmt_cell(v, "–", "{v} [{n}]"))
            cells.append(rf"\textbf{{{s}}}" if (r, c) in bold else s)
        if cells and cells[0].startswith("["):
            cells[0] = "{}" + cells[0]  # a row starting with "[" would be read as the \\[length] of the line before
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    if table.footnotes:
        lines.append(r"\par\smallskip")
        lines.append(r"{\footnotesize " + " \\par\n".join(map(tex_escape, table.footnotes)) + r"\par}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n" + "".join(f"% note: {n}\n" for n in table.warnings)


_HTML_HEAD = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>ovbench leaderboard</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { padding: 0.25em 0.7em; border-bottom: 1px solid #ddd; text-align: left; }
thead th { border-bottom: 2px solid #333; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.foot { font-size: 0.85em; color: #333; margin: 0.2em 0; }
.warn { font-size: 0.85em; color: #a33; margin: 0.2em 0; }
</style>
</head>
<body>
"""


def _html(table: Table) -> str:
    bold = _best_cells(table)
    esc = html.escape

    def cls(c: int) -> str:
        return ' class="num"' if c in table.numeric else ""

    head = "".join(f"<th{cls(c)}>{esc(name)}</th>" for c, name in enumerate(table.columns))
    body = []
    for r, row in enumerate(table.rows):
        cells = []
        for c, v in enumerate(row):
            s = esc(_fmt_cell(v, "–", "{v} [{n}]"))
            cells.append(f"<td{cls(c)}>{f'<b>{s}</b>' if (r, c) in bold else s}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    out = [f"<h3>{esc(table.title)}</h3>", "<table>", f"<thead><tr>{head}</tr></thead>", "<tbody>", *body,
           "</tbody>", "</table>"]  # fmt: skip
    out += [f'<p class="foot">{esc(f)}</p>' for f in table.footnotes]
    out += [f'<p class="warn">note: {esc(n)}</p>' for n in table.warnings]
    return "\n".join(out) + "\n"


def _csv(tables: Sequence[Table]) -> str:
    """One CSV: the tables' rows under the union of their columns, with Dataset/Subset/Split/Protocol first.

    A cited cell becomes two fields: the values, and the sources they come from.
    """
    fieldnames: list[str] = []
    records = []
    for table in tables:
        sources = {int(f[1 : f.index("]")]): f[f.index("]") + 2 :] for f in table.footnotes if f.startswith("[")}
        cited_by_mark = {f"[{n}]": text for n, text in sources.items()}
        for row in table.rows:
            rec = dict(table.key)
            for name, v in zip(table.columns, row):
                if isinstance(v, str) and v in cited_by_mark:
                    rec[name] = cited_by_mark[v]  # a "[n]" source column holds the source itself in CSV
                elif isinstance(v, Cited):
                    rec[name] = "; ".join(f"{x:.4f}" for x, _ in v.refs)
                    rec[f"{name} source"] = "; ".join(sources[n] for _, n in v.refs)
                elif isinstance(v, float):
                    rec[name] = f"{v:.4f}"
                else:
                    rec[name] = "" if v is None else str(v)
            for name in rec:
                if name not in fieldnames:
                    fieldnames.append(name)
            records.append(rec)
    canonical = ["Dataset", "Subset", "Split", "Protocol", "Model", "Method", "Backbone", "Class", "Set", "IoU",
                 *METRIC_TITLES.values(), "Reported mIoU", "Reported mIoU source", "Frames", "Weights", "Hardware"]
    first_seen = {n: i for i, n in enumerate(fieldnames)}
    fieldnames.sort(key=lambda n: (canonical.index(n) if n in canonical else len(canonical), first_seen[n]))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fieldnames, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return buf.getvalue()


def _per_class_long(key: tuple, results: Sequence[dict]) -> Table:
    """Per-class IoU as one row per (model, class), for CSV."""
    table = per_class_table(key, results)
    models = table.columns[2:]
    rows = [[m, row[0], row[1], row[2 + j]] for j, m in enumerate(models) for row in table.rows]
    return Table(table.title, ["Model", "Class", "Set", "IoU"], rows, key=table.key)


def render(tables: Sequence[Table], fmt: str) -> str:
    if fmt not in FORMATS:
        raise OvbenchError(f"--format {fmt!r} is unknown; choose one of: {', '.join(FORMATS)}")
    if fmt == "csv":
        return _csv(tables)
    if fmt == "latex":
        return "% generated by ovbench compare; needs \\usepackage{booktabs}\n\n" + "\n".join(map(_latex, tables))
    if fmt == "html":
        return _HTML_HEAD + "\n".join(map(_html, tables)) + "</body>\n</html>\n"
    return "\n".join(map(_markdown, tables))


def leaderboards(
    files: Iterable[str | Path], fmt: str = "markdown", *, per_class: bool = False, reported: bool = False,
    reported_file: str | Path | None = None, preamble: str | None = None,
) -> str:  # fmt: skip
    """The text of ``ovbench compare``: leaderboards (and per-class tables) per group, then published numbers.

    With ``fmt="csv"`` one kind of table is written: leaderboards, or per-class IoU (one row per model and
    class) with ``per_class``, or the published numbers with ``reported``.
    """
    if fmt not in FORMATS:
        raise OvbenchError(f"--format {fmt!r} is unknown; choose one of: {', '.join(FORMATS)}")
    files = list(files)
    if not files and not reported:
        raise OvbenchError("no result files given (pass files or folders of them, or --reported for published numbers)")
    if fmt == "csv" and per_class and reported:
        raise OvbenchError("--format csv holds one kind of table: pass --per-class or --reported, not both")
    if preamble is not None and fmt != "markdown":
        raise OvbenchError(f"--preamble is for --format markdown, not {fmt}")
    entries = load_reported(reported_file, required=reported)
    groups = grouped(files) if files else {}
    tables: list[Table] = []
    if not (fmt == "csv" and reported):
        for key, results in groups.items():
            if not (fmt == "csv" and per_class):
                tables.append(leaderboard_table(key, results, entries))
            if per_class:
                tables.append((_per_class_long if fmt == "csv" else per_class_table)(key, results))
    if reported:
        if not entries:
            raise OvbenchError(f"{reported_file or DEFAULT_REPORTED}: holds no published numbers")
        tables += reported_tables(entries)
    text = render(tables, fmt)
    if preamble:
        text = preamble.rstrip("\n") + "\n\n" + text
    return text


def leaderboard(results: Sequence[dict]):
    """One group's leaderboard as a pandas DataFrame of raw values (for notebooks)."""
    import pandas as pd

    table = leaderboard_table(group_key(results[0]), results)
    return pd.DataFrame(table.rows, columns=table.columns)


__all__ = [
    "FORMATS", "Reported", "Table", "expand_paths", "grouped", "leaderboard", "leaderboard_table",
    "leaderboards", "load_reported", "load_results", "model_labels", "per_class_table", "render",
    "reported_tables", "write_text",
]  # fmt: skip
