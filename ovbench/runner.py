"""The two ways to score a dataset: run a model on its videos, or read predictions saved on disk.

Both stream each scored frame once through an :class:`~ovbench.evaluator.Evaluator` and end in a
result dictionary ready for :func:`ovbench.results.write_result`. ``run_model`` also shards the
videos over ``torchrun`` ranks (:mod:`ovbench.distributed`), saves each finished video for
``--resume`` (:mod:`ovbench.partials`), reuses cached predictions (:mod:`ovbench.prediction_cache`)
and decodes frames ahead of the model in worker processes (:mod:`ovbench.frame_reader`).
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
from ovbench.distributed import Dist, shard
from ovbench.evaluator import WINDOW_SIZES, Evaluator, Tally
from ovbench.frame_reader import FrameReader
from ovbench.models import NO_PREDICTION, VideoModel, VocabularyEntry
from ovbench.partials import PartialStore, Saved, _canonical, run_identity
from ovbench.prediction_cache import PredictionCache
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
    show_progress: bool = True, workers: int = 0, dist: Dist | None = None, partials: PartialStore | None = None,
    prediction_cache: Path | None = None, echo: Callable[[str], None] | None = None,
) -> dict | None:  # fmt: skip
    """Runs ``model`` on every selected video and scores each scored frame as it is predicted.

    ``workers`` processes decode frames and GT masks ahead of the model (:mod:`ovbench.frame_reader`);
    0 decodes inline. With a ``dist`` of several ranks each rank runs its shard of the videos
    (:func:`ovbench.distributed.shard`) and rank 0 gets the exact sum of every rank's tally; other
    ranks return None. ``partials`` saves
    each finished video and, when resuming, skips the videos saved before. ``prediction_cache`` is a
    folder of reusable predictions (:mod:`ovbench.prediction_cache`). ``echo`` receives notes for
    the user (rank 0 only).
    """
    dist = dist or Dist()
    say = echo if echo is not None and dist.is_main else (lambda message: None)
    start = time.perf_counter()
    vocabulary = [VocabularyEntry(c.name, c.prompts) for c in protocol.vocabulary(split)]
    vocabulary_lut = protocol.vocabulary_lut(split)
    info = _model_info(model_name, model, vocabulary)  # before any video: what identifies the configuration
    identity = run_identity(model_name, info, model.device, dataset, split, protocol, WINDOW_SIZES)
    cache = None
    if prediction_cache is not None:
        cache_identity = {k: identity[k] for k in ("model", "options", "weights", "device", "dataset", "subset")}
        prefix = f"warning: [{dist.label}] " if dist.enabled else "warning: "
        cache = PredictionCache(prediction_cache, cache_identity, vocabulary, warn=lambda m: echo and echo(prefix + m))

    def plan():
        check_split(dataset, split)
        videos = select_videos(dataset, max_videos, max_frames)
        mine = shard([len(v.scored_indices) for v in videos], dist.rank, dist.world_size)
        saved: dict[int, Saved] = {}
        if partials is not None:
            partials.open(identity, tidy=dist.is_local_main)
            for position in mine:
                record = videos[position]
                entry = partials.load(record, WINDOW_SIZES)
                if entry is not None and save_predictions is not None and not _pngs_exist(save_predictions, record):
                    partials.stale.append(f"{partials.path(record).name} (its --save-predictions PNGs are missing)")
                    entry = None
                if entry is not None:
                    saved[position] = entry
        return videos, mine, saved

    videos, mine, saved = dist.agree(plan)
    if partials is not None:
        _report_partials(partials, dist.gather((len(saved), partials.notes, partials.problems, partials.stale)),
                         len(videos), say)  # fmt: skip

    def compute():
        evaluator = Evaluator(split, protocol, WINDOW_SIZES)
        for entry in saved.values():
            evaluator.add(entry.tally)
        todo = [p for p in mine if p not in saved]
        frames = sum(len(videos[p].scored_indices) for p in todo)
        label = f"{model_name} [{dist.label}]" if dist.enabled else model_name
        reader = None
        if workers > 0 and todo:  # started first: its worker processes fork before any thread exists
            with_images = [cache is None or not cache.contains(videos[p]) for p in todo]
            reader = FrameReader(dataset, [videos[p] for p in todo], with_images, workers=workers)
        try:
            with frame_progress(len(todo), frames, label, show_progress and dist.is_main) as progress, \
                    ThreadPoolExecutor(1) as writer:  # fmt: skip
                for k, position in enumerate(todo):
                    dist.check_peers()
                    record = videos[position]
                    tally, video_info = _run_video(
                        model, model_name, record, dataset, vocabulary, vocabulary_lut, evaluator,
                        reader=reader, reader_video=k, writer=writer, save_predictions=save_predictions,
                        cache=cache, progress=progress,
                    )  # fmt: skip
                    if partials is not None:
                        partials.save(record, tally, video_info)
                    progress.video()
        finally:
            if reader is not None:
                reader.close()
        return evaluator.totals(), frames, len(saved)

    gathered = dist.gather(dist.agree(compute))
    if not dist.is_main:
        return None
    evaluator = Evaluator(split, protocol, WINDOW_SIZES)
    for tally, _, _ in gathered:
        evaluator.add(tally)
    wall = time.perf_counter() - start
    frames_run = sum(g[1] for g in gathered)
    result = _result(
        # describe() is pure: the description taken before the first video holds for every video
        model=info, dataset=dataset, videos=videos, split=split, protocol=protocol, evaluator=evaluator,
        wall_s=wall, device=model.device, max_videos=max_videos, max_frames=max_frames,
    )  # fmt: skip
    result["timing"].update(
        frames_per_s=round(frames_run / wall, 3) if wall > 0 and frames_run else None,
        frames_run=frames_run,
        processes=dist.world_size,
        workers=workers,
        resumed_videos=sum(g[2] for g in gathered),
    )
    return result


def _model_info(model_name: str, model: VideoModel, vocabulary: Sequence[VocabularyEntry]) -> dict:
    """The result's ``model`` block, as it reads back from JSON: the model's own description plus the
    prompt names it was asked for (recorded here, so ``describe()`` need not remember its last call)."""
    options = {**model.describe(), "prompts": [list(v.prompts) for v in vocabulary]}
    return _canonical({"name": model_name, "options": options, "weights": model.weights})


def _pngs_exist(folder: Path, record: VideoRecord) -> bool:
    return all((Path(folder) / record.name / f"{record.frames[i].name}.png").is_file() for i in record.scored_indices)


def _report_partials(partials: PartialStore, gathered, total: int, say) -> None:
    """Rank 0 tells the user what resuming found, once for all ranks."""
    if gathered is None:
        return
    notes = dict.fromkeys(note for _, rank_notes, _, _ in gathered for note in rank_notes)
    for note in notes:
        say(f"note: {note}")
    for what, index in (("were corrupt or truncated", 2), ("no longer matched", 3)):
        files = [f for g in gathered for f in g[index]]
        if files:
            shown = ", ".join(files[:5]) + (f", … and {len(files) - 5} more" if len(files) > 5 else "")
            prefix = "warning" if index == 2 else "note"
            say(f"{prefix}: {len(files)} partial result file(s) in {partials.root} {what}; their videos are run "
                f"again: {shown}")  # fmt: skip
    done = sum(g[0] for g in gathered)
    if partials.resume and done:
        say(f"resuming from {partials.root}: {done} of {total} videos already scored")


def _as_uint8(prediction: np.ndarray) -> np.ndarray:
    """Vocabulary indices as uint8; anything outside 0..255 becomes 255 (no prediction)."""
    if prediction.dtype == np.uint8:
        return prediction
    in_range = (prediction >= 0) & (prediction < 256)
    return np.where(in_range, prediction, NO_PREDICTION).astype(np.uint8)


def _gt_stream(dataset: Dataset, record: VideoRecord, reader: FrameReader | None, k: int) -> Iterator:
    if reader is None:
        return (dataset.read_label(record.frames[i]) for i in record.scored_indices)
    return (reader.mask(k, i) for i in record.scored_indices)


def _run_video(
    model: VideoModel, model_name: str, record: VideoRecord, dataset: Dataset, vocabulary, vocabulary_lut,
    evaluator: Evaluator, *, reader: FrameReader | None, reader_video: int, writer: ThreadPoolExecutor,
    save_predictions: Path | None, cache: PredictionCache | None, progress,
) -> tuple[Tally, dict]:  # fmt: skip
    """Predicts (or reads cached predictions of) one video and scores it; returns its tally and model info."""
    cached = cache.get(record) if cache is not None else None
    video = entry = None
    if cached is not None:
        stream, info = cached
    else:
        prefetched = (lambda i: reader.frame(reader_video, i)) if reader is not None else None
        video = Video(record, prefetched=prefetched)
        stream = model.predict_video(video, vocabulary)
        entry = cache.writer(record, writer) if cache is not None else None
    gts = _gt_stream(dataset, record, reader, reader_video)
    pending = []
    evaluator.begin_video()
    try:
        expected = iter(record.scored_indices)
        for index, prediction in stream:
            want = next(expected, None)
            if index != want:
                raise OvbenchError(
                    f"model {model_name!r} yielded frame {index} of video {record.name}, expected "
                    f"{want}: predictions must follow video.scored_indices in order"
                )
            frame = record.frames[index]
            gt = next(gts)
            prediction = np.asarray(prediction)
            if prediction.shape != gt.shape or not np.issubdtype(prediction.dtype, np.integer):
                raise OvbenchError(
                    f"model {model_name!r}: prediction for {record.name}/{frame.name} is "
                    f"{prediction.dtype} {prediction.shape}; expected integers of shape {gt.shape}"
                )
            indices = _as_uint8(prediction)
            class_ids = vocabulary_lut.take(indices)
            evaluator.process(gt, class_ids)
            if save_predictions is not None:
                target = Path(save_predictions) / record.name / f"{frame.name}.png"
                pending.append(writer.submit(save_png, target, class_ids))
            if entry is not None:
                entry.add(frame.name, indices.copy() if indices is prediction else indices)
            progress.frame()
        missing = next(expected, None)
        if missing is not None:
            raise OvbenchError(f"model {model_name!r} gave no prediction for frame {missing} of video {record.name}")
        tally = evaluator.end_video()
        for future in pending:  # a saved video's PNGs exist before its partial result does
            future.result()
        if cached is None:
            info = _model_info(model_name, model, vocabulary)
        if entry is not None:
            entry.commit(info)
            entry = None
        return tally, info
    finally:
        if entry is not None:
            entry.discard()
        if video is not None:
            video.close()


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
