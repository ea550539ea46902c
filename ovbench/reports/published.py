"""Published ("reported") numbers: ``results/reported.yaml``, its schema, and which result each row matches."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

import ovbench
from ovbench.errors import OvbenchError
from ovbench.metrics import METRIC_TITLES
from ovbench.textfiles import read_text

# Protocols a published number can carry; "all-classes" = image-level, every class asked for and scored,
# no seen/unseen split (training-free methods); "cross-dataset" = a model trained on one dataset's classes
# (CAT-Seg and SAN on COCO-Stuff) asked for and scored on all classes of another. Both are shown beside
# ovbench's gzsl mIoU column.
REPORTED_PROTOCOLS = {
    "zsl": "ZSL as in the OV2VSS tables: the vocabulary is the unseen names, seen pixels are ignored",
    "gzsl": "GZSL: every class asked for and scored, seen/unseen mIoU and hIoU",
    "all-classes": "image-level mIoU over all classes of a training-free method (no seen/unseen split); "
    "the nearest ovbench number is the gzsl mIoU column, under ovbench's prompts and resizing",
    "cross-dataset": "mIoU over all classes of a dataset the model was not trained on (trained on COCO-Stuff); "
    "the nearest ovbench number is the gzsl mIoU column",
}
NO_SPLIT_PROTOCOLS = ("all-classes", "cross-dataset")  # published protocols with no seen/unseen split
# Benchmarks of published rows that ovbench cannot load yet: their rows show in ``compare --reported``
# and match no result.
REPORTED_ONLY_DATASETS = ("ade20k-847", "pascal-context-459", "ade20k-150", "pascal-context-59",
                          "pascal-voc-20", "pascal-voc-20b")  # fmt: skip
REPORTED_SCHEMA_ID = "ovbench-reported/1"
DEFAULT_REPORTED = Path(ovbench.__file__).resolve().parent.parent / "results" / "reported.yaml"


@dataclass(frozen=True)
class Reported:
    """One published row: a method's numbers on one dataset under one protocol, with its source."""

    method: str
    backbone: str
    dataset: str
    subset: str | None
    split: str | None
    protocol: str
    metrics: dict
    source: str
    note: str = ""
    match: tuple = ()

    def applies_to(self, result: dict) -> bool:
        """Whether this row is the published counterpart of ``result`` (same data, protocol and model)."""
        d = result["dataset"]
        if self.dataset != d["name"] or self.subset not in (None, d["subset"]):
            return False
        if self.split not in (None, result["split"]["name"]):
            return False
        protocol = result["protocol"]
        if not (self.protocol == protocol or (self.protocol in NO_SPLIT_PROTOCOLS and protocol == "gzsl")):
            return False
        name, options = result["model"]["name"], result["model"]["options"]
        return any(
            m["model"] == name and all(options.get(k) == v for k, v in m.get("options", {}).items())
            for m in self.match
        )

    def citation(self) -> str:
        """The footnote of a "Reported mIoU" cell."""
        parts = [f"{self.method}, {self.backbone}: {self.source}"]
        if self.split is None and self.protocol not in NO_SPLIT_PROTOCOLS:
            parts.append("the source's seen/unseen split is not stated and may differ from this table's")
        if self.note:
            parts.append(self.note)
        return "; ".join(parts)


# What a "Reported mIoU" cell means, by the protocol of the published number; printed once per table.
REPORTED_CAVEATS = {
    "zsl": "Reported mIoU{refs}: published ZSL mIoU over the unseen classes (the OV2VSS tables).",
    "gzsl": "Reported mIoU{refs}: published GZSL mIoU over all classes.",
    "all-classes": "Reported mIoU{refs}: training-free methods, image-level mIoU over all classes (no seen/unseen "
    "split); compare with the mIoU column. The sources' prompts, resizing and crops are their own.",
    "cross-dataset": "Reported mIoU{refs}: models trained on COCO-Stuff, mIoU over all classes of this dataset; "
    "compare with the mIoU column.",
}


def _reported_schema() -> dict:
    from ovbench.registry import DATASETS

    text = {"type": "string", "minLength": 1}
    percent = {"type": "number", "minimum": 0, "maximum": 100}
    entry = {
        "type": "object",
        "additionalProperties": False,
        "required": ["method", "backbone", "dataset", "subset", "split", "protocol", "metrics", "source"],
        "properties": {
            "method": text,
            "backbone": text,
            "dataset": {"enum": DATASETS.names() + list(REPORTED_ONLY_DATASETS)},
            "subset": {"type": ["string", "null"]},
            "split": {"type": ["string", "null"]},
            "protocol": {"enum": list(REPORTED_PROTOCOLS)},
            "metrics": {"type": "object", "minProperties": 1, "additionalProperties": False,
                        "properties": {k: percent for k in METRIC_TITLES}},  # fmt: skip
            "source": text,
            "note": {"type": "string"},
            "match": {"type": "array", "items": {
                "type": "object", "additionalProperties": False, "required": ["model"],
                "properties": {"model": text, "options": {"type": "object"}},
            }},  # fmt: skip
        },
    }
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["schema", "entries"],
        "properties": {"schema": {"const": REPORTED_SCHEMA_ID}, "entries": {"type": "array", "items": entry}},
    }


def load_reported(path: str | Path | None = None, *, required: bool = False) -> list[Reported]:
    """Published numbers from ``path`` (default: ``results/reported.yaml`` of this checkout).

    Without ``path`` a missing default file gives an empty list, unless ``required``.
    """
    import jsonschema

    if path is None:
        path = DEFAULT_REPORTED
        if not path.is_file():
            if required:
                raise OvbenchError(f"no published numbers: {path} not found; pass --reported-file PATH")
            return []
    path = Path(path)
    text = read_text(path, "reported-numbers file")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise OvbenchError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    try:
        jsonschema.validate(data, _reported_schema())
    except jsonschema.ValidationError as exc:
        where = list(exc.absolute_path)
        what = "top level"
        if len(where) >= 2 and where[0] == "entries":
            entry = data["entries"][where[1]]
            method = entry.get("method") if isinstance(entry, dict) else None
            what = f"entry {where[1] + 1}" + (f" ({method})" if method else "")
            if len(where) > 2:
                what += ", " + "/".join(map(str, where[2:]))
        elif where:
            what = "/".join(map(str, where))
        raise OvbenchError(f"{path}: {what}: {exc.message}") from None
    return [Reported(**{**e, "match": tuple(e.get("match", ()))}) for e in data["entries"]]
