"""Per-video partial results, so an interrupted ``ovbench run`` resumes where it stopped.

While a run writes ``--out R.json`` it keeps ``R.json.partial/``:

* ``run.json``: the run's identity (model name, every score-relevant option, weights, device type,
  dataset, subset, split name and hash, protocol, VC window sizes, ovbench version) and its key, a
  hash of that identity;
* ``video-<name>.json``: one file per finished video, written atomically (temporary file, fsync,
  rename) right after the video's last frame is scored. It holds the run key, the video's
  fingerprint (its name and every frame name, scored or not), the video's :class:`Tally` (nonzero
  pixel-pair counts, exact VC window sums and counts, frame count), the model's description after
  the video, and a SHA-256 checksum of all of that.

Killing the run at any moment therefore loses at most the videos in progress. ``--resume`` checks
every file: a corrupt or truncated one (bad JSON, wrong checksum, malformed tally) is redone with one
warning; one from another configuration or of a changed video is redone with a note; a folder whose
``run.json`` names another configuration is refused with the differences listed. Without
``--resume`` a folder holding finished videos is refused (``--overwrite`` discards it; one holding
none is simply reused). The folder is removed once the result file is written, unless
``--keep-partials``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ovbench
from ovbench.atomic import atomic_path
from ovbench.cache import cache_key
from ovbench.datasets import VideoRecord
from ovbench.errors import OvbenchError
from ovbench.evaluator import Tally
from ovbench.run.naming import canonical, file_stem, video_fingerprint

FORMAT = "ovbench-partial/1"
RUN_FILE = "run.json"


def partial_dir(out: Path) -> Path:
    """Where the partial results of ``--out R.json`` live: ``R.json.partial/`` beside it."""
    out = Path(out)
    return out.with_name(out.name + ".partial")


def run_identity(model_name: str, model_info: Mapping, device: str, dataset, split, protocol, window_sizes,
                 metric_names=()) -> dict:  # fmt: skip
    """Everything that must be equal for two runs' per-video results to be interchangeable."""
    identity = {
        "format": FORMAT,
        "ovbench": ovbench.__version__,
        "model": model_name,
        "options": dict(model_info["options"]),
        "weights": model_info["weights"],
        "device": device.split(":")[0],
        "dataset": dataset.name,
        "subset": dataset.subset,
        "split": split.name,
        "split_hash": split.hash,
        "protocol": protocol.name,
        "window_sizes": list(window_sizes),
    }
    if metric_names:  # absent without metric plugins, so folders written before keep their key
        identity["metrics"] = list(metric_names)
    return identity


def _checksum(payload: Mapping) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _differing(there: Any, now: Any) -> tuple[Any, Any]:
    """The parts of two identity fields that differ: for two mappings, only their differing keys."""
    if isinstance(there, dict) and isinstance(now, dict):
        keys = sorted(k for k in set(there) | set(now) if there.get(k) != now.get(k))
        return {k: there.get(k) for k in keys}, {k: now.get(k) for k in keys}
    return there, now


@dataclass
class Saved:
    """A finished video read back from its partial file."""

    tally: Tally
    model: dict


