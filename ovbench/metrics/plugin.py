"""The base of a metric plugin: sum states declared once, so that merging videos, resumed partial results
and processes is adding states (as torchmetrics' ``Metric.add_state`` with ``dist_reduce_fx="sum"``).

The evaluator makes one instance per video (fresh states), feeds it every scored frame, closes it with
:meth:`Metric.end_video`, and adds its states to the run's totals; :meth:`Metric.compute` then turns the
totals into the result's scores. States are integers, exact fractions or integer/float numpy arrays;
integers and fractions keep the scores independent of video order and of how the videos were split across
processes (float sums may differ in the last bits).
"""

from __future__ import annotations

import abc
import copy
from fractions import Fraction
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    from ovbench.protocols import Protocol
    from ovbench.splits import Split

State = int | Fraction | np.ndarray


class Metric(abc.ABC):
    """A streaming metric over (GT, prediction) frames; subclass, declare states in ``__init__``."""

    # Result key -> column title of every score ``compute`` returns (keys must not clash with ovbench's own).
    titles: ClassVar[dict[str, str]] = {}

    def __init__(self, split: Split, protocol: Protocol):
        self.split, self.protocol = split, protocol
        self._defaults: dict[str, State] = {}

    def add_state(self, name: str, default: State) -> None:
        """Declares a sum state; it starts at (a copy of) ``default`` and is reachable as ``self.<name>``."""
        if not isinstance(default, (int, Fraction, np.ndarray)) or isinstance(default, bool):
            raise TypeError(f"state {name!r}: an int, a Fraction or a numpy array, not {type(default).__name__}")
        self._defaults[name] = copy.deepcopy(default)
        setattr(self, name, copy.deepcopy(default))

    def reset(self) -> None:
        for name, default in self._defaults.items():
            setattr(self, name, copy.deepcopy(default))

    @abc.abstractmethod
    def update(self, gt: np.ndarray, pred: np.ndarray) -> None:
        """One scored frame: ``gt`` in evaluation ids after the protocol's mapping (255 = ignore),
        ``pred`` in evaluation ids (255 = no prediction)."""

    def end_video(self) -> None:
        """After the video's last frame: fold per-video quantities into the sums (nothing by default)."""

    @abc.abstractmethod
    def compute(self) -> dict[str, float | None]:
        """The scores (percent where a percentage) from the summed states; None where undefined."""

    def state_dict(self) -> dict[str, State]:
        return {name: getattr(self, name) for name in self._defaults}

    def merge(self, state: dict[str, State]) -> None:
        """Adds another instance's states (a video's, or another process's totals)."""
        for name in self._defaults:
            setattr(self, name, getattr(self, name) + state[name])

    def state_to_json(self) -> dict[str, Any]:
        """States as JSON values: arrays as nested lists, fractions as ``"p/q"`` strings."""
        out = {}
        for name, value in self.state_dict().items():
            out[name] = value.tolist() if isinstance(value, np.ndarray) else str(value) if isinstance(value, Fraction) else value
        return out

    def state_from_json(self, data: Any) -> dict[str, State]:
        """Inverse of :meth:`state_to_json`, shaped like this instance's declared states; ValueError if not."""
        if not isinstance(data, dict) or set(data) != set(self._defaults):
            raise ValueError(f"states {sorted(data) if isinstance(data, dict) else data!r}, expected {sorted(self._defaults)}")
        state: dict[str, State] = {}
        for name, default in self._defaults.items():
            try:
                if isinstance(default, np.ndarray):
                    value = np.asarray(data[name], dtype=default.dtype)
                    if value.shape != default.shape:
                        raise ValueError(f"shape {value.shape}, expected {default.shape}")
                elif isinstance(default, Fraction):
                    value = Fraction(data[name])
                else:
                    if not isinstance(data[name], int) or isinstance(data[name], bool):
                        raise ValueError("not an integer")
                    value = data[name]
            except (TypeError, ValueError, ZeroDivisionError) as exc:
                raise ValueError(f"state {name!r}: {exc}") from None
            state[name] = value
        return state
