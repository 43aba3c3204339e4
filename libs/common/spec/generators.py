"""Pure, seeded generators over matrix params: the discrete values of a distribution, samples
of any distribution, grid expansion and random search. The optimizer service builds on these;
the compiler uses them to check a matrix against the component's inputs.

Sampling follows hyperopt's definitions (Polyaxon documents the same): `loguniform` is
`exp(uniform(low, high))`, `q*` kinds round to a multiple of `q`, `lognormal` is
`exp(normal(loc, scale))`. Dates come out as ISO strings, so suggestions are JSON."""

from __future__ import annotations

import functools
import itertools
import math
import random
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from typing import Any

from libs.common.spec.hparams import Choice, HpParam, PChoice

Suggestion = dict[str, Any]


def _round(x: float) -> float:
    # Float steps accumulate noise (0.1 * 3 = 0.30000000000000004); 12 significant digits is
    # more precision than any hyperparameter has and gives values people can read.
    return float(f"{x:.12g}")


def values(param: HpParam) -> list[Any]:
    """Every value a discrete distribution takes, in order; ValueError for a continuous one."""
    if isinstance(param, Choice):
        return list(param.value)
    if isinstance(param, PChoice) or not param.is_discrete:
        raise ValueError(f"{param.kind} is not discrete: it has no finite list of values")
    a = param.args
    if param.kind == "range":
        start, stop, step = a["start"], a["stop"], a["step"]
        count = math.ceil((stop - start) / step)
        exact = all(isinstance(v, int) for v in (start, stop, step))
        return [start + i * step if exact else _round(start + i * step) for i in range(count)]
    if param.kind in ("linspace", "logspace", "geomspace"):
        start, stop, num = a["start"], a["stop"], int(a["num"])
        if param.kind == "geomspace":
            sign = -1 if start < 0 else 1
            start, stop = math.log10(abs(start)), math.log10(abs(stop))
        points = (
            [start] if num == 1 else [start + (stop - start) * i / (num - 1) for i in range(num)]
        )
        if param.kind == "logspace":
            return [_round(a["base"] ** p) for p in points]
        if param.kind == "geomspace":
            return [_round(sign * 10**p) for p in points]
        return [_round(p) for p in points]
    # daterange steps in days, datetimerange in seconds; both stop before `stop`, like range.
    unit = timedelta(days=a["step"]) if param.kind == "daterange" else timedelta(seconds=a["step"])
    out: list[Any] = []
    moment = a["start"]
    while moment < a["stop"]:
        out.append(moment.date().isoformat() if param.kind == "daterange" else moment.isoformat())
        moment += unit
    return out


def size(param: HpParam) -> int:
    return len(values(param))


def sample(param: HpParam, rng: random.Random) -> Any:
    """One draw from the distribution."""
    if isinstance(param, PChoice):
        options = [v for v, _ in param.value]
        return rng.choices(options, weights=[p for _, p in param.value])[0]
    if isinstance(param, Choice) or param.is_discrete:
        return rng.choice(values(param))
    a = param.args
    kind = param.kind
    if kind in ("uniform", "quniform"):
        x = rng.uniform(a["low"], a["high"])
    elif kind in ("loguniform", "qloguniform"):
        x = math.exp(rng.uniform(a["low"], a["high"]))
    elif kind in ("normal", "qnormal"):
        x = rng.gauss(a["loc"], a["scale"])
    else:
        x = math.exp(rng.gauss(a["loc"], a["scale"]))
    if kind.startswith("q"):
        return _multiple(round(x / a["q"]), a["q"])
    return x


def _multiple(n: int, q: float) -> float:
    """`n * q` without float noise (3 * 0.1 is 0.3): rounded to q's own decimals."""
    text = repr(float(q))
    if "e" in text:
        return n * q
    return round(n * q, len(text.partition(".")[2]))


def grid_size(params: Mapping[str, HpParam]) -> int:
    return math.prod(size(p) for p in params.values())


def iter_grid(params: Mapping[str, HpParam]) -> Iterator[Suggestion]:
    """Every combination, the last param varying fastest."""
    names = list(params)
    for combination in itertools.product(*(values(params[n]) for n in names)):
        yield dict(zip(names, combination, strict=True))


def grid(params: Mapping[str, HpParam], num_runs: int | None = None) -> list[Suggestion]:
    """All combinations, capped at `num_runs` (matrix.numRuns) when given."""
    return list(itertools.islice(iter_grid(params), num_runs))


def random_search(
    params: Mapping[str, HpParam], num_runs: int, seed: int | None = None
) -> list[Suggestion]:
    """`num_runs` independent draws; the same seed gives the same suggestions."""
    rng = random.Random(seed)
    # A discrete param's values are listed once, not per draw; draws stay those of `sample`.
    draws: dict[str, Callable[[], Any]] = {}
    for name, param in params.items():
        if isinstance(param, PChoice) or not (isinstance(param, Choice) or param.is_discrete):
            draws[name] = functools.partial(sample, param, rng)
        else:
            draws[name] = functools.partial(rng.choice, values(param))
    return [{n: draw() for n, draw in draws.items()} for _ in range(num_runs)]
