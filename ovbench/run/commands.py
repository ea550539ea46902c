"""The two ways to score a dataset: run a model on its videos, or read predictions saved on disk.

Both are the one loop of :mod:`ovbench.run.loop` with another source, and both end in a result
dictionary ready for :func:`ovbench.results.write_result`. ``run_model`` also shards the videos over
``torchrun`` ranks (:mod:`ovbench.distributed`), saves each finished video for ``--resume``
(:mod:`ovbench.run.partials`) and reuses cached predictions (:mod:`ovbench.run.prediction_cache`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ovbench import results
from ovbench.datasets import Dataset, VideoRecord
from ovbench.distributed import Dist, shard
from ovbench.errors import DataError, OvbenchError
from ovbench.evaluator import WINDOW_SIZES, Evaluator, metric_plugins
from ovbench.models import VideoModel, VocabularyEntry
from ovbench.progress import frame_progress
from ovbench.protocols import Protocol
from ovbench.run.config import RunConfig
from ovbench.run.decode import FrameReader
from ovbench.run.loop import score
from ovbench.run.partials import PartialStore, Saved, report_resumed, run_identity
from ovbench.run.prediction_cache import PredictionCache
from ovbench.run.sinks import CacheEntries, PartialResults, PredictionPngs, pngs_exist
from ovbench.run.sources import CachingSource, FolderSource, ModelSource
from ovbench.splits import Split


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


def run_model(
    model: VideoModel, model_name: str, dataset: Dataset, split: Split, protocol: Protocol,
    config: RunConfig | None = None, *, dist: Dist | None = None, partials: PartialStore | None = None,
    echo: Callable[[str], None] | None = None,
) -> dict | None:  # fmt: skip
    """Runs ``model`` on every selected video and scores each scored frame as it is predicted.

    With a ``dist`` of several ranks each rank runs its shard of the videos
    (:func:`ovbench.distributed.shard`) and rank 0 gets the exact sum of every rank's tally; other
    ranks return None. ``partials`` saves each finished video and, when resuming, skips the videos
    saved before. ``echo`` receives notes for the user (rank 0 only).
    """
    config = config or RunConfig()
    dist = dist or Dist()
    say = echo if echo is not None and dist.is_main else (lambda message: None)
    start = time.perf_counter()
    vocabulary = [VocabularyEntry(c.name, c.prompts) for c in protocol.vocabulary(split)]
    source = ModelSource(model, model_name, vocabulary, protocol.vocabulary_lut(split))
    info = source.describe()  # before any video: what identifies the configuration
    plugins = metric_plugins()
    identity = run_identity(model_name, info, model.device, dataset, split, protocol, WINDOW_SIZES, sorted(plugins))
    if config.prediction_cache is not None:
        cache_identity = {k: identity[k] for k in ("model", "options", "weights", "device", "dataset", "subset")}
        prefix = f"warning: [{dist.label}] " if dist.enabled else "warning: "
        cache = PredictionCache(config.prediction_cache, cache_identity, vocabulary,
                                warn=lambda m: echo and echo(prefix + m))  # fmt: skip
        source = CachingSource(source, cache)

    def plan():
        check_split(dataset, split)
        videos = select_videos(dataset, config.max_videos, config.max_frames)
        mine = shard([len(v.scored_indices) for v in videos], dist.rank, dist.world_size)
        saved: dict[int, Saved] = {}
        if partials is not None:
            partials.open(identity, tidy=dist.is_local_main)
            for position in mine:
                record = videos[position]
                entry = partials.load(record, WINDOW_SIZES, sorted(plugins))
                if entry is not None and config.save_predictions and not pngs_exist(config.save_predictions, record):
                    partials.stale.append(f"{partials.path(record).name} (its --save-predictions PNGs are missing)")
                    entry = None
                if entry is not None:
                    saved[position] = entry
        return videos, mine, saved

    videos, mine, saved = dist.agree(plan)
    if partials is not None:
        report_resumed(partials, dist.gather((len(saved), partials.notes, partials.problems, partials.stale)),
                       len(videos), say)  # fmt: skip

    def compute():
        evaluator = Evaluator(split, protocol, WINDOW_SIZES, plugins)
        for entry in saved.values():
            evaluator.add(entry.tally)
        todo = [videos[p] for p in mine if p not in saved]
        frames = sum(len(v.scored_indices) for v in todo)
        label = f"{model_name} [{dist.label}]" if dist.enabled else model_name
        # started first: its worker processes fork before any thread exists
        reader = FrameReader(dataset, todo, [source.wanted(v) for v in todo], workers=config.workers if todo else 0)
        try:
            with frame_progress(len(todo), frames, label, config.show_progress and dist.is_main) as progress, \
                    ThreadPoolExecutor(1) as writer:  # fmt: skip
                sinks = []
                if config.save_predictions is not None:
                    sinks.append(PredictionPngs(config.save_predictions, writer))
                if isinstance(source, CachingSource):
                    sinks.append(CacheEntries(source.cache, writer))
                if partials is not None:
                    sinks.append(PartialResults(partials))
                score(todo, source, evaluator, reader, sinks=sinks, progress=progress, before_video=dist.check_peers)
        finally:
            reader.close()
        return evaluator.totals(), frames, len(saved)

    gathered = dist.gather(dist.agree(compute))
    if not dist.is_main:
        return None
    evaluator = Evaluator(split, protocol, WINDOW_SIZES, plugins)
    for tally, _, _ in gathered:
        evaluator.add(tally)
    wall = time.perf_counter() - start
    frames_run = sum(g[1] for g in gathered)
    result = results.new_result(
        model=info, dataset=dataset, videos=videos, split=split, protocol=protocol, evaluator=evaluator,
        wall_s=wall, device=model.device, max_videos=config.max_videos, max_frames=config.max_frames,
    )  # fmt: skip
    result["timing"].update(
        frames_per_s=round(frames_run / wall, 3) if wall > 0 and frames_run else None,
        frames_run=frames_run,
        processes=dist.world_size,
        workers=config.workers,
        resumed_videos=sum(g[2] for g in gathered),
    )
    return result


def evaluate_predictions(
    predictions: Path, dataset: Dataset, split: Split, protocol: Protocol, config: RunConfig | None = None, *,
    model_name: str | None = None,
) -> dict:  # fmt: skip
    """Scores ``predictions/<video>/<frame stem>.png`` (class ids, 255 = none) against the GT.

    ``config.workers`` threads decode the PNGs (at least one). Missing or unreadable predictions end
    with one :class:`~ovbench.errors.PredictionError` listing them; no result is produced from a
    partial set.
    """
    config = config or RunConfig(workers=2)
    source = FolderSource(predictions, model_name)
    check_split(dataset, split)
    videos = select_videos(dataset, config.max_videos, config.max_frames)
    source.check_complete(videos)
    evaluator = Evaluator(split, protocol)
    start = time.perf_counter()
    frames = sum(len(v.scored_indices) for v in videos)
    reader = FrameReader(dataset, videos, [source.wanted(v) for v in videos], workers=max(1, config.workers),
                         threads=True)  # fmt: skip
    try:
        with frame_progress(len(videos), frames, source.label, config.show_progress) as progress:
            score(videos, source, evaluator, reader, progress=progress)
    finally:
        reader.close()
    return results.new_result(
        model=source.describe(), dataset=dataset, videos=videos, split=split, protocol=protocol,
        evaluator=evaluator, wall_s=time.perf_counter() - start, device="cpu", max_videos=config.max_videos,
        max_frames=config.max_frames,
    )  # fmt: skip
