"""Several processes, one result: sharding videos over ``torchrun`` ranks and agreeing on errors.

``torchrun --nproc_per_node N -m ovbench run ...`` starts N copies of ``ovbench run`` with
``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK`` (and the rendezvous address) in their environment.
:func:`process_group` joins them into a ``torch.distributed`` process group when ``WORLD_SIZE`` > 1
and otherwise gives a one-process :class:`Dist` whose collectives are no-ops, so the runner has one
code path.

Only small CPU objects travel between processes (each rank's :class:`~ovbench.evaluator.Tally`:
a 256×256 int64 count table and a few exact fractions, once per run), so the backend is ``gloo`` on
CPU and on GPU machines alike: NCCL would buy nothing for that and its watchdog would abort ranks
that wait longer for a slower one than its timeout. ``OVBENCH_DIST_BACKEND`` overrides the choice,
``OVBENCH_DIST_TIMEOUT`` (seconds, default 24 h) bounds how long a rank that finished its share
waits for the others.

Errors: every step that can fail on some ranks and not others runs through :meth:`Dist.agree`, which
exchanges each rank's outcome, so that all ranks stop together (none is left waiting in a
collective) and the first failure is reported once, by rank 0, as ``error: rank K: ...``. Other
ranks then exit with the same code without printing (:class:`ReportedByRankZero`). A rank that
fails in the middle of its videos also sets a flag in the rendezvous store that the others check
after each video, so they stop early instead of finishing their shares first.
"""

from __future__ import annotations

import contextlib
import datetime
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ovbench.errors import OvbenchError

T = TypeVar("T")

BACKEND_ENV = "OVBENCH_DIST_BACKEND"
TIMEOUT_ENV = "OVBENCH_DIST_TIMEOUT"
DEFAULT_TIMEOUT_S = 24 * 3600
_FAILED_KEY = "ovbench/failed"


class ReportedByRankZero(SystemExit):
    """Raised on ranks other than 0 when rank 0 reports the error: exits quietly with its code."""


class PeerFailed(Exception):
    """Raised inside a rank's work when another rank has already failed."""


