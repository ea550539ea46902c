"""Tables independent of their rendering: leaderboards, per-class IoU, published numbers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ovbench.metrics import METRIC_TITLES, metric_title
from ovbench.reports.inputs import group_title, hardware, model_labels, ranked, weights
from ovbench.reports.published import NO_SPLIT_PROTOCOLS, REPORTED_CAVEATS, REPORTED_PROTOCOLS, Reported


def protocol_columns(protocol_name: str) -> list[tuple[str, str]]:
    """(metric key, column title) of a protocol's leaderboard, as the protocol declares them."""
    from ovbench.protocols import get_protocol

    return [(k, metric_title(k)) for k in get_protocol(protocol_name).columns]


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
        REPORTED_CAVEATS[p].format(refs=" " + ", ".join(f"[{n}]" for n in ns) if len(by_protocol) > 1 else "")
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
    random = [label for label, r in zip(labels, results) if r["model"].get("random_weights")]
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
             e.split or ("none (all classes)" if e.protocol in NO_SPLIT_PROTOCOLS else "not stated"),
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


def per_class_long(key: tuple, results: Sequence[dict]) -> Table:
    """Per-class IoU as one row per (model, class), for formats that hold one kind of table (CSV)."""
    table = per_class_table(key, results)
    models = table.columns[2:]
    rows = [[m, row[0], row[1], row[2 + j]] for j, m in enumerate(models) for row in table.rows]
    return Table(table.title, ["Model", "Class", "Set", "IoU"], rows, key=table.key)
