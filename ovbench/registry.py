"""Model registry: name -> ``module:attribute``, imported only when the model is used.

Names come from the ``ovbench.models`` entry-point group of every installed distribution (the
way built-in and third-party models alike are registered), from ``$OVBENCH_EXTRA_MODELS``
(``name=module:Class`` entries separated by commas, for a model in a module on ``PYTHONPATH``
that is not packaged; it reaches every process ``torchrun`` starts) and from :func:`register`
calls. A plugin that fails to import breaks only its own name, with a message naming its origin.
"""

from __future__ import annotations

import importlib
import os
import re
from dataclasses import dataclass
from importlib.metadata import entry_points

from ovbench.errors import OvbenchError
from ovbench.models import VideoModel

GROUP = "ovbench.models"
EXTRA_ENV = "OVBENCH_EXTRA_MODELS"
_EXTRA_ENTRY = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)=([A-Za-z_][\w.]*:[A-Za-z_]\w*)")


@dataclass(frozen=True)
class ModelSpec:
    name: str
    target: str  # "package.module:Attribute"
    origin: str  # distribution that declared it, or "register()"

    def load(self) -> type[VideoModel]:
        module_name, _, attr = self.target.partition(":")
        try:
            module = importlib.import_module(module_name)
            factory = getattr(module, attr) if attr else module
        except Exception as exc:  # a broken plugin must not take ovbench down
            raise OvbenchError(
                f"model {self.name!r} ({self.target}, from {self.origin}) failed to load: "
                f"{type(exc).__name__}: {exc}; reinstall or fix that package"
            ) from None
        if not (isinstance(factory, type) and issubclass(factory, VideoModel)):
            raise OvbenchError(
                f"model {self.name!r}: {self.target} is not a subclass of ovbench.models.VideoModel"
            )
        return factory


_registered: dict[str, ModelSpec] = {}


def register(name: str, target: str) -> None:
    """Registers a model in this process (tests, notebooks); entry points are the durable way."""
    _registered[name] = ModelSpec(name, target, "register()")


def _extra_models() -> dict[str, ModelSpec]:
    specs = {}
    for entry in filter(None, (e.strip() for e in os.environ.get(EXTRA_ENV, "").split(","))):
        match = _EXTRA_ENTRY.fullmatch(entry)
        if match is None:
            raise OvbenchError(f"${EXTRA_ENV}: {entry!r} is not name=module:Class (entries are separated by commas)")
        specs[match[1]] = ModelSpec(match[1], match[2], f"${EXTRA_ENV}")
    return specs


def available_models() -> dict[str, ModelSpec]:
    specs = {}
    for ep in entry_points(group=GROUP):
        origin = ep.dist.name if getattr(ep, "dist", None) is not None else "an entry point"
        specs[ep.name] = ModelSpec(ep.name, ep.value, origin)
    specs.update(_extra_models())
    specs.update(_registered)
    return dict(sorted(specs.items()))


def get_model_class(name: str) -> type[VideoModel]:
    specs = available_models()
    if name not in specs:
        known = ", ".join(specs) or "none installed"
        raise OvbenchError(f"--model {name!r} is unknown; known models: {known}")
    return specs[name].load()
