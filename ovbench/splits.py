"""Seen/unseen class splits, stored as versioned YAML data files in ``splits/``.

A split lists every class of a dataset in evaluation-id order with its display name, the prompt
names given to a text encoder (synonyms allowed) and whether it is seen in training. Results
record the split's name and a hash of its content, so an edited copy never passes for the original.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from ovbench.errors import OvbenchError
from ovbench.textfiles import read_text

SPLIT_DIR = Path(__file__).parent / "splits"
SCHEMA = "ovbench-split/1"


@dataclass(frozen=True)
class ClassInfo:
    id: int
    name: str
    prompts: tuple[str, ...]
    seen: bool


@dataclass(frozen=True)
class Split:
    name: str
    dataset: str
    classes: tuple[ClassInfo, ...]
    hash: str
    description: str = ""
    source: str = ""

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def seen_ids(self) -> tuple[int, ...]:
        return tuple(c.id for c in self.classes if c.seen)

    @property
    def unseen_ids(self) -> tuple[int, ...]:
        return tuple(c.id for c in self.classes if not c.seen)


def available_splits() -> list[str]:
    return sorted(p.stem for p in SPLIT_DIR.glob("*.yaml"))


def load_split(name_or_path: str | Path) -> Split:
    """A shipped split by name (``camvid-7-4``) or any split file by path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = SPLIT_DIR / f"{name_or_path}.yaml"
        if not path.is_file():
            raise OvbenchError(
                f"--split {name_or_path!r} is unknown; shipped splits: {', '.join(available_splits())} "
                "(or pass the path of a split .yaml file)"
            )
    text = read_text(path, "split file")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise OvbenchError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    return parse_split(data, path)


def parse_split(data, path: Path | str = "<split>") -> Split:
    def bad(msg: str) -> OvbenchError:
        return OvbenchError(f"{path}: {msg}")

    if not isinstance(data, dict):
        raise bad("expected a mapping with schema, name, dataset and classes")
    if data.get("schema") != SCHEMA:
        raise bad(f"schema must be {SCHEMA!r}, got {data.get('schema')!r}")
    for key in ("name", "dataset", "classes"):
        if key not in data:
            raise bad(f"missing key {key!r}")
    raw_classes = data["classes"]
    if not isinstance(raw_classes, list) or not raw_classes:
        raise bad("classes must be a non-empty list")
    classes = []
    for position, entry in enumerate(raw_classes):
        if not isinstance(entry, dict) or not {"id", "name", "seen"} <= entry.keys():
            raise bad(f"class #{position} needs id, name and seen")
        if entry["id"] != position:
            raise bad(f"class {entry.get('name')!r} has id {entry['id']}, expected {position} (ids are 0..C-1 in order)")
        if not isinstance(entry["seen"], bool):
            raise bad(f"class {entry['name']!r}: seen must be true or false")
        if not isinstance(entry["name"], str) or not entry["name"].strip():
            raise bad(f"class #{position}: name must be a non-empty string, got {entry['name']!r}")
        prompts = entry.get("prompts", [entry["name"]])
        if isinstance(prompts, str):
            prompts = [prompts]
        # A mapping or a number would iterate into something that looks like names; only a list is one.
        if not isinstance(prompts, list) or not prompts or not all(isinstance(p, str) and p.strip() for p in prompts):
            raise bad(f"class {entry['name']!r}: prompts must be a list of non-empty names, got {prompts!r}")
        classes.append(ClassInfo(position, str(entry["name"]), tuple(prompts), entry["seen"]))
    if len(classes) > 255:
        raise bad("at most 255 classes (ids 0..254) are supported: 255 is the ignore value")
    if not any(c.seen for c in classes) or all(c.seen for c in classes):
        raise bad("a split needs at least one seen and one unseen class")
    canonical = {
        "name": data["name"],
        "dataset": data["dataset"],
        "classes": [[c.id, c.name, list(c.prompts), c.seen] for c in classes],
    }
    digest = hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()[:16]
    return Split(
        name=str(data["name"]),
        dataset=str(data["dataset"]),
        classes=tuple(classes),
        hash=digest,
        description=str(data.get("description", "")),
        source=str(data.get("source", "")),
    )
