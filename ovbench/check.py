"""``ovbench check``: decode every file of a dataset once and report every problem, not just the first."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from ovbench.datasets import Dataset, dataset_class, FrameRecord, resolve_root
from ovbench.datasets.io import read_rgb
from ovbench.errors import DataError
from ovbench.progress import frame_progress


def _check_frame(dataset: Dataset, frame: FrameRecord) -> tuple[tuple[int, int] | None, list[str]]:
    problems, size = [], None
    try:
        size = read_rgb(frame.image).shape[:2]
    except DataError as exc:
        problems.append(str(exc))
    if frame.label is not None:
        try:
            label = dataset.read_label(frame)
        except DataError as exc:
            problems.append(str(exc))
        else:
            if size is not None and label.shape != size:
                problems.append(
                    f"{frame.label}: mask is {label.shape[1]}x{label.shape[0]} but frame "
                    f"{frame.image.name} is {size[1]}x{size[0]}"
                )
    return size, problems


def check_dataset(name: str, data_root, subsets, echo: Callable[[str], None], workers: int = 2) -> int:
    """Checks the given subsets (default: every subset whose listing exists); returns the problem count."""
    cls = dataset_class(name)
    root = resolve_root(name, data_root)
    explicit = subsets is not None
    count = 0

    def report(message: str) -> None:
        nonlocal count
        count += 1
        echo(f"problem: {message}")

    datasets = [cls(root, subset) for subset in subsets or cls.subsets]
    if not explicit:
        datasets = [d for d in datasets if d.exists()]
        if not datasets:
            report(f"{root}: no {name} subset found ({', '.join(cls.subsets)}); is --data-root right?")
    for dataset in datasets:
        subset = dataset.subset
        try:
            videos, problems = dataset.collect_problems()
        except DataError as exc:
            report(str(exc))
            continue
        for problem in problems:
            report(problem)
        frames = [(v, f) for v in videos for f in v.frames]
        echo(f"{name} {subset}: {len(videos)} videos, {len(frames)} frames")
        with frame_progress(len(videos), len(frames), f"check {subset}") as progress, ThreadPoolExecutor(workers) as pool:
            sizes: dict[str, tuple[int, int]] = {}
            for (video, frame), (size, problems) in zip(
                frames, pool.map(lambda vf: _check_frame(dataset, vf[1]), frames)
            ):
                for problem in problems:
                    report(problem)
                if size is not None:
                    first = sizes.setdefault(video.name, size)
                    if size != first:
                        report(f"{frame.image}: frame is {size[1]}x{size[0]}, earlier frames of {video.name} are {first[1]}x{first[0]}")
                progress.frame()
    return count
