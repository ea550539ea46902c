"""The model plugin interface: what a video segmentation model gives ovbench and gets from it.

A model is a subclass of :class:`VideoModel` that declares its options and, given a whole video
(random access to decoded frames) and a vocabulary, yields one prediction per scored frame.
Built-in models and third-party ones are registered the same way, through the ``ovbench.models``
entry-point group (see README, "Writing a model plugin").
"""

from __future__ import annotations

import abc
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ovbench.datasets.base import Video
from ovbench.errors import OvbenchError

NO_PREDICTION = 255


@dataclass(frozen=True)
class Option:
    """A model option; ``affects_score=False`` marks speed-only knobs (batch size, workers).

    ``dataset_defaults`` overrides ``default`` per dataset name, so a model can carry each
    dataset's standard protocol (e.g. a larger input size for Cityscapes) as data. ``minimum``
    (inclusive), ``above`` (exclusive) and ``maximum`` (inclusive) bound a number, so a zero scale or a negative cache size
    is refused instead of producing a silently wrong result; a float option is always finite.
    """

    name: str
    default: Any
    help: str = ""
    choices: tuple | None = None
    affects_score: bool = True
    type: type | None = field(default=None)
    dataset_defaults: Mapping[str, Any] = field(default_factory=dict)
    minimum: float | None = None
    above: float | None = None
    maximum: float | None = None  # inclusive

    def default_for(self, dataset: str | None) -> Any:
        return self.dataset_defaults.get(dataset, self.default) if dataset else self.default

    @property
    def value_type(self) -> type:
        if self.type is not None:
            return self.type
        return type(self.default) if self.default is not None else str

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def convert(self, text: str) -> Any:
        kind = self.value_type
        try:
            value = kind(text) if kind is not bool else _parse_bool(text)
        except ValueError:
            raise OvbenchError(f"{self.flag}: {text!r} is not a valid {kind.__name__}") from None
        if self.choices is not None and value not in self.choices:
            raise OvbenchError(f"{self.flag}: {text!r} is not one of {', '.join(map(str, self.choices))}")
        return self.check(value)

    def check(self, value: Any) -> Any:
        """``value`` if it is within this option's bounds, else one clear error naming the flag."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return value
        if isinstance(value, float) and not math.isfinite(value):
            raise OvbenchError(f"{self.flag}: {value} is not a finite number")
        if self.minimum is not None and value < self.minimum:
            raise OvbenchError(f"{self.flag} must be at least {self.minimum:g}, got {value}")
        if self.above is not None and value <= self.above:
            raise OvbenchError(f"{self.flag} must be greater than {self.above:g}, got {value}")
        if self.maximum is not None and value > self.maximum:
            raise OvbenchError(f"{self.flag} must be at most {self.maximum}, got {value}")
        return value


def _parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(text)


@dataclass(frozen=True)
class VocabularyEntry:
    """One class the model is asked to segment: its display name and the prompt names (synonyms)."""

    name: str
    prompts: tuple[str, ...]


class VideoModel(abc.ABC):
    """Base class of every model ovbench can run.

    Subclasses declare ``options`` and receive their values as keyword arguments, together
    with ``device`` (``"cpu"`` or ``"cuda"``) and ``dataset`` (the dataset's name, which picks
    per-dataset option defaults). ``predict_video`` yields ``(frame index, prediction)``
    for every index in ``video.scored_indices``, in increasing order; a prediction is an H×W
    integer array of vocabulary indices (0..V−1), 255 meaning "no prediction".
    """

    options: ClassVar[tuple[Option, ...]] = ()

    def __init__(self, device: str = "cpu", dataset: str | None = None, **options: Any):
        self.device = device
        self.dataset = dataset
        self.config = resolve_options(type(self).options, options, dataset)

    @abc.abstractmethod
    def predict_video(
        self, video: Video, vocabulary: Sequence[VocabularyEntry]
    ) -> Iterator[tuple[int, np.ndarray]]: ...

    @property
    def weights(self) -> str | None:
        """An identifier of the weights in use (a tag, a file hash), recorded in results."""
        return None

    @property
    def random_weights(self) -> bool:
        """True when any weight the predictions depend on is random (untrained): a smoke run, whose
        numbers mean nothing; recorded in the result and flagged in every table that shows it."""
        return False

    def describe(self) -> dict[str, Any]:
        """Every setting that can change a number, for the result file; extend to add derived ones."""
        score_options = {o.name for o in type(self).options if o.affects_score}
        return {k: v for k, v in self.config.items() if k in score_options}


def resolve_options(declared: Sequence[Option], given: dict[str, Any], dataset: str | None = None) -> dict[str, Any]:
    """Declared defaults (for ``dataset``) overridden by ``given``, each within its bounds; an unknown name is an error."""
    known = {o.name: o for o in declared}
    unknown = sorted(set(given) - set(known))
    if unknown:
        flags = ", ".join(o.flag for o in declared) or "none"
        raise OvbenchError(f"unknown model option(s) {', '.join(unknown)}; this model's options: {flags}")
    return {name: option.check(given.get(name, option.default_for(dataset))) for name, option in known.items()}


def parse_option_args(declared: Sequence[Option], args: Sequence[str]) -> dict[str, Any]:
    """Model options given on the command line: ``--name value``, ``--name=value``, ``--[no-]flag``."""
    by_flag = {o.flag: o for o in declared}
    values: dict[str, Any] = {}
    args = list(args)
    while args:
        arg = args.pop(0)
        flag, eq, text = arg.partition("=")
        option = by_flag.get(flag)
        if option is None and flag.startswith("--no-") and not eq:
            positive = by_flag.get("--" + flag[5:])
            if positive is not None and positive.value_type is bool:
                values[positive.name] = False
                continue
        if option is None:
            listed = ", ".join(by_flag) or "none"
            raise OvbenchError(f"unknown option {flag!r} for this model; its options: {listed}")
        if option.value_type is bool and not eq:
            values[option.name] = True
            continue
        if not eq:
            if not args:
                raise OvbenchError(f"{flag} needs a value")
            text = args.pop(0)
        values[option.name] = option.convert(text)
    return values
