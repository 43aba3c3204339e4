"""Quotas and capacities: how much may run at once."""

from __future__ import annotations

from dataclasses import dataclass

from libs.common.quantities import Resources, format_memory


@dataclass(frozen=True)
class Limits:
    """A quota or a capacity; None means unlimited."""

    runs: int | None = None
    cpu: float | None = None
    memory: float | None = None
    gpu: float | None = None

    def exceeded(self, runs: int, used: Resources, asking: Resources) -> str | None:
        """What starting one more run asking for `asking` would exceed, if anything."""
        if self.runs is not None and runs + 1 > self.runs:
            return f"runs {runs}/{self.runs}"
        for name in ("cpu", "memory", "gpu"):
            limit: float | None = getattr(self, name)
            have, want = getattr(used, name), getattr(asking, name)
            if limit is not None and want > 0 and have + want > limit + 1e-9:
                show = format_memory if name == "memory" else (lambda v: f"{v:g}")
                return f"{name} {show(have)}/{show(limit)} in use, needs {show(want)}"
        return None
