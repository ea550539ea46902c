"""Leaderboards, per-class tables and published ("reported") numbers, from result files.

One leaderboard per (dataset, subset, split, protocol), best first, with the columns of its protocol,
the weights and hardware of every run, and a "Reported mIoU" column matched from ``results/reported.yaml``.
Every table renders in every registered format (Markdown, CSV, LaTeX with booktabs, HTML built in); the
best value of each score column (of each row for per-class tables) is bold.

One job per module: ``inputs`` (result files, groups, labels), ``published`` (``reported.yaml``),
``tables`` (:class:`Table` values), ``formats`` (rendering).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from ovbench.atomic import write_text
from ovbench.errors import OvbenchError
from ovbench.metrics import METRIC_TITLES
from ovbench.reports.formats import ReportFormat, best_cells, cell_text, get_report_format, render
from ovbench.reports.inputs import (
    differing_options, expand_paths, group_key, group_title, grouped, load_results, model_labels, option_text, ranked,
    results_table,
)  # fmt: skip
from ovbench.reports.published import DEFAULT_REPORTED, Reported, load_reported
from ovbench.reports.tables import (
    Cited, Table, leaderboard_table, per_class_long, per_class_table, protocol_columns, reported_tables,
)  # fmt: skip


def leaderboards(
    files: Iterable[str | Path], fmt: str = "markdown", *, per_class: bool = False, reported: bool = False,
    reported_file: str | Path | None = None, preamble: str | None = None,
) -> str:  # fmt: skip
    """The text of ``ovbench compare``: leaderboards (and per-class tables) per group, then published numbers.

    A format that holds one kind of table (CSV) gets one: leaderboards, or per-class IoU (one row per model and
    class) with ``per_class``, or the published numbers with ``reported``.
    """
    form = get_report_format(fmt)
    files = list(files)
    if not files and not reported:
        raise OvbenchError("no result files given (pass files or folders of them, or --reported for published numbers)")
    if form.one_kind and per_class and reported:
        raise OvbenchError(f"--format {fmt} holds one kind of table: pass --per-class or --reported, not both")
    if preamble is not None and not form.takes_preamble:
        raise OvbenchError(f"--preamble is for --format markdown, not {fmt}")
    entries = load_reported(reported_file, required=reported)
    groups = grouped(files) if files else {}
    tables: list[Table] = []
    if not (form.one_kind and reported):
        for key, results in groups.items():
            if not (form.one_kind and per_class):
                tables.append(leaderboard_table(key, results, entries))
            if per_class:
                tables.append((per_class_long if form.one_kind else per_class_table)(key, results))
    if reported:
        if not entries:
            raise OvbenchError(f"{reported_file or DEFAULT_REPORTED}: holds no published numbers")
        tables += reported_tables(entries)
    text = form.render(tables)
    if preamble:
        text = preamble.rstrip("\n") + "\n\n" + text
    return text


def leaderboard(results: Sequence[dict]):
    """One group's leaderboard as a pandas DataFrame of raw values (for notebooks)."""
    import pandas as pd

    table = leaderboard_table(group_key(results[0]), results)
    return pd.DataFrame(table.rows, columns=table.columns)


__all__ = [
    "DEFAULT_REPORTED", "METRIC_TITLES", "Cited", "Reported", "ReportFormat", "Table", "best_cells", "cell_text",
    "differing_options", "expand_paths", "get_report_format", "group_key", "group_title", "grouped", "leaderboard",
    "leaderboard_table", "leaderboards", "load_reported", "load_results", "model_labels", "option_text",
    "per_class_long", "per_class_table", "protocol_columns", "ranked", "render", "reported_tables", "results_table", "write_text",
]  # fmt: skip