@dataclass
class PartialStore:
    """The partial-results folder of one run, as seen by one rank.

    Create it with the folder and the user's choices; :meth:`open` validates the folder against the
    run's identity (on every rank: with several machines each may have its own folder), then
    :meth:`load` / :meth:`save` read and write one video each; :meth:`remove` ends it.
    """

    root: Path
    resume: bool = False
    overwrite: bool = False
    identity: dict = field(default_factory=dict)
    key: str = ""
    notes: list[str] = field(default_factory=list)  # said once, by rank 0
    problems: list[str] = field(default_factory=list)  # corrupt files, redone
    stale: list[str] = field(default_factory=list)  # files of another configuration or video, redone

    def open(self, identity: dict, *, tidy: bool) -> None:
        """Applies the folder policy; ``tidy`` (one rank per machine) may delete files."""
        self.identity = canonical(identity)
        self.key = cache_key(**self.identity)
        root = self.root
        if root.exists() and not root.is_dir():
            raise OvbenchError(f"{root} exists and is not a folder; remove it (partial results of --out go there)")
        if root.is_dir() and not self.resume:
            done = len(list(root.glob("video-*.json")))
            if done and not self.overwrite:
                raise OvbenchError(
                    f"{root} holds partial results of an unfinished run ({done} video(s) done); pass --on-existing "
                    "resume to continue it, or --on-existing overwrite to discard them and start over"
                )
            if tidy:
                shutil.rmtree(root, ignore_errors=True)
                if root.exists():
                    raise OvbenchError(f"{root}: could not remove the old partial results; remove the folder by hand")
        if self.resume and root.is_dir():
            self._check_run_file()
            if tidy:  # temporary files of writes that a kill cut short
                for stray in root.glob(".*.part"):
                    stray.unlink(missing_ok=True)
        elif self.resume:
            self.notes.append(f"--resume: no partial results at {root}; starting from the first video")
        if tidy:
            self._write_run_file()

    def _check_run_file(self) -> None:
        path = self.root / RUN_FILE
        try:
            saved = json.loads(path.read_text())
            saved_identity = saved["identity"]
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError):
            self.notes.append(f"{path} was unreadable and is rewritten; each video's own file is still checked")
            return
        if saved.get("key") == self.key:
            return
        if not isinstance(saved_identity, dict):
            return
        differences = [
            f"{name} {there!r} there, {now!r} now"
            for name in sorted(set(saved_identity) | set(self.identity))
            if saved_identity.get(name) != self.identity.get(name)
            for there, now in [_differing(saved_identity.get(name), self.identity.get(name))]
        ]
        shown = "; ".join(differences[:4]) + ("; …" if len(differences) > 4 else "")
        raise OvbenchError(
            f"{self.root} holds partial results of a different run ({shown or 'another configuration'}); rerun "
            "with the same options to resume it, or pass --on-existing overwrite to discard it"
        )

    def _write_run_file(self) -> None:
        text = json.dumps({"format": FORMAT, "key": self.key, "identity": self.identity}, indent=1, sort_keys=True)
        path = self.root / RUN_FILE
        try:
            if path.is_file() and path.read_text() == text + "\n":
                return
            with atomic_path(path, fsync=True) as tmp:
                tmp.write_text(text + "\n")
        except OSError as exc:
            raise OvbenchError(f"{self.root}: cannot write partial results there ({exc.strerror or exc})") from None

    def path(self, record: VideoRecord) -> Path:
        return self.root / f"video-{file_stem(record.name)}.json"

    def load(self, record: VideoRecord, window_sizes, metric_names=()) -> Saved | None:
        """The video's saved result if ``--resume`` and its file is valid for this run; else None."""
        if not self.resume:
            return None
        path = self.path(record)
        try:
            data = json.loads(path.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            self.problems.append(f"{path.name} ({type(exc).__name__})")
            return None
        body = {k: v for k, v in data.items() if k != "checksum"} if isinstance(data, dict) else None
        if body is None or data.get("checksum") != _checksum(body):
            self.problems.append(f"{path.name} (checksum mismatch)")
            return None
        if data.get("format") != FORMAT or data.get("run") != self.key:
            self.stale.append(f"{path.name} (another configuration)")
            return None
        if data.get("video") != record.name or data.get("fingerprint") != video_fingerprint(record):
            self.stale.append(f"{path.name} (the video's frame list changed)")
            return None
        try:
            tally = Tally.from_json(data["tally"], window_sizes, metric_names)
            model = data["model"]
            if tally.videos != 1 or tally.frames != len(record.scored_indices) or not isinstance(model, dict):
                raise ValueError("not one whole video")
        except (KeyError, ValueError) as exc:
            self.problems.append(f"{path.name} ({exc})")
            return None
        return Saved(tally, model)

    def save(self, record: VideoRecord, tally: Tally, model: Mapping) -> None:
        """Writes one finished video's file atomically (it appears whole or not at all)."""
        payload = {
            "format": FORMAT,
            "run": self.key,
            "video": record.name,
            "fingerprint": video_fingerprint(record),
            "tally": tally.to_json(),
            "model": canonical(model),
        }
        payload["checksum"] = _checksum(payload)
        try:
            with atomic_path(self.path(record), fsync=True) as tmp:
                tmp.write_text(json.dumps(payload, sort_keys=True, separators=(",", ":")) + "\n")
        except OSError as exc:
            raise OvbenchError(f"{self.root}: cannot write partial results there ({exc.strerror or exc})") from None

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def remove_if_empty(self) -> None:
        """After a failed run: a folder holding no finished video is of no use for resuming."""
        if self.root.is_dir() and not any(self.root.glob("video-*.json")):
            self.remove()


def report_resumed(partials: PartialStore, gathered, total: int, say) -> None:
    """Rank 0 tells the user what resuming found, once for all ranks.

    ``gathered`` holds each rank's (videos loaded, notes, problems, stale files).
    """
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
