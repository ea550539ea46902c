"""Report formats: a :class:`Table` list rendered as one text (Markdown, CSV, LaTeX, HTML, or a plugin's).

A format is data (a :class:`ReportFormat` instance); others register in ``ovbench.registry.REPORT_FORMATS``.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ovbench.metrics import METRIC_TITLES
from ovbench.reports.tables import Cited, Table


def number(v) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def best_cells(table: Table) -> set[tuple[int, int]]:
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
        values = {cell: round(v, 2) for cell in cells if (v := number(table.rows[cell[0]][cell[1]])) is not None}
        if len(values) >= 2:
            top = max(values.values())
            bold.update(cell for cell, v in values.items() if v == top)
    return bold


def cell_text(value, missing: str, cite: str) -> str:
    if value is None:
        return missing
    if isinstance(value, Cited):
        return ", ".join(cite.format(v=f"{v:.2f}", n=n) for v, n in value.refs)
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _markdown(table: Table) -> str:
    from tabulate import tabulate

    bold = best_cells(table)
    cells = [
        [(f"**{s}**" if (r, c) in bold else s) for c, v in enumerate(row) for s in [cell_text(v, "–", "{v} [{n}]")]]
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
    bold = best_cells(table)
    spec = "".join("r" if c in table.numeric else "l" for c in range(len(table.columns)))
    lines = [r"\begin{table}", r"\centering", rf"\caption{{{tex_escape(table.title)}}}",
             rf"\begin{{tabular}}{{{spec}}}", r"\toprule",
             " & ".join(map(tex_escape, table.columns)) + r" \\", r"\midrule"]  # fmt: skip
    for r, row in enumerate(table.rows):
        cells = []
        for c, v in enumerate(row):
            s = tex_escape(cell_text(v, "–", "{v} [{n}]"))
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
    bold = best_cells(table)
    esc = html.escape

    def cls(c: int) -> str:
        return ' class="num"' if c in table.numeric else ""

    head = "".join(f"<th{cls(c)}>{esc(name)}</th>" for c, name in enumerate(table.columns))
    body = []
    for r, row in enumerate(table.rows):
        cells = []
        for c, v in enumerate(row):
            s = esc(cell_text(v, "–", "{v} [{n}]"))
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


def _latex_document(tables: Sequence[Table]) -> str:
    return "% generated by ovbench compare; needs \\usepackage{booktabs}\n\n" + "\n".join(map(_latex, tables))


def _html_document(tables: Sequence[Table]) -> str:
    return _HTML_HEAD + "\n".join(map(_html, tables)) + "</body>\n</html>\n"


def _markdown_document(tables: Sequence[Table]) -> str:
    return "\n".join(map(_markdown, tables))


@dataclass(frozen=True)
class ReportFormat:
    """How ``ovbench compare --format NAME`` writes its tables."""

    name: str
    render: Callable[[Sequence[Table]], str]  # every table of one ``compare`` -> the whole text
    description: str = ""
    # Rows of one shape only (a data file): one kind of table per output, per-class IoU in long form.
    one_kind: bool = False
    takes_preamble: bool = False  # ``--preamble`` (Markdown text) may go before the tables


MARKDOWN = ReportFormat("markdown", _markdown_document, "pipe tables, best values bold; for READMEs",
                        takes_preamble=True)  # fmt: skip
CSV = ReportFormat("csv", _csv, "one table of raw values with Dataset/Subset/Split/Protocol columns", one_kind=True)
LATEX = ReportFormat("latex", _latex_document, "booktabs tables (\\usepackage{booktabs}), best values bold")
HTML = ReportFormat("html", _html_document, "one standalone page, best values bold")


def get_report_format(name: str) -> ReportFormat:
    """The format registered as ``name``; unknown names and misnamed plugins are one clear error."""
    from ovbench.registry import REPORT_FORMATS

    return REPORT_FORMATS.named(name)


def render(tables: Sequence[Table], fmt: str) -> str:
    return get_report_format(fmt).render(tables)
