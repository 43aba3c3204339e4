"""Background loops as small services: `run_once()` does one round (tests drive it step by step),
`run()` repeats it on a timer or as soon as someone calls `wake()`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod

log = logging.getLogger(__name__)


class Loop(ABC):
    name: str

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    @abstractmethod
    async def run_once(self) -> None: ...

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s round failed; trying again in %.1fs", self.name, self.interval)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
