"""A report-format plugin in one file: every table row as one JSON object per line (JSON Lines)."""

from __future__ import annotations

import json

from ovbench.api import Cited, ReportFormat


def _value(v):
    if isinstance(v, Cited):
        return [value for value, _ in v.refs]
    return v


def _lines(tables) -> str:
    rows = []
    for table in tables:
        for row in table.rows:
            record = {"table": table.title, **table.key}
            record.update((name, _value(v)) for name, v in zip(table.columns, row))
            rows.append(json.dumps(record))
    return "".join(line + "\n" for line in rows)


FORMAT = ReportFormat("jsonl", _lines, "one JSON object per table row", one_kind=True)
