"""Spec speed: compiling a 1,000-operation DAG and expanding a 10,000-point grid, each from
scratch (parse included), against the one-second targets of the spec issue.

    python -m benchmarks.spec_compile [--repeat N]

Prints one line per case: the best and median wall time of N runs."""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any
from uuid import uuid4

from pydantic import TypeAdapter

from libs.common.spec import RunContext, compile_operation, load_content
from libs.common.spec.generators import grid, random_search
from libs.common.spec.hparams import HpParam
from libs.common.spec.models import DagRun

CONTEXT = RunContext(
    uuid=uuid4(),
    owner="default",
    project="bench",
    username="bench",
    namespace="ganglion",
    artifacts_root="/artifacts",
)
TARGET_SECONDS = 1.0


def dag_text(size: int) -> str:
    """A DAG of `size` operations in layers of ten; each reads an upstream output by ref and
    depends on another upstream, every fifth has its own inline component."""
    train = {
        "name": "train",
        "inputs": [
            {"name": "lr", "type": "float", "value": 0.1, "isOptional": True},
            {"name": "previous", "type": "float", "isOptional": True},
        ],
        "outputs": [{"name": "loss", "type": "float"}],
        "run": {
            "kind": "job",
            "container": {"image": "python:3.11", "command": ["python", "train.py"],
                          "args": ["--lr={{ lr }}", "--previous={{ previous }}"]},
        },
    }  # fmt: skip
    operations: list[dict[str, Any]] = []
    for i in range(size):
        op: dict[str, Any] = {"name": f"op{i}", "params": {"lr": 0.01 * (i % 7 + 1)}}
        if i >= 10:
            op["params"]["previous"] = {"ref": f"ops.op{i - 10}", "value": "outputs.loss"}
            if i % 3 == 0:
                op["dependencies"] = [f"op{i - 9}"]
        if i % 5 == 0:
            op["component"] = {**train, "name": None}
            op["component"].pop("name")
        else:
            op["dagRef"] = "train"
        operations.append(op)
    component = {
        "kind": "component",
        "name": "big-dag",
        "run": {"kind": "dag", "components": [train], "operations": operations},
    }
    return json.dumps(component)


def grid_params(points: int) -> dict[str, HpParam]:
    adapter: TypeAdapter[HpParam] = TypeAdapter(HpParam)
    assert points == 10_000
    return {
        "lr": adapter.validate_python({"kind": "logspace", "value": "-5:-1:10"}),
        "dropout": adapter.validate_python({"kind": "linspace", "value": [0.0, 0.5, 10]}),
        "layers": adapter.validate_python({"kind": "range", "value": [1, 11, 1]}),
        "act": adapter.validate_python({"kind": "choice", "value": list("abcdefghij")}),
    }


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    text = dag_text(1000)

    def compile_dag() -> None:
        compiled = compile_operation(load_content(text), CONTEXT)
        assert isinstance(compiled.run, DagRun)
        assert len(compiled.run.operations or []) == 1000

    def expand_grid() -> None:
        assert len(grid(grid_params(10_000))) == 10_000

    def sample_random() -> None:
        assert len(random_search(grid_params(10_000), 10_000, seed=1)) == 10_000

    cases = [
        ("compile a 1,000-op DAG (parse, validate, graph, types)", compile_dag),
        ("expand a 10,000-point grid", expand_grid),
        ("draw 10,000 random-search suggestions", sample_random),
    ]
    print(f"spec benchmark, best and median of {repeat} runs (target {TARGET_SECONDS:.0f} s)")
    for label, fn in cases:
        best, median = timed(fn, repeat)
        verdict = "ok" if median < TARGET_SECONDS else "OVER TARGET"
        print(f"  {label}: best {best * 1000:.0f} ms, median {median * 1000:.0f} ms [{verdict}]")


if __name__ == "__main__":
    main()
