"""Result files: one JSON per model × dataset × split × protocol, versioned and validated on read.

Written atomically (temporary file in the same folder, fsync, rename), so a crash or Ctrl-C
never leaves a half-written result, and an existing file is replaced only by a complete one.

:class:`Result` is one file's document (a dict, so it serialises as it is) with typed access to what
reports and plots read; :func:`to_dataframe` makes one table of many, one row per result (as MTEB's
``TaskResult`` and ``to_dataframe``).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
import sys
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

import ovbench
from ovbench.atomic import write_text
from ovbench.errors import OvbenchError

SCHEMA_VERSION = 1


def _validator() -> jsonschema.protocols.Validator:
    from ovbench.registry import METRICS, PROTOCOLS

    plugin_keys = tuple(sorted(k for _, cls in METRICS.items() for k in cls.titles))
    return _validator_for(tuple(PROTOCOLS.names()), plugin_keys)


@cache
def _validator_for(protocols: tuple[str, ...], plugin_keys: tuple[str, ...] = ()) -> jsonschema.protocols.Validator:
    """The result schema with the protocols and metric plugins registered now; built once per set (slow)."""
    schema = json.loads(resources.files("ovbench").joinpath("result_schema.json").read_text())
    schema["properties"]["protocol"]["enum"] = list(protocols)
    schema["properties"]["main_metric"]["enum"] += list(plugin_keys)  # a protocol may rank by a plugin's score
    return jsonschema.validators.validator_for(schema)(schema)


@cache
def git_commit() -> str | None:
    """The commit of the ovbench checkout in use (None for an installed wheel)."""
    here = Path(ovbench.__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def environment(device: str) -> dict[str, Any]:
    import numpy

    env = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": numpy.__version__,
        "torch": None,
        "cuda": None,
        "device": device,
    }
    if "torch" in sys.modules or device.startswith("cuda"):
        import torch

        env["torch"] = torch.__version__
        env["cuda"] = torch.version.cuda
        # Intra-op threads per process: floating-point reductions in a model can round differently
        # with another count, so predictions are bit-identical only between runs with the same one.
        env["threads"] = torch.get_num_threads()
        if device.startswith("cuda") and torch.cuda.is_available():
            env["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return env


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


class Result(dict):
    """One result file's document; ``Result.read``, ``write`` and ``validate`` keep the schema in one place."""

    @classmethod
    def read(cls, path: str | os.PathLike) -> Result:
        return read_result(path)

    def write(self, path: str | os.PathLike, *, overwrite: bool = True) -> Path:
        return write_result(path, self, overwrite=overwrite)

    def validate(self, source: str = "<result>") -> Result:
        validate(self, source)
        return self

    @property
    def model_name(self) -> str:
        return self["model"]["name"]

    @property
    def options(self) -> dict:
        return self["model"]["options"]

    @property
    def random_weights(self) -> bool:
        return bool(self["model"].get("random_weights", False))

    @property
    def group(self) -> tuple[str, str, str, str]:
        """(dataset, subset, split, protocol): the results a leaderboard compares."""
        d = self["dataset"]
        return d["name"], d["subset"], self["split"]["name"], self["protocol"]

    @property
    def main_score(self) -> float | None:
        return self["main_score"]

    def scores(self) -> dict[str, float | None]:
        """Every scalar score (ovbench's and metric plugins'), per-class lists left out."""
        return {k: v for k, v in self["metrics"].items() if not isinstance(v, (list, dict))}

    def row(self) -> dict[str, Any]:
        """This result as one flat row of :func:`to_dataframe`."""
        dataset, subset, split, protocol = self.group
        d = self["dataset"]
        return {
            "dataset": dataset, "subset": subset, "split": split, "protocol": protocol, "model": self.model_name,
            "options": self.options, "weights": self["model"]["weights"], "random_weights": self.random_weights,
            "main_metric": self["main_metric"], "main_score": self.main_score, **self.scores(),
            "videos": d["num_videos"], "frames": d["num_frames"], "max_videos": d["max_videos"],
            "max_frames": d["max_frames"], "split_hash": self["split"]["hash"], "fingerprint": d["fingerprint"],
            "ovbench_version": self["ovbench_version"], "device": self["environment"].get("device"),
            "gpu": self["environment"].get("gpu"), "created": self["created"],
        }  # fmt: skip


def to_dataframe(results, paths=None):
    """One pandas row per result (``Result`` or plain dict), in the given order; ``paths`` adds a column."""
    import pandas as pd

    rows = [(r if isinstance(r, Result) else Result(r)).row() for r in results]
    table = pd.DataFrame(rows)
    if paths is not None:
        table.insert(0, "path", [str(p) for p in paths])
    return table


def new_result(
    *, model: dict, dataset, videos, split, protocol, evaluator, wall_s: float, device: str,
    max_videos: int | None, max_frames: int | None,
) -> Result:  # fmt: skip
    """The result of one scored run, from its evaluator and what was run on what."""
    from ovbench.datasets import fingerprint

    metrics = evaluator.evaluate()
    return Result({
        "schema_version": SCHEMA_VERSION,
        "ovbench_version": ovbench.__version__,
        "git_commit": git_commit(),
        "created": now(),
        "environment": environment(device),
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
    })


def validate(result: dict, source: str = "<result>") -> dict:
    try:
        error = jsonschema.exceptions.best_match(_validator().iter_errors(result))
        if error is not None:
            raise error
    except jsonschema.ValidationError as exc:
        where = "/".join(map(str, exc.absolute_path)) or "top level"
        raise OvbenchError(f"{source}: not a valid ovbench result ({where}: {exc.message})") from None
    n = len(result["split"]["classes"])
    per_class = [result["metrics"][k] for k in ("per_class_iou", "per_class_acc") if k in result["metrics"]]
    if any(len(values) != n for values in per_class) or len(result["confusion_matrix"]["matrix"]) != n:
        raise OvbenchError(f"{source}: per-class arrays do not match the split's {n} classes")
    return result


def write_result(path: str | os.PathLike, result: dict, *, overwrite: bool = True) -> Path:
    """Validates and writes ``result`` atomically; returns the path written.

    ``overwrite=False`` refuses, in the same step as the write, a file that appeared meanwhile
    (another run into the same ``--out``), so no finished result is ever replaced unasked.
    """
    validate(result)
    try:
        return write_text(path, json.dumps(result, indent=1) + "\n", replace=overwrite)
    except FileExistsError:
        raise OvbenchError(
            f"{path} was written by another run while this one ran and is left as it is; "
            "pass --on-existing overwrite to replace it or choose another --out"
        ) from None


def read_result(path: str | os.PathLike) -> Result:
    from ovbench.textfiles import read_json

    path = Path(path)
    data = read_json(path, "result file", "; was it written by ovbench?")
    if isinstance(data, dict) and data.get("schema_version") not in (None, SCHEMA_VERSION):
        version = data["schema_version"]
        if not isinstance(version, int) or isinstance(version, bool):
            raise OvbenchError(f"{path}: schema_version is {version!r} ({type(version).__name__}), not an integer")
        raise OvbenchError(
            f"{path}: schema_version {version} is not supported by ovbench "
            f"{ovbench.__version__} (reads version {SCHEMA_VERSION}); upgrade ovbench"
        )
    return Result(validate(data, str(path)))
