"""Kubernetes resource quantities (`500m`, `2`, `4Gi`, `1.5e3`) as numbers, and the cpu, memory
and gpu a container asks for."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

_BINARY: dict[str, int] = {
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}
_DECIMAL: dict[str, Decimal | int] = {
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"),
    "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
}  # fmt: skip
GPU_KEYS = ("nvidia.com/gpu", "amd.com/gpu", "gpu")


def parse_quantity(value: str | int | float) -> float:
    """`"500m"` -> 0.5, `"4Gi"` -> 4294967296.0; raises ValueError naming the value."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    for suffixes in (_BINARY, _DECIMAL):
        for suffix, factor in suffixes.items():
            if text.endswith(suffix) and text[: -len(suffix)]:
                return float(_number(text[: -len(suffix)], value) * Decimal(factor))
    return float(_number(text, value))


def _number(text: str, original: object) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{original!r} is not a Kubernetes quantity (e.g. 500m, 2, 4Gi)") from None


@dataclass(frozen=True)
class Resources:
    """Requested cpu (cores), memory (bytes) and gpu (devices)."""

    cpu: float = 0.0
    memory: float = 0.0
    gpu: float = 0.0

    def __add__(self, other: Resources) -> Resources:
        return Resources(self.cpu + other.cpu, self.memory + other.memory, self.gpu + other.gpu)

    def __sub__(self, other: Resources) -> Resources:
        return Resources(self.cpu - other.cpu, self.memory - other.memory, self.gpu - other.gpu)

    @classmethod
    def of_container(cls, resources: Mapping[str, Any] | None) -> Resources:
        """What a container asks for: its requests, or its limits where it requests nothing."""
        resources = resources or {}
        requests = resources.get("requests") or {}
        limits = resources.get("limits") or {}

        def amount(*keys: str) -> float:
            for source in (requests, limits):
                for key in keys:
                    if key in source:
                        return parse_quantity(source[key])
            return 0.0

        return cls(cpu=amount("cpu"), memory=amount("memory"), gpu=amount(*GPU_KEYS))


def format_memory(amount: float) -> str:
    for suffix in ("Ti", "Gi", "Mi", "Ki"):
        if amount >= _BINARY[suffix]:
            return f"{amount / _BINARY[suffix]:g}{suffix}"
    return f"{amount:g}"
