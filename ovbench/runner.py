"""The two ways to score a dataset: run a model on its videos, or read predictions saved on disk.

Both stream each scored frame once through one :class:`~ovbench.evaluator.Evaluator` and end in
a result dictionary ready for :func:`ovbench.results.write_result`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

import ovbench
from ovbench import results
from ovbench.atomic import atomic_path
from ovbench.datasets import Dataset, Video, VideoRecord, fingerprint
from ovbench.datasets.io import read_label_png
from ovbench.errors import DataError, OvbenchError, PredictionError
from ovbench.evaluator import Evaluator
from ovbench.models import NO_PREDICTION, VideoModel, VocabularyEntry
from ovbench.progress import frame_progress
from ovbench.protocols import Protocol
from ovbench.splits import Split

PREFETCH = 8  # frames decoded ahead by the reader threads


def select_videos(dataset: Dataset, max_videos: int | None, max_frames: int | None) -> list[VideoRecord]:
    """The first ``max_videos`` videos, each cut after its ``max_frames``-th scored frame."""
    for flag, value in (("--max-videos", max_videos), ("--max-frames", max_frames)):
        if value is not None and value < 1:
            raise OvbenchError(f"{flag} must be at least 1, got {value}")
    videos = dataset.videos()[:max_videos]
    videos = [v.truncated(max_frames) for v in videos]
    videos = [v for v in videos if v.scored_indices]
    if not videos:
        raise DataError(f"{dataset.root}: no scored frames in {dataset.name} {dataset.subset} (no ground truth?)")
    return videos


def check_split(dataset: Dataset, split: Split) -> None:
    if split.num_classes != dataset.num_classes:
        raise OvbenchError(
            f"split {split.name!r} has {split.num_classes} classes but {dataset.name} has "
            f"{dataset.num_classes}; pick a split made for {dataset.name}"
        )


def to_class_ids(prediction: np.ndarray, vocabulary_lut: np.ndarray) -> np.ndarray:
    """Vocabulary indices -> evaluation class ids; anything outside the vocabulary -> 255."""
    if prediction.dtype != np.uint8:
        in_range = (prediction >= 0) & (prediction < 256)
        prediction = np.where(in_range, prediction, NO_PREDICTION).astype(np.uint8)
    return vocabulary_lut.take(prediction)


def save_png(path: Path, array: np.ndarray) -> None:
    """Writes a label PNG via a temporary name, so no half-written prediction is left behind."""
    with atomic_path(path) as tmp:
        Image.fromarray(array).save(tmp, format="PNG")


def _result(
    *, model: dict, dataset: Dataset, videos: Sequence[VideoRecord], split: Split, protocol: Protocol,
    evaluator: Evaluator, wall_s: float, device: str, max_videos: int | None, max_frames: int | None,
) -> dict:  # fmt: skip
    metrics = evaluator.evaluate()
    return {
        "schema_version": results.SCHEMA_VERSION,
        "ovbench_version": ovbench.__version__,
        "git_commit": results.git_commit(),
        "created": results.now(),
        "environment": results.environment(device),
        "model": model,
        "dataset": {
            "name": dataset.name,
            "subset": dataset.subset,
            "num_videos": evaluator.num_videos,
            "num_frames": evaluator.num_frames,
            "fingerprint": fingerprint(videos),
            "max_videos": max_videos,
            "max_frames": max_frames,
        },
        "split": {
            "name": split.name,
            "hash": split.hash,
            "classes": [c.name for c in split.classes],
            "seen": [c.seen for c in split.classes],
        },
        "protocol": protocol.name,
        "metrics": metrics,
        "main_metric": protocol.main_metric,
        "main_score": metrics[protocol.main_metric],
        "confusion_matrix": evaluator.confusion.state_dict(),
        "timing": {
            "wall_s": round(wall_s, 3),
            "frames_per_s": round(evaluator.num_frames / wall_s, 3) if wall_s > 0 else None,
        },
    }


def run_model(
    model: VideoModel, model_name: str, dataset: Dataset, split: Split, protocol: Protocol, *,
    max_videos: int | None = None, max_frames: int | None = None, save_predictions: Path | None = None,
    show_progress: bool = True,
) -> dict:  # fmt: skip
    """Runs ``model`` on every selected video and scores each scored frame as it is predicted."""
    check_split(dataset, split)
    videos = select_videos(dataset, max_videos, max_frames)
    vocabulary = [VocabularyEntry(c.name, c.prompts) for c in protocol.vocabulary(split)]
    vocabulary_lut = protocol.vocabulary_lut(split)
    evaluator = Evaluator(split, protocol)
    total = sum(len(v.scored_indices) for v in videos)
    start = time.perf_counter()
    with frame_progress(len(videos), total, model_name, show_progress) as progress, ThreadPoolExecutor(1) as writer:
        pending = []
        for record in videos:
            video = Video(record)
            evaluator.begin_video()
            expected = iter(record.scored_indices)
            for index, prediction in model.predict_video(video, vocabulary):
                want = next(expected, None)
                if index != want:
                    raise OvbenchError(
                        f"model {model_name!r} yielded frame {index} of video {record.name}, expected "
                        f"{want}: predictions must follow video.scored_indices in order"
                    )
                frame = record.frames[index]
                gt = dataset.read_label(frame)
                prediction = np.asarray(prediction)
                if prediction.shape != gt.shape or not np.issubdtype(prediction.dtype, np.integer):
                    raise OvbenchError(
                        f"model {model_name!r}: prediction for {record.name}/{frame.name} is "
                        f"{prediction.dtype} {prediction.shape}; expected integers of shape {gt.shape}"
                    )
                class_ids = to_class_ids(prediction, vocabulary_lut)
                evaluator.process(gt, class_ids)
                if save_predictions is not None:
                    target = Path(save_predictions) / record.name / f"{frame.name}.png"
                    pending.append(writer.submit(save_png, target, class_ids))
                progress.frame()
            missing = next(expected, None)
            if missing is not None:
                raise OvbenchError(
                    f"model {model_name!r} gave no prediction for frame {missing} of video {record.name}"
                )
            evaluator.end_video()
            progress.video()
        for future in pending:
            future.result()
    info = {"name": model_name, "options": model.describe(), "weights": model.weights}
    return _result(
        model=info, dataset=dataset, videos=videos, split=split, protocol=protocol, evaluator=evaluator,
        wall_s=time.perf_counter() - start, device=model.device, max_videos=max_videos, max_frames=max_frames,
    )  # fmt: skip


def _prediction_reader(dataset: Dataset, predictions: Path) -> Callable[[VideoRecord, int], tuple]:
    def read(record: VideoRecord, index: int):
        frame = record.frames[index]
        gt = dataset.read_label(frame)
        path = predictions / record.name / f"{frame.name}.png"
        try:
            pred = read_label_png(path, error=PredictionError, what="prediction")
        except PredictionError as exc:
            return gt, None, str(exc)
        if pred.shape != gt.shape:
            return gt, None, f"{path}: prediction is {pred.shape[1]}x{pred.shape[0]}, mask is {gt.shape[1]}x{gt.shape[0]}"
        return gt, pred, None

    return read


def _describe_problems(problems: list[str], what: str, fix: str) -> str:
    shown = "; ".join(problems[:5]) + (f"; … and {len(problems) - 5} more" if len(problems) > 5 else "")
    return f"{len(problems)} {what}: {shown}. {fix}"


def evaluate_predictions(
    predictions: Path, dataset: Dataset, split: Split, protocol: Protocol, *, model_name: str | None = None,
    max_videos: int | None = None, max_frames: int | None = None, show_progress: bool = True, workers: int = 2,
) -> dict:  # fmt: skip
    """Scores ``predictions/<video>/<frame stem>.png`` (class ids, 255 = none) against the GT.

    Missing or unreadable predictions end with one :class:`PredictionError` listing them; no
    result is produced from a partial set.
    """
    predictions = Path(predictions)
    if not predictions.is_dir():
        raise PredictionError(f"{predictions}: predictions folder not found")
    check_split(dataset, split)
    videos = select_videos(dataset, max_videos, max_frames)
    frames = [(v, i) for v in videos for i in v.scored_indices]
    missing = [
        f"{v.name}/{v.frames[i].name}.png"
        for v, i in frames
        if not (predictions / v.name / f"{v.frames[i].name}.png").is_file()
    ]
    if missing:
        raise PredictionError(
            _describe_problems(missing, f"of {len(frames)} predictions missing under {predictions}",
                               "Every scored frame needs PRED/<video>/<frame stem>.png.")
        )  # fmt: skip
    read = _prediction_reader(dataset, predictions)
    evaluator = Evaluator(split, protocol)
    problems: list[str] = []
    start = time.perf_counter()
    with frame_progress(len(videos), len(frames), "evaluate", show_progress) as progress, \
            ThreadPoolExecutor(max(1, workers)) as pool:  # fmt: skip
        decoded = _ordered_prefetch(pool, read, frames)
        for record in videos:
            evaluator.begin_video()
            for _ in record.scored_indices:
                gt, pred, problem = next(decoded)
                if problem:
                    problems.append(problem)
                elif not problems:
                    evaluator.process(gt, pred)
                progress.frame()
            evaluator.end_video()
            progress.video()
    if problems:
        raise PredictionError(_describe_problems(problems, "unreadable predictions", "No result was written."))
    model = {"name": model_name or predictions.resolve().name, "options": {"predictions": str(predictions)}, "weights": None}
    return _result(
        model=model, dataset=dataset, videos=videos, split=split, protocol=protocol, evaluator=evaluator,
        wall_s=time.perf_counter() - start, device="cpu", max_videos=max_videos, max_frames=max_frames,
    )  # fmt: skip


def _ordered_prefetch(pool: ThreadPoolExecutor, fn, items: Sequence) -> Iterator:
    """``fn(*item)`` for each item, in order, with up to PREFETCH calls running ahead."""
    queue = []
    it = iter(items)
    for item in it:
        queue.append(pool.submit(fn, *item))
        if len(queue) >= PREFETCH:
            break
    for item in it:
        yield queue.pop(0).result()
        queue.append(pool.submit(fn, *item))
    for future in queue:
        yield future.result()
