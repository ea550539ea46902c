"""One registry per kind of plugin: models, datasets, protocols, metrics, report formats, figures.

A :class:`Registry` maps a name to a ``module:attribute`` target that is imported only when the name
is used, so a broken or heavy plugin breaks only its own name. Names come from, in increasing
precedence: the harness's built-ins (``builtins``), the registry's entry-point group of every
installed distribution (the way third-party plugins register), an environment variable of
``name=module:Attr`` entries separated by commas (reaches every process ``torchrun`` starts), and
:meth:`Registry.register` calls (tests, notebooks, a plugin's own ``__init__``).

Modelled on lm-evaluation-harness's ``Registry[T]``: one class, one instance per kind.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

from ovbench.errors import OvbenchError

T = TypeVar("T")
_EXTRA_ENTRY = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)=([A-Za-z_][\w.]*:[A-Za-z_][\w.]*)")


@dataclass(frozen=True)
class Spec:
    """Where a registered thing lives and who declared it."""

    name: str
    target: str  # "package.module:Attribute", or "<object>" for an object registered directly
    origin: str  # distribution that declared it, "built-in", "$ENV" or "register()"
    obj: Any = None  # set when registered as an object rather than a target string


class Registry(Generic[T]):
    """Names of one kind of plugin, resolved lazily and checked by ``accepts`` when loaded."""

    def __init__(
        self, kind: str, group: str, *, flag: str, builtins: Mapping[str, str] | None = None,
        env: str | None = None, accepts: Callable[[Any], bool] | None = None, expected: str = "",
        attr: str = "Attr",
    ):  # fmt: skip
        self.kind = kind  # "model", "dataset", ... (for messages)
        self.group = group  # entry-point group, "ovbench.models"
        self.flag = flag  # the option that names one, "--model" (for messages)
        self.env = env
        self._builtins = dict(builtins or {})
        self._accepts = accepts
        self._expected = expected
        self._attr = attr  # what an env entry names after the colon ("Class"), for messages
        self._registered: dict[str, Spec] = {}
        self._loaded: dict[tuple[str, str], T] = {}  # by (name, target): an env entry may change target

    def register(self, name: str, target: str | T) -> None:
        """Registers ``name`` in this process, as ``"module:Attr"`` or as the object itself."""
        if isinstance(target, str):
            self._registered[name] = Spec(name, target, "register()")
        else:
            self._registered[name] = Spec(name, "<object>", "register()", target)
        self._forget(name)

    def unregister(self, name: str) -> None:
        self._registered.pop(name, None)
        self._forget(name)

    def _forget(self, name: str) -> None:
        for key in [k for k in self._loaded if k[0] == name]:
            del self._loaded[key]

    def specs(self) -> dict[str, Spec]:
        """Every name known now, sorted, with where it comes from."""
        specs = {name: Spec(name, target, "built-in") for name, target in self._builtins.items()}
        specs.update(_installed(self.group))
        specs.update(self._from_env())
        specs.update(self._registered)
        return dict(sorted(specs.items()))

    def names(self) -> list[str]:
        return list(self.specs())

    def __contains__(self, name: object) -> bool:
        return name in self.specs()

    def get(self, name: str) -> T:
        """The thing registered as ``name``; an unknown name or a broken plugin is one clear error."""
        specs = self.specs()
        if name not in specs:
            known = ", ".join(specs) or "none installed"
            raise OvbenchError(f"{self.flag} {name!r} is unknown; known {self.kind}s: {known}")
        return self.load(specs[name])

    def load(self, spec: Spec) -> T:
        cached = self._loaded.get((spec.name, spec.target))
        if cached is not None and spec.origin != "register()":
            return cached
        if spec.obj is not None:
            thing = spec.obj
        else:
            thing = _import(spec, self.kind)
        if self._accepts is not None and not self._accepts(thing):
            raise OvbenchError(f"{self.kind} {spec.name!r}: {spec.target} is not {self._expected}")
        self._loaded[spec.name, spec.target] = thing
        return thing

    def named(self, name: str) -> T:
        """Like :meth:`get`, for things that carry their own ``name`` (protocols, formats, figures): one
        registered under another name than its own is an error, since results record the own name."""
        thing = self.get(name)
        if thing.name != name:
            raise OvbenchError(
                f"{self.kind} {name!r} is registered to a {type(thing).__name__} named {thing.name!r}; "
                "register it under its own name or rename it"
            )
        return thing

    def items(self) -> list[tuple[str, T]]:
        """Every (name, thing) that loads; broken plugins are left out (``specs`` still lists them)."""
        loaded = []
        for spec in self.specs().values():
            try:
                loaded.append((spec.name, self.load(spec)))
            except OvbenchError:
                continue
        return loaded

    def _from_env(self) -> dict[str, Spec]:
        if not self.env:
            return {}
        specs = {}
        for entry in filter(None, (e.strip() for e in os.environ.get(self.env, "").split(","))):
            match = _EXTRA_ENTRY.fullmatch(entry)
            if match is None:
                raise OvbenchError(
                    f"${self.env}: {entry!r} is not name=module:{self._attr} (entries are separated by commas)"
                )
            specs[match[1]] = Spec(match[1], match[2], f"${self.env}")
        return specs


@cache
def _installed(group: str) -> dict[str, Spec]:
    """The entry points of ``group``, scanned once per process (a scan costs ~15 ms; call
    ``_installed.cache_clear()`` after installing a plugin into a running interpreter)."""
    specs = {}
    for ep in entry_points(group=group):
        origin = ep.dist.name if getattr(ep, "dist", None) is not None else "an entry point"
        specs[ep.name] = Spec(ep.name, ep.value, origin)
    return specs


def _import(spec: Spec, kind: str) -> Any:
    module_name, _, attr = spec.target.partition(":")
    try:
        thing = importlib.import_module(module_name)
        for part in filter(None, attr.split(".")):
            thing = getattr(thing, part)
    except Exception as exc:  # a broken plugin must not take ovbench down
        raise OvbenchError(
            f"{kind} {spec.name!r} ({spec.target}, from {spec.origin}) failed to load: "
            f"{type(exc).__name__}: {exc}; reinstall or fix that package"
        ) from None
    return thing


# --------------------------------------------------------------------------- models


def _is_model_class(thing: Any) -> bool:
    from ovbench.models import VideoModel

    return isinstance(thing, type) and issubclass(thing, VideoModel)


MODELS: Registry[type] = Registry(
    "model", "ovbench.models", flag="--model", env="OVBENCH_EXTRA_MODELS",
    accepts=_is_model_class, expected="a subclass of ovbench.models.VideoModel", attr="Class",
)  # fmt: skip

# --------------------------------------------------------------------------- datasets


def _is_dataset_class(thing: Any) -> bool:
    from ovbench.datasets.base import Dataset

    return isinstance(thing, type) and issubclass(thing, Dataset)


DATASETS: Registry[type] = Registry(
    "dataset", "ovbench.datasets", flag="--dataset", env="OVBENCH_EXTRA_DATASETS",
    builtins={"vspw": "ovbench.datasets.vspw:VSPW", "cityscapes": "ovbench.datasets.cityscapes:Cityscapes",
              "camvid": "ovbench.datasets.camvid:CamVid"},
    accepts=_is_dataset_class, expected="a subclass of ovbench.datasets.Dataset", attr="Class",
)  # fmt: skip

# --------------------------------------------------------------------------- protocols


def _instance_of(target: str) -> Callable[[Any], bool]:
    """``isinstance(thing, module:Class)``, importing the class only when a plugin is checked."""

    def accepts(thing: Any) -> bool:
        module, _, name = target.partition(":")
        return isinstance(thing, getattr(importlib.import_module(module), name))

    return accepts


PROTOCOLS: Registry = Registry(
    "protocol", "ovbench.protocols", flag="--protocol", env="OVBENCH_EXTRA_PROTOCOLS",
    builtins={"gzsl": "ovbench.protocols:GZSL", "zsl": "ovbench.protocols:ZSL"},
    accepts=_instance_of("ovbench.protocols:Protocol"), expected="an ovbench.protocols.Protocol instance", attr="PROTOCOL",
)  # fmt: skip

# --------------------------------------------------------------------------- metrics


def _is_metric_class(thing: Any) -> bool:
    from ovbench.metrics.plugin import Metric

    return isinstance(thing, type) and issubclass(thing, Metric) and not inspect.isabstract(thing)


METRICS: Registry[type] = Registry(
    "metric", "ovbench.metrics", flag="metric", env="OVBENCH_EXTRA_METRICS",
    accepts=_is_metric_class, expected="a concrete subclass of ovbench.metrics.plugin.Metric", attr="Class",
)  # fmt: skip

# --------------------------------------------------------------------------- report formats


REPORT_FORMATS: Registry = Registry(
    "report format", "ovbench.report_formats", flag="--format", env="OVBENCH_EXTRA_REPORT_FORMATS",
    builtins={name: f"ovbench.reports.formats:{name.upper()}" for name in ("markdown", "csv", "latex", "html")},
    accepts=_instance_of("ovbench.reports.formats:ReportFormat"), expected="an ovbench.reports.formats.ReportFormat instance", attr="FORMAT",
)  # fmt: skip

# --------------------------------------------------------------------------- figures


FIGURES: Registry = Registry(
    "figure", "ovbench.figures", flag="ovbench plot", env="OVBENCH_EXTRA_FIGURES",
    builtins={name: f"ovbench.plots.{name.replace('-', '_')}:FIGURE" for name in ("ablation", "seen-unseen", "per-class", "mvc")},
    accepts=_instance_of("ovbench.plots.figure:ResultFigure"), expected="an ovbench.plots.figure.ResultFigure instance", attr="FIGURE",
)  # fmt: skip

# The model registry's earlier functional interface, still used by the CLI and tests.


@contextlib.contextmanager
def isolated():
    """Registrations made inside are undone on exit, in every registry (each test runs in one)."""
    saved = {id(r): (r, dict(r._registered)) for r in _ALL}
    try:
        yield
    finally:
        for registry, registered in saved.values():
            for name in set(registry._registered) | set(registered):
                registry._forget(name)
            registry._registered = registered


_ALL = (MODELS, DATASETS, PROTOCOLS, METRICS, REPORT_FORMATS, FIGURES)


def register(name: str, target: str) -> None:
    """Registers a model in this process (tests, notebooks); entry points are the durable way."""
    MODELS.register(name, target)


def available_models() -> dict[str, Spec]:
    return MODELS.specs()


def get_model_class(name: str) -> type:
    return MODELS.get(name)

