"""Figures from result files and saved predictions, written as PNG and PDF with matplotlib's Agg canvas.

Five kinds (``ovbench plot KIND``):

- ``ablation``: the OV2VSS module grid (none, +STF, +STF+RFE, +STF+RFE+VTE) against mIoU, hIoU and mVC;
- ``seen-unseen``: mIoU on seen against unseen classes, one point per model, with hIoU contours (gzsl);
- ``per-class``: IoU of every class, bars coloured seen/unseen, one panel per result;
- ``mvc``: mVC8 and mVC16 against mIoU, one colour per model;
- ``qualitative``: a strip of frames of one video, its ground truth and several models' saved
  predictions, in the dataset's palette.

pyplot is never imported: figures are plain :class:`~matplotlib.figure.Figure` objects on an Agg
canvas, so plotting works without a display and leaves no global state behind.
"""

from __future__ import annotations

import functools
import json
import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ovbench.atomic import atomic_path
from ovbench.errors import OvbenchError
from ovbench.protocols import get_protocol
from ovbench.reports import differing_options, group_key, group_title, load_results, option_text, ranked

KINDS = ("ablation", "seen-unseen", "per-class", "mvc", "qualitative")
RESULT_KINDS = ("ablation", "seen-unseen", "per-class", "mvc")
FORMATS = ("png", "pdf", "svg")

# Okabe & Ito's colour-blind-safe set (yellow swapped for grey, which reads on white), for series.
SERIES_COLORS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#8C8C8C")
MARKERS = ("o", "s", "D", "^", "v", "P", "X", "h")
SEEN_COLOR, UNSEEN_COLOR = "#0072B2", "#E69F00"

STYLE = {
    "font.size": 9, "axes.titlesize": 9.5, "axes.labelsize": 9, "legend.fontsize": 8,
    "xtick.labelsize": 8, "ytick.labelsize": 8, "axes.spines.top": False, "axes.spines.right": False,
    "axes.grid": True, "grid.alpha": 0.3, "grid.linewidth": 0.6, "axes.axisbelow": True,
    "legend.frameon": False, "pdf.fonttype": 42, "ps.fonttype": 42, "svg.fonttype": "none",
}  # fmt: skip


class NotApplicable(OvbenchError):
    """The inputs hold nothing this kind of figure can show (``ovbench plot all`` skips it)."""


# --------------------------------------------------------------------------- palettes

IGNORE_COLOR = (0, 0, 0)  # GT ignore and "no prediction" (255)


def bit_palette(n: int, start: int = 1) -> np.ndarray:
    """n distinct colours by spreading the bits of the index over R, G and B (the PASCAL VOC scheme).

    Starts at index 1 so no class is black, the colour of ignore.
    """
    colors = np.zeros((n, 3), dtype=np.uint8)
    for k in range(n):
        c, rgb = k + start, [0, 0, 0]
        for shift in range(7, -1, -1):
            for ch in range(3):
                rgb[ch] |= ((c >> ch) & 1) << shift
            c >>= 3
        colors[k] = rgb
    return colors


def _dataset_colors(dataset: str):
    """The colours the dataset class declares; None for a dataset without them or not installed here."""
    from ovbench.registry import DATASETS

    if dataset not in DATASETS:
        return None
    try:
        return DATASETS.get(dataset).colors
    except OvbenchError:
        return None


def palette(dataset: str, num_classes: int) -> np.ndarray:
    """A 256×3 uint8 lookup table: class id -> colour; 255 (and anything unused) -> black."""
    lut = np.zeros((256, 3), dtype=np.uint8)
    table = _dataset_colors(dataset)
    colors = np.asarray(table, dtype=np.uint8) if table and len(table) == num_classes else bit_palette(num_classes)
    lut[:num_classes] = colors
    lut[255] = IGNORE_COLOR
    return lut


# --------------------------------------------------------------------------- saving


