"""A strip of frames of one video: the frames, their ground truth and several models' saved predictions."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ovbench.errors import OvbenchError
from ovbench.plots.palettes import IGNORE_COLOR, palette
from ovbench.plots.style import new_figure, styled


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


@styled
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
    fig = new_figure(cell_w * len(picks) + 0.5, cell_w * h / w * len(rows) + 0.45 + 0.2 * legend_rows)
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