@dataclass
class Dist:
    """This process's place among the ranks; a default instance is a single process."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: str = "cpu"
    _store: Any = field(default=None, repr=False)

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def is_local_main(self) -> bool:
        """The first rank on this machine (the one that tidies this machine's files)."""
        return self.local_rank == 0

    @property
    def label(self) -> str:
        return f"rank {self.rank}/{self.world_size}" if self.enabled else ""

    # ----------------------------------------------------------------------------------- collectives

    def all_gather(self, obj: T) -> list[T]:
        if not self.enabled:
            return [obj]
        import torch.distributed as td

        out: list = [None] * self.world_size
        td.all_gather_object(out, obj)
        return out

    def gather(self, obj: T) -> list[T] | None:
        """Every rank's ``obj`` on rank 0 (in rank order); None elsewhere."""
        if not self.enabled:
            return [obj]
        import torch.distributed as td

        out: list | None = [None] * self.world_size if self.is_main else None
        td.gather_object(obj, out, dst=0)
        return out

    # ----------------------------------------------------------------------------------- failures

    def announce_failure(self) -> None:
        if self._store is not None:
            with contextlib.suppress(Exception):
                self._store.set(_FAILED_KEY, str(self.rank))

    def peer_failed(self) -> bool:
        """Whether another rank has announced a failure (cheap; call between videos)."""
        if self._store is None:
            return False
        try:
            return bool(self._store.check([_FAILED_KEY]))
        except Exception:  # a store that cannot answer: the final exchange still catches failures
            return False

    def check_peers(self) -> None:
        if self.peer_failed():
            raise PeerFailed

    def agree(self, fn: Callable[[], T]) -> T:
        """Runs ``fn`` on every rank; if it fails on any, every rank stops.

        The failing rank's own exception is re-raised on that rank if it is rank 0 or a bug (so its
        traceback is shown); rank 0 reports another rank's :class:`OvbenchError` as its own, prefixed
        with ``rank K:``; every other rank exits quietly with :class:`ReportedByRankZero`.
        """
        error: BaseException | None = None
        outcome: tuple[str, str] | None = None
        try:
            value = fn()
        except PeerFailed as exc:
            error, outcome = exc, ("peer", "")
        except OvbenchError as exc:
            error, outcome = exc, ("user", str(exc))
            self.announce_failure()
        except Exception as exc:
            error, outcome = exc, ("bug", f"{type(exc).__name__}: {exc}")
            self.announce_failure()
        if not self.enabled:
            if error is not None:
                raise error
            return value
        outcomes = self.all_gather(outcome)
        failures = [(rank, o) for rank, o in enumerate(outcomes) if o is not None and o[0] != "peer"]
        if not failures:
            if error is not None:  # "peer" without a failure to show: cannot happen, but never hang
                raise OvbenchError(f"rank {self.rank}: stopped because another rank failed")
            return value
        first, (kind, message) = failures[0]
        if kind == "bug" and first == self.rank:
            raise error  # a bug keeps its traceback, on the rank where it happened
        if self.is_main:
            if first == 0 and kind == "user":
                raise error
            detail = " (traceback above)" if kind == "bug" else ""
            raise OvbenchError(f"rank {first}: {message}{detail}") from None
        raise ReportedByRankZero(2)


def _env_int(name: str, default: int | None = None) -> int:
    value = os.environ.get(name)
    if value is None:
        if default is None:
            raise OvbenchError(f"${name} is not set; start several processes with torchrun, which sets it")
        return default
    try:
        return int(value)
    except ValueError:
        raise OvbenchError(f"${name}={value!r} is not an integer") from None


def rank_device(device: str, local_rank: int, world_size: int) -> str:
    """The device one rank uses: ``cuda`` becomes ``cuda:LOCAL_RANK`` under torchrun."""
    if world_size <= 1 or device == "cpu":
        return device
    if device != "cuda":
        raise OvbenchError(
            f"--device {device}: under torchrun pass --device cuda (or cpu); each process takes the GPU of its "
            "LOCAL_RANK"
        )
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if local_rank >= count:
        raise OvbenchError(
            f"LOCAL_RANK {local_rank} has no GPU: this machine has {count}; start at most {count} processes per "
            "node (torchrun --nproc_per_node)"
        )
    return f"cuda:{local_rank}"


@contextlib.contextmanager
def process_group(device: str = "cpu") -> Iterator[Dist]:
    """A :class:`Dist` for this process: a process group when started by torchrun with WORLD_SIZE > 1."""
    world_size = _env_int("WORLD_SIZE", 1)
    if world_size <= 1:
        yield Dist(device=device)
        return
    rank, local_rank = _env_int("RANK"), _env_int("LOCAL_RANK", 0)
    if not 0 <= rank < world_size:
        raise OvbenchError(f"$RANK={rank} is outside 0..{world_size - 1} ($WORLD_SIZE={world_size})")
    import torch
    import torch.distributed as td

    if not td.is_available():
        raise OvbenchError("this PyTorch build has no torch.distributed; run one process, without torchrun")
    backend = os.environ.get(BACKEND_ENV, "gloo")
    timeout = _env_int(TIMEOUT_ENV, DEFAULT_TIMEOUT_S)
    device = rank_device(device, local_rank, world_size)
    if device.startswith("cuda"):
        torch.cuda.set_device(torch.device(device))
    try:
        td.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout))
    except (RuntimeError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise OvbenchError(f"could not join the torch.distributed process group ({backend}): {reason}") from None
    store = None
    with contextlib.suppress(Exception):
        store = td.distributed_c10d._get_default_store()
    try:
        yield Dist(rank=rank, world_size=world_size, local_rank=local_rank, device=device, _store=store)
    finally:
        with contextlib.suppress(Exception):
            td.destroy_process_group()


def shard(costs: Sequence[int], rank: int, world_size: int) -> list[int]:
    """The positions of the videos that ``rank`` scores, in video order.

    Deterministic "longest first" balancing: videos sorted by cost (scored frames), longest first
    and ties by position, each go to the rank with the least cost so far (ties: the lowest rank).
    Every rank computes the same assignment from the same sorted video list, without talking.
    """
    if world_size <= 1:
        return list(range(len(costs)))
    load = [0] * world_size
    owner = [0] * len(costs)
    for position in sorted(range(len(costs)), key=lambda i: (-costs[i], i)):
        target = min(range(world_size), key=lambda r: (load[r], r))
        owner[position] = target
        load[target] += costs[position]
    return [i for i in range(len(costs)) if owner[i] == rank]