def save_figure(fig: Figure, out_dir: str | Path, stem: str, formats: Sequence[str] = ("png", "pdf"),
                dpi: int = 150) -> list[Path]:  # fmt: skip
    """Writes ``out_dir/stem.<fmt>`` for each format, each atomically; returns the paths."""
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise OvbenchError(f"--formats {','.join(formats)}: choose from {', '.join(FORMATS)}")
    if not stem or stem in (".", "..") or "/" in stem or "\\" in stem or stem.startswith("."):
        raise OvbenchError(f"--name {stem!r}: a file name stem without folders or a leading dot, e.g. ablation-vspw")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise OvbenchError(f"--out {out_dir}: exists and is not a folder")
    written = []
    for fmt in formats:
        path = out_dir / f"{stem}.{fmt}"
        try:
            with atomic_path(path) as tmp, matplotlib.rc_context(STYLE):
                fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches="tight", pad_inches=0.05, facecolor="white")
        except OSError as exc:
            raise OvbenchError(f"{path}: cannot write ({exc.strerror or exc})") from None
        written.append(path)
    return written


def _figure(width: float, height: float) -> Figure:
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _axes_grid(fig: Figure, n: int, ncols: int = 2, **kw) -> list:
    ncols = max(1, min(n, ncols))
    nrows = math.ceil(n / ncols)
    with matplotlib.rc_context(STYLE):
        axes = fig.subplots(nrows, ncols, squeeze=False, **kw).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return list(axes[:n])


def _style(function):
    """Runs a figure builder under STYLE, so every axis it creates picks the style up."""

    @functools.wraps(function)
    def wrapped(*args, **kwargs):
        with matplotlib.rc_context(STYLE):
            return function(*args, **kwargs)

    return wrapped


def _groups(loaded, key=group_key) -> dict[tuple, list[tuple[Path, dict]]]:
    groups: dict[tuple, list[tuple[Path, dict]]] = defaultdict(list)
    for path, r in loaded:
        groups[key(r)].append((path, r))
    return dict(sorted(groups.items()))


def _nice_limit(value: float, floor: float = 5.0) -> float:
    """A round upper axis limit a little above ``value``, at most 100."""
    value = max(value * 1.12, floor)
    step = 10 ** math.floor(math.log10(value)) / 2
    return min(100.0, math.ceil(value / step) * step)


# --------------------------------------------------------------------------- ablation

ABLATION_METRICS = (("miou", "mIoU"), ("hiou", "hIoU"), ("mvc8", "mVC8"), ("mvc16", "mVC16"))


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


def _ablations(loaded: Sequence[tuple[Path, dict]], strict: bool) -> list[tuple[tuple, str, tuple, list]]:
    """(group key, model name, switches, members) for every model with options switched on and off."""
    found = []
    for key, members in _groups(loaded).items():
        by_model: dict[str, list[tuple[Path, dict]]] = defaultdict(list)
        for path, r in members:
            by_model[r["model"]["name"]].append((path, r))
        for name, runs in by_model.items():
            names = switches([r for _, r in runs])
            if names:
                found.append((key, name, names, runs))
            elif strict:
                raise NotApplicable(
                    f"{runs[0][0]}: model {name!r} has no boolean option that differs among its results on "
                    f"{group_title(key)}; the ablation plot compares one model's results with options switched on and off"
                )
    if not found:
        raise NotApplicable("no results of one model with boolean options switched on and off among the inputs")
    return found


@_style
def ablation_figure(loaded: Sequence[tuple[Path, dict]], strict: bool = True) -> Figure:
    """Grouped bars: one panel per model and dataset/split/protocol, one group per set of its boolean
    options switched on (those that differ among its results), one bar per metric.

    ``strict``: a result of a model without such options is an error; otherwise it is left out.
    """
    cells = []
    for key, name, names, members in _ablations(loaded, strict):
        by_set: dict[tuple, tuple[Path, dict]] = {}
        for path, r in members:
            on = switched_on(r["model"]["options"], names)
            if on in by_set:
                raise OvbenchError(
                    f"{by_set[on][0]} and {path} are both '{switch_label(on)}' on {group_title(key)}; "
                    "pass one result per set of options"
                )
            by_set[on] = (path, r)
        order = sorted(by_set, key=lambda on: (len(on), tuple(names.index(k) for k in on)))
        results = [by_set[on][1] for on in order]
        metrics = [(k, t) for k, t in ABLATION_METRICS if any(r["metrics"][k] is not None for r in results)]
        cells.append((key, name, order, results, metrics))
    most = max(len(c[2]) for c in cells)
    fig = _figure(max(4.8, 1.25 * most + 1.6) * min(len(cells), 2), 3.4 * math.ceil(len(cells) / 2))
    for ax, (key, name, order, results, metrics) in zip(_axes_grid(fig, len(cells)), cells):
        x = np.arange(len(order))
        width = 0.8 / max(1, len(metrics))
        top = 0.0
        for j, (k, title) in enumerate(metrics):
            values = [r["metrics"][k] for r in results]
            heights = [v if v is not None else 0.0 for v in values]
            color = SERIES_COLORS[[m for m, _ in ABLATION_METRICS].index(k)]  # one colour per metric everywhere
            bars = ax.bar(x + (j - (len(metrics) - 1) / 2) * width, heights, width * 0.92, label=title, color=color)
            ax.bar_label(bars, labels=[f"{v:.1f}" if v is not None else "n/a" for v in values], padding=1.5,
                         fontsize=6.5)  # fmt: skip
            top = max(top, *heights)
        ax.set_xticks(x, [switch_label(on) for on in order])
        ax.set_ylim(0, _nice_limit(top) * 1.04)
        ax.set_xlabel(f"{name}: options switched on")
        ax.set_ylabel("score (%)")
        ax.grid(axis="x", visible=False)
        note = " (mIoU over unseen classes)" if get_protocol(key[3]).unseen_only else ""
        ax.set_title(f"{group_title(key)}{note}")
        ax.legend(ncols=len(metrics), loc="upper center", bbox_to_anchor=(0.5, -0.2), handlelength=1.0,
                  columnspacing=1.2)  # fmt: skip
    return fig


