"""Model registry: name -> ``module:attribute``, imported only when the model is used.

Names come from the ``ovbench.models`` entry-point group of every installed distribution (the
way built-in and third-party models alike are registered) and from :func:`register` calls. A
plugin that fails to import breaks only its own name, with a message naming its distribution.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib.metadata import entry_points

from ovbench.errors import OvbenchError
from ovbench.models import VideoModel

GROUP = "ovbench.models"


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


def available_models() -> dict[str, ModelSpec]:
    specs = {}
    for ep in entry_points(group=GROUP):
        origin = ep.dist.name if getattr(ep, "dist", None) is not None else "an entry point"
        specs[ep.name] = ModelSpec(ep.name, ep.value, origin)
    specs.update(_registered)
    return dict(sorted(specs.items()))


def get_model_class(name: str) -> type[VideoModel]:
    specs = available_models()
    if name not in specs:
        known = ", ".join(specs) or "none installed"
        raise OvbenchError(f"--model {name!r} is unknown; known models: {known}")
    return specs[name].load()
