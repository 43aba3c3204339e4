"""The Runner contract, shared by every implementation and proven by one conformance suite.

- `start(launch)` begins executing a run and returns a JSON-serialisable handle, stored with the
  run, from which any later process (say, a restarted scheduler) can find the execution again.
- `status(handle)` observes it: pending (accepted, not yet executing), running, exited with a
  code, or gone (the runtime has no trace of it and no exit code).
- `stop(handle)` asks it to end (SIGTERM or its equivalent); `stop(handle, force=True)` ends it
  now. Both return at once; `status` tells when it is over.
- `logs(handle)` yields what the run printed, durably kept also after it ended.
- `list_active()` lists the handles of executions still alive, for reconciliation.
- `cleanup(handle)` removes what an ended execution left behind (not its logs).
- `on_change(callback)`: the runner calls `callback` when it notices a change by itself (a process
  exiting), so the scheduler need not wait for its next poll.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from uuid import UUID

from libs.common.logs import LogLine
from libs.common.spec.runs import DistributedRun, JobRun, ServiceRun

Handle = dict[str, Any]


@dataclass(frozen=True)
class Launch:
    """Everything a runner needs to execute one run."""

    run_uuid: UUID
    owner: str
    project: str
    namespace: str
    command: list[str]
    artifacts_path: str
    name: str | None = None
    image: str | None = None
    working_dir: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    """The spec's plain `env` values and the platform's variables (what the SDK reads)."""
    resources: dict[str, Any] = field(default_factory=dict)
    kind: str = "job"
    """The run kind: job, service, or a distributed kind (tfjob, pytorchjob, mpijob)."""
    spec: JobRun | ServiceRun | DistributedRun | None = None
    """The compiled run section, for runners that act on more than the command (init containers,
    sidecars, volumes, the pod environment, ports, replicas)."""


class State(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    EXITED = "exited"
    GONE = "gone"


@dataclass(frozen=True)
class Observation:
    state: State
    exit_code: int | None = None
    message: str | None = None
    started: bool = False
    """Whether the run's own process ever started (an exit may be a failure to start)."""


class Runner(ABC):
    kind: str
    host_bound: bool = False
    """Whether only a scheduler on the machine that started an execution can observe it."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[], None]] = []

    def on_change(self, callback: Callable[[], None]) -> None:
        self._listeners.append(callback)

    def _changed(self) -> None:
        for callback in self._listeners:
            callback()

    @abstractmethod
    async def start(self, launch: Launch) -> Handle: ...

    @abstractmethod
    async def status(self, handle: Handle) -> Observation: ...

    @abstractmethod
    async def stop(self, handle: Handle, *, force: bool = False) -> None: ...

    @abstractmethod
    def logs(self, handle: Handle) -> AsyncIterator[LogLine]: ...

    @abstractmethod
    async def list_active(self) -> list[Handle]: ...

    async def cleanup(self, handle: Handle) -> None:  # noqa: B027 - nothing to clean by default
        """Remove what an ended execution left in the runtime (termination.ttl); logs stay."""

    async def close(self) -> None:  # noqa: B027 - most runners hold nothing
        """Release what the runner holds; executions keep running."""