# --------------------------------------------------------------------------- seen vs unseen


def _series_style(i: int) -> dict:
    n = len(SERIES_COLORS)
    return {"color": SERIES_COLORS[i % n], "marker": MARKERS[(i // n + i) % len(MARKERS)]}


def _series_index(groups: dict[tuple, list[tuple[Path, dict]]]) -> dict[str, int]:
    """One style index per model (name and options), so a model looks the same in every panel."""
    index: dict[str, int] = {}
    for members in groups.values():
        results = [r for _, r in members]
        for i in ranked(results):
            index.setdefault(_model_key(results[i]), len(index))
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


def _model_key(result: dict) -> str:
    """Model name and scalar options (vocabulary-dependent lists such as prompts differ across protocols)."""
    options = {k: v for k, v in result["model"]["options"].items() if not isinstance(v, (list, dict))}
    return json.dumps([result["model"]["name"], options], sort_keys=True, default=str)


@_style
def seen_unseen_figure(loaded: Sequence[tuple[Path, dict]]) -> Figure:
    """mIoU seen (x) against mIoU unseen (y), one point per model, hIoU contours; gzsl results only."""
    gzsl = [(p, r) for p, r in loaded if r["protocol"] == "gzsl" and r["metrics"]["miou_seen"] is not None
            and r["metrics"]["miou_unseen"] is not None]  # fmt: skip
    if not gzsl:
        raise NotApplicable("the seen-unseen plot needs gzsl results (zsl scores no seen classes)")
    groups = _groups(gzsl, key=lambda r: group_key(r)[:3])
    styles = _series_index(groups)
    fig = _figure(5.6 * min(len(groups), 2), 4.2 * math.ceil(len(groups) / 2))
    for ax, (key, members) in zip(_axes_grid(fig, len(groups)), groups.items()):
        results = [r for _, r in members]
        labels = series_labels(results)
        order = ranked(results)
        lim = _nice_limit(max(max(r["metrics"]["miou_seen"], r["metrics"]["miou_unseen"]) for r in results))
        s = np.linspace(1e-6, lim, 400)
        for h in _contour_levels(lim):
            with np.errstate(divide="ignore", invalid="ignore"):
                u = h * s / (2 * s - h)
            ok = (s > h / 2) & (u >= 0) & (u <= lim)
            ax.plot(s[ok], u[ok], color="0.6", lw=0.7, ls="--", zorder=1)
            tip = np.flatnonzero(ok)
            if len(tip):  # label where the curve leaves the top of the axes
                ax.annotate(f"hIoU {h:g}", (s[tip[0]], u[tip[0]]), xytext=(2, -8), textcoords="offset points",
                            fontsize=6.5, color="0.45")  # fmt: skip
        ax.plot([0, lim], [0, lim], color="0.8", lw=0.7, ls=":", zorder=1)
        for i in order:
            m = results[i]["metrics"]
            style = _series_style(styles[_model_key(results[i])])
            ax.scatter(m["miou_seen"], m["miou_unseen"], s=42, zorder=3, edgecolor="white", linewidth=0.6, alpha=0.9,
                       label=f"{labels[i]} (hIoU {m['hiou']:.1f})", **style)  # fmt: skip
        ax.set_xlim(0, lim)
        ax.set_ylim(0, lim)
        ax.set_aspect("equal")
        ax.set_xlabel("mIoU seen (%)")
        ax.set_ylabel("mIoU unseen (%)")
        ax.set_title(f"{key[0]} {key[1]} · {key[2]} · gzsl")
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    return fig


def _contour_levels(lim: float) -> list[float]:
    step = {True: 1, False: 5}[lim <= 10] if lim <= 50 else 10
    step = max(step, _round_step(lim / 4))
    return [step * k for k in range(1, int(lim // step) + 1)]


def _round_step(x: float) -> float:
    base = 10 ** math.floor(math.log10(x))
    for m in (1, 2, 2.5, 5, 10):
        if m * base >= x:
            return m * base
    return 10 * base


# --------------------------------------------------------------------------- per-class


@_style
def per_class_figure(loaded: Sequence[tuple[Path, dict]]) -> Figure:
    """IoU per class, one panel per result, bars coloured seen/unseen; dashed lines at mIoU seen/unseen."""
    shared = len({(group_key(r), r["split"]["hash"]) for _, r in loaded}) == 1
    panels = []
    for members in _groups(loaded).values():
        results = [r for _, r in members]
        labels = series_labels(results)
        for i in ranked(results):
            r = results[i]
            scores_class = get_protocol(r["protocol"]).scores_class
            ids = [c for c, seen in enumerate(r["split"]["seen"]) if scores_class(seen)]
            panels.append((r, labels[i], ids))
    most = max(len(ids) for _, _, ids in panels)
    longest = max(len(r["split"]["classes"][c]) for r, _, ids in panels for c in ids)
    width = min(44.0, max(6.5, 0.26 * most + 1.5))
    tick_room = 0.065 * longest + 0.2
    fig = _figure(width, 2.0 * len(panels) + tick_room * (1 if shared else len(panels)) + 0.8)
    axes = fig.subplots(len(panels), 1, squeeze=False, sharex=shared).ravel()

    def top_of(r, ids):
        m = r["metrics"]
        values = [m["per_class_iou"][c] for c in ids] + [m["miou_seen"], m["miou_unseen"], 1.0]
        return max(v for v in values if v is not None)

    common_top = _nice_limit(max(top_of(r, ids) for r, _, ids in panels)) if shared else None
    any_seen = False
    for n, (ax, (r, label, ids)) in enumerate(zip(axes, panels)):
        names = [r["split"]["classes"][c] for c in ids]
        seen = [r["split"]["seen"][c] for c in ids]
        any_seen |= any(seen)
        iou = [r["metrics"]["per_class_iou"][c] for c in ids]
        x = np.arange(len(ids))
        colors = [SEEN_COLOR if s else UNSEEN_COLOR for s in seen]
        ax.bar(x, [v if v is not None else 0 for v in iou], 0.75, color=colors)
        for xi, v in zip(x, iou):
            if v is None:  # class absent from the GT (or not scored)
                ax.text(xi, 0.5, "n/a", ha="center", va="bottom", fontsize=6.5, color="0.45", rotation=90)
        m = r["metrics"]
        means = []
        for key, color, what in (("miou_seen", SEEN_COLOR, "seen"), ("miou_unseen", UNSEEN_COLOR, "unseen")):
            if m[key] is not None:
                ax.axhline(m[key], color=color, ls="--", lw=1.0)
                means.append(f"{what} {m[key]:.1f}")
        ax.set_ylim(0, common_top or _nice_limit(top_of(r, ids)))
        ax.set_xlim(-0.6, len(ids) - 0.4)
        ax.set_ylabel("IoU (%)")
        ax.grid(axis="x", visible=False)
        where = "" if shared else f" · {r['dataset']['name']} {r['dataset']['subset']} · {r['protocol']}"
        ax.set_title(f"{label}{where}   (mIoU {', '.join(means)})", loc="left")
        if not shared or n == len(panels) - 1:
            ax.set_xticks(x, names, rotation=60, ha="right", rotation_mode="anchor")
            for tick, s in zip(ax.get_xticklabels(), seen):
                tick.set_color("black" if s else "#A65E00")
        else:
            ax.tick_params(axis="x", labelbottom=False)
    handles = [Patch(color=SEEN_COLOR, label="seen class")] if any_seen else []
    handles += [Patch(color=UNSEEN_COLOR, label="unseen class (name in orange)"),
                Line2D([], [], color="0.3", ls="--", lw=1.0, label="mIoU of seen / unseen classes")]  # fmt: skip
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), handlelength=1.6)
    if shared:
        fig.suptitle(f"Per-class IoU · {group_title(group_key(panels[0][0]))}", fontsize=10)
    return fig


# --------------------------------------------------------------------------- mVC against mIoU


@_style
def mvc_figure(loaded: Sequence[tuple[Path, dict]]) -> Figure:
    """mVC8 (circles) and mVC16 (triangles) against mIoU, one colour per model."""
    with_vc = [(p, r) for p, r in loaded if r["metrics"]["mvc8"] is not None or r["metrics"]["mvc16"] is not None]
    if not with_vc:
        raise NotApplicable(
            "no result has mVC8 or mVC16 (they need videos with more than 8 scored frames; Cityscapes has "
            "one scored frame per video)"
        )
    groups = _groups(with_vc)
    styles = _series_index(groups)
    fig = _figure(5.8 * min(len(groups), 2), 3.8 * math.ceil(len(groups) / 2))
    for ax, (key, members) in zip(_axes_grid(fig, len(groups)), groups.items()):
        results = [r for _, r in members]
        labels = series_labels(results)
        handles = []
        xs, ys = [], []
        for i in ranked(results):
            m = results[i]["metrics"]
            color = _series_style(styles[_model_key(results[i])])["color"]
            points = [(m["miou"], m[k], mk) for k, mk in (("mvc8", "o"), ("mvc16", "^")) if m[k] is not None]
            if len(points) == 2:
                ax.plot([m["miou"]] * 2, [points[0][1], points[1][1]], color=color, lw=0.8, alpha=0.6, zorder=2)
            for x, y, mk in points:
                ax.scatter(x, y, marker=mk, s=40, color=color, edgecolor="white", linewidth=0.6, zorder=3)
                xs.append(x)
                ys.append(y)
            handles.append(Patch(color=color, label=labels[i]))
        handles += [Line2D([], [], ls="", marker="o", color="0.3", label="mVC8"),
                    Line2D([], [], ls="", marker="^", color="0.3", label="mVC16")]  # fmt: skip
        ax.set_xlim(0, _nice_limit(max(xs)))
        pad = max(2.0, (max(ys) - min(ys)) * 0.15)
        ax.set_ylim(max(0.0, min(ys) - pad), min(100.0, max(ys) + pad))
        ax.set_xlabel("mIoU over unseen classes (%)" if get_protocol(key[3]).unseen_only else "mIoU (%)")
        ax.set_ylabel("video consistency mVC (%)")
        ax.set_title(group_title(key))
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    return fig


# --------------------------------------------------------------------------- qualitative strip


def parse_prediction_args(values: Sequence[str]) -> list[tuple[str, Path]]:
    """``LABEL=FOLDER`` or ``FOLDER`` (labelled by its name) -> [(label, folder)]; folders must exist."""
    out = []
    for v in values:
        label, sep, folder = v.partition("=")
        if not sep:
            label, folder = Path(v).name or v, v
        path = Path(folder)
        if not path.is_dir():
            raise OvbenchError(f"--pred {v}: {path} is not a folder of PRED/<video>/<frame stem>.png predictions")
        out.append((label, path))
    if not out:
        raise OvbenchError("no --pred given: pass one or more prediction folders (--pred LABEL=FOLDER)")
    return out


def pick_frames(dataset, predictions: Sequence[tuple[str, Path]], videos: Sequence[str] = (),
                frames: Sequence[str] = (), count: int = 4) -> list[tuple]:  # fmt: skip
    """The (video record, frame index) pairs to show, in order.

    ``frames`` (stems) are looked up in ``videos`` (names; default: all). Without ``frames``: ``count``
    scored frames that have a prediction in every folder, spread evenly over the first such video; a
    video with fewer (a Cityscapes snippet has one annotated frame) is topped up from the next ones.
    """
    records = dataset.videos()
    if videos:
        by_name = {r.name: r for r in records}
        for v in videos:
            if v not in by_name:
                names = ", ".join(r.name for r in records[:8]) + (" …" if len(records) > 8 else "")
                raise OvbenchError(f"--video {v!r} is not a video of {dataset.name} {dataset.subset} ({names})")
        records = [by_name[v] for v in dict.fromkeys(videos)]
    if frames:
        where = {f.name: (r, i) for r in records for i, f in enumerate(r.frames) if f.scored}
        missing = [stem for stem in frames if stem not in where]
        if missing:
            scope = f"video {', '.join(videos)}" if videos else f"{dataset.name} {dataset.subset}"
            example = ", ".join(records[0].frames[j].name for j in records[0].scored_indices[:2])
            raise OvbenchError(f"--frame {missing[0]}: not a scored frame of {scope} (e.g. {example})")
        return [where[stem] for stem in frames]
    if count < 1:
        raise OvbenchError(f"--num-frames must be at least 1, got {count}")

    def predicted(record, i):
        return all((folder / record.name / f"{record.frames[i].name}.png").is_file() for _, folder in predictions)

    picks: list[tuple] = []
    for record in records:
        available = [i for i in record.scored_indices if predicted(record, i)]
        need = count - len(picks)
        if len(available) > need:
            chosen = np.unique(np.linspace(0, len(available) - 1, need).round().astype(int))
            available = [available[k] for k in chosen]
        picks += [(record, i) for i in available]
        if len(picks) == count:
            break
    if not picks:
        scope = f"video {', '.join(videos)}" if videos else f"{dataset.name} {dataset.subset}"
        raise OvbenchError(
            f"no scored frame of {scope} has a prediction in every --pred folder "
            f"({', '.join(str(f) for _, f in predictions)}); expected PRED/<video>/<frame stem>.png"
        )
    return picks


def _read_prediction(path: Path, shape: tuple[int, int], num_classes: int) -> np.ndarray:
    from ovbench.datasets.io import read_label_png
    from ovbench.errors import PredictionError

    pred = read_label_png(path, error=PredictionError, what="prediction")
    if pred.shape != shape:
        raise PredictionError(f"{path}: prediction is {pred.shape[1]}x{pred.shape[0]}, frame is {shape[1]}x{shape[0]}")
    bad = np.setdiff1d(np.unique(pred), [*range(num_classes), 255])
    if bad.size:
        raise PredictionError(
            f"{path}: value(s) {', '.join(map(str, bad[:5]))} are not class ids 0..{num_classes - 1} or 255"
        )
    return pred


@_style
def qualitative_figure(dataset, split, picks: Sequence[tuple], predictions: Sequence[tuple[str, Path]],
                       max_legend: int = 40) -> Figure:  # fmt: skip
    """Rows: frame, ground truth, one per prediction folder; columns: the picked (video, frame) pairs.

    Colours: the dataset's palette; black = GT ignore or no prediction (255). The legend lists the
    classes shown (the ``max_legend`` largest by pixel count when there are more), unseen ones marked.
    """
    from ovbench.datasets.io import read_rgb

    lut = palette(dataset.name, split.num_classes)
    rows: list[tuple[str, list[np.ndarray]]] = [("frame", []), ("ground truth", [])]
    rows += [(label, []) for label, _ in predictions]
    counts = np.zeros(256, dtype=np.int64)
    for record, i in picks:
        frame = record.frames[i]
        gt = dataset.read_label(frame)
        rows[0][1].append(read_rgb(frame.image))
        rows[1][1].append(lut[gt])
        counts += np.bincount(gt.ravel(), minlength=256)
        for r, (_, folder) in enumerate(predictions, start=2):
            pred = _read_prediction(folder / record.name / f"{frame.name}.png", gt.shape, split.num_classes)
            rows[r][1].append(lut[pred])
            counts += np.bincount(pred.ravel(), minlength=256)
    h, w = rows[0][1][0].shape[:2]
    cell_w = 2.3
    classes = [c for c in np.argsort(-counts[:255], kind="stable") if counts[c] > 0]
    shown = sorted(classes[:max_legend])
    legend_rows = math.ceil((len(shown) + 2) / 5)
    fig = _figure(cell_w * len(picks) + 0.5, cell_w * h / w * len(rows) + 0.45 + 0.2 * legend_rows)
    fig.get_layout_engine().set(w_pad=0.02, h_pad=0.02, wspace=0.01, hspace=0.01)
    axes = fig.subplots(len(rows), len(picks), squeeze=False)
    several = len({record.name for record, _ in picks}) > 1
    for r, (label, images) in enumerate(rows):
        for c, image in enumerate(images):
            ax = axes[r, c]
            ax.imshow(image, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            for spine in ax.spines.values():
                spine.set_visible(False)
            if r == 0:
                record, i = picks[c]
                name = record.frames[i].name
                ax.set_title(name if not several or name.startswith(record.name) else f"{record.name}/{name}",
                             fontsize=8)  # fmt: skip
            if c == 0:
                ax.set_ylabel(label, fontsize=8.5)
    handles = []
    for c in shown:
        cls = split.classes[c]
        handles.append(Patch(facecolor=np.asarray(lut[c]) / 255, edgecolor="0.6", linewidth=0.4,
                             label=cls.name + ("" if cls.seen else " (unseen)")))  # fmt: skip
    if len(classes) > len(shown):
        handles.append(Patch(color="white", label=f"… {len(classes) - len(shown)} smaller classes"))
    if counts[255]:
        handles.append(Patch(facecolor=np.asarray(IGNORE_COLOR) / 255, label="ignore / no prediction"))
    fig.legend(handles=handles, loc="outside lower center", ncols=min(5, len(handles)), fontsize=7.5,
               handlelength=1.2, columnspacing=1.0)  # fmt: skip
    videos = list(dict.fromkeys(record.name for record, _ in picks))
    where = f"video {videos[0]}" if len(videos) == 1 else f"{len(videos)} videos"
    fig.suptitle(f"{dataset.name} {dataset.subset} · {where}", fontsize=9.5)
    return fig


# --------------------------------------------------------------------------- entry points

BUILDERS = {"ablation": ablation_figure, "seen-unseen": seen_unseen_figure, "per-class": per_class_figure,
            "mvc": mvc_figure}  # fmt: skip


def plot_results(kind: str, files: Sequence[str | Path], out_dir: str | Path, name: str | None = None,
                 formats: Sequence[str] = ("png", "pdf"), dpi: int = 150) -> list[Path]:  # fmt: skip
    """Renders one result-based figure kind to ``out_dir/<name or kind>.<fmt>``."""
    if kind not in BUILDERS:
        raise OvbenchError(f"unknown figure kind {kind!r}; choose one of: {', '.join(BUILDERS)}")
    fig = BUILDERS[kind](load_results(files))
    return save_figure(fig, out_dir, name or kind, formats, dpi)


def plot_all(files: Sequence[str | Path], out_dir: str | Path, formats: Sequence[str] = ("png", "pdf"),
             dpi: int = 150) -> tuple[list[Path], list[str]]:  # fmt: skip
    """Every result-based figure the inputs allow: (paths written, "kind: why skipped" lines)."""
    loaded = load_results(files)
    written, skipped = [], []
    for kind, build in BUILDERS.items():
        try:
            fig = build(loaded, strict=False) if kind == "ablation" else build(loaded)
        except NotApplicable as exc:
            skipped.append(f"{kind}: {exc}")
            continue
        written += save_figure(fig, out_dir, kind, formats, dpi)
    return written, skipped


def plot_qualitative(
    dataset_name: str, data_root, subset: str, split_name: str, predictions: Sequence[str], out_dir: str | Path,
    *, videos: Sequence[str] = (), frames: Sequence[str] = (), count: int = 4, name: str | None = None,
    formats: Sequence[str] = ("png", "pdf"), dpi: int = 150,
) -> list[Path]:  # fmt: skip
    """The strip of ``qualitative_figure`` for a dataset on disk and prediction folders (``LABEL=FOLDER``)."""
    from ovbench.datasets import open_dataset
    from ovbench.splits import load_split

    split = load_split(split_name)
    if split.dataset != dataset_name:
        raise OvbenchError(f"split {split.name!r} is for dataset {split.dataset!r}, not {dataset_name!r}")
    preds = parse_prediction_args(predictions)
    dataset = open_dataset(dataset_name, data_root, subset)
    fig = qualitative_figure(dataset, split, pick_frames(dataset, preds, videos, frames, count), preds)
    return save_figure(fig, out_dir, name or "qualitative", formats, dpi)


__all__ = [
    "BUILDERS", "KINDS", "NotApplicable", "ablation_figure",
    "bit_palette", "mvc_figure", "palette", "per_class_figure", "pick_frames", "plot_all", "plot_qualitative",
    "plot_results", "qualitative_figure", "save_figure", "seen_unseen_figure", "switch_label", "switched_on",
    "switches",
]  # fmt: skip
