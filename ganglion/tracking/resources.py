"""System resources of the tracked process, sampled in the background (psutil) and logged as
metrics under `resources/`: cpu, memory and, when NVIDIA's management library is installed, GPUs."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

import psutil

LogMetric = Callable[..., None]


def _gpus() -> dict[str, float]:
    try:
        import pynvml  # type: ignore[import-not-found]
    except ImportError:
        return {}
    found: dict[str, float] = {}
    with contextlib.suppress(Exception):
        pynvml.nvmlInit()
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            usage = pynvml.nvmlDeviceGetUtilizationRates(handle)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            found[f"resources/gpu_{index}_utilization"] = float(usage.gpu)
            found[f"resources/gpu_{index}_memory_used_mb"] = memory.used / (1 << 20)
    return found


def sample(process: psutil.Process) -> dict[str, float]:
    memory = process.memory_info()
    values: dict[str, Any] = {
        "resources/cpu_percent": process.cpu_percent(None),
        "resources/memory_rss_mb": memory.rss / (1 << 20),
        "resources/memory_percent": process.memory_percent(),
        "resources/system_cpu_percent": psutil.cpu_percent(None),
        "resources/system_memory_percent": psutil.virtual_memory().percent,
    }
    values.update(_gpus())
    return values


class ResourceSampler:
    def __init__(self, log_metric: LogMetric, interval: float = 10.0) -> None:
        self.log_metric = log_metric
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="ganglion-resources", daemon=True)
        self._process = psutil.Process()
        self.samples = 0

    def start(self) -> None:
        self._process.cpu_percent(None)  # the first reading only starts the clock
        psutil.cpu_percent(None)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        step = 0
        while not self._stop.wait(self.interval):
            with contextlib.suppress(psutil.Error):
                for name, value in sample(self._process).items():
                    self.log_metric(name, value, step=step)
                self.samples += 1
            step += 1
