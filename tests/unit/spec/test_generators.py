"""Property tests of the param generators: grid sizes, bounds, value forms, seeded sampling."""

from __future__ import annotations

import math
import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from libs.common.spec import generators
from libs.common.spec.hparams import CONTINUOUS_KINDS, DISCRETE_KINDS, HpParam

PARAM: TypeAdapter[HpParam] = TypeAdapter(HpParam)
finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
small_int = st.integers(min_value=1, max_value=12)


def hp(kind: str, value: object) -> HpParam:
    return PARAM.validate_python({"kind": kind, "value": value})


def test_sixteen_distributions() -> None:
    assert len(DISCRETE_KINDS | CONTINUOUS_KINDS | {"pchoice"}) == 16


@pytest.mark.parametrize(
    ("kind", "forms", "expected"),
    [
        ("range", ([0, 10, 2], {"start": 0, "stop": 10, "step": 2}, "0:10:2"), [0, 2, 4, 6, 8]),
        (
            "linspace",
            ([0, 1, 5], {"start": 0, "stop": 1, "num": 5}, "0:1:5"),
            [0, 0.25, 0.5, 0.75, 1],
        ),
        ("logspace", ([0, 2, 3], {"start": 0, "stop": 2, "num": 3}, "0:2:3"), [1, 10, 100]),
        (
            "logspace",
            ([0, 3, 4, 2], {"start": 0, "stop": 3, "num": 4, "base": 2}, "0:3:4:2"),
            [1, 2, 4, 8],
        ),
        (
            "geomspace",
            ([1, 1000, 4], {"start": 1, "stop": 1000, "num": 4}, "1:1000:4"),
            [1, 10, 100, 1000],
        ),
        (
            "daterange",
            (
                ["2019-06-22", "2019-06-25", 1],
                {"start": "2019-06-22", "stop": "2019-06-25", "step": 1},
            ),
            ["2019-06-22", "2019-06-23", "2019-06-24"],
        ),
        (
            "datetimerange",
            (["2019-06-22 21:00", "2019-06-22 21:02", 60],),
            ["2019-06-22T21:00:00", "2019-06-22T21:01:00"],
        ),
    ],
)
def test_value_forms_give_the_same_values(
    kind: str, forms: tuple[object, ...], expected: list[object]
) -> None:
    for form in forms:
        assert generators.values(hp(kind, form)) == expected


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("linspace", "0.1:0.001", "expected [start, stop, num]"),
        ("linspace", [0, 1, 0], "num: expected a whole number >= 1"),
        ("range", [0, 10, -1], "never goes from start to stop"),
        ("uniform", [1, 0], "low: expected less than high"),
        ("normal", [0, -1], "scale: expected a positive number"),
        ("quniform", {"low": 0, "high": 1}, "expected [low, high, q]"),
        ("geomspace", [0, 10, 3], "non-zero numbers of the same sign"),
        ("daterange", ["2019-06-22", "nope", 1], "stop: expected a date"),
        ("pchoice", [["a", 0.7], ["b", 0.7]], "sum to more than 0 and at most 1"),
        ("choice", [], "at least 1 item"),
    ],
)
def test_bad_value_forms_say_what_is_expected(kind: str, value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        hp(kind, value)


@given(st.lists(st.lists(st.integers(), min_size=1, max_size=5), min_size=1, max_size=4))
def test_grid_size_is_the_product_of_the_choices(choices: list[list[int]]) -> None:
    params = {f"p{i}": hp("choice", c) for i, c in enumerate(choices)}
    grid = generators.grid(params)
    assert len(grid) == generators.grid_size(params) == math.prod(len(c) for c in choices)
    assert all(set(point) == set(params) for point in grid)


@given(finite, finite, small_int, st.integers(min_value=1, max_value=10))
def test_linspace_has_num_points_within_bounds(a: float, b: float, num: int, cap: int) -> None:
    values = generators.values(hp("linspace", [a, b, num]))
    assert len(values) == num
    low, high = min(a, b), max(a, b)
    tolerance = 1e-9 * max(1.0, abs(low), abs(high))
    assert all(low - tolerance <= v <= high + tolerance for v in values)
    assert len(generators.grid({"x": hp("linspace", [a, b, num])}, num_runs=cap)) == min(cap, num)


@given(st.integers(-1000, 1000), st.integers(1, 1000), st.integers(1, 50))
def test_integer_range_matches_python_range(start: int, length: int, step: int) -> None:
    assert generators.values(hp("range", [start, start + length, step])) == list(
        range(start, start + length, step)
    )


@settings(max_examples=50)
@given(
    st.sampled_from(sorted(CONTINUOUS_KINDS)),
    finite,
    st.floats(min_value=0.01, max_value=100),
    st.floats(min_value=0.01, max_value=10),
    st.integers(),
)
def test_samples_respect_their_distribution(
    kind: str, a: float, width: float, q: float, seed: int
) -> None:
    a = max(min(a, 5.0), -5.0) if "log" in kind else a  # exp() of a large bound overflows
    args: dict[str, list[float]] = {
        "uniform": [a, a + width], "quniform": [a, a + width, q],
        "loguniform": [a, a + min(width, 5)], "qloguniform": [a, a + min(width, 5), q],
        "normal": [a, width], "qnormal": [a, width, q],
        "lognormal": [a, min(width, 2)], "qlognormal": [a, min(width, 2), q],
    }  # fmt: skip
    param = hp(kind, args[kind])
    draws = [generators.sample(param, random.Random(seed + i)) for i in range(20)]
    if kind == "uniform":
        assert all(a <= d <= a + width for d in draws)
    if kind == "loguniform":
        assert all(
            math.exp(a) * (1 - 1e-9) <= d <= math.exp(a + min(width, 5)) * (1 + 1e-9) for d in draws
        )
    if kind.startswith("q"):
        assert all(abs(d / q - round(d / q)) < 1e-6 for d in draws)
    if kind in ("lognormal", "qlognormal", "loguniform"):
        assert all(d >= 0 for d in draws)


@given(st.integers(), st.integers(1, 30))
def test_random_search_is_reproducible_with_a_seed(seed: int, num_runs: int) -> None:
    params = {
        "lr": hp("loguniform", [-7, -1]),
        "act": hp("pchoice", [["relu", 0.1], ["tanh", 0.8]]),
        "layers": hp("range", [1, 5, 1]),
        "drop": hp("normal", [0.5, 0.1]),
    }
    first = generators.random_search(params, num_runs, seed)
    assert first == generators.random_search(params, num_runs, seed)
    assert len(first) == num_runs
    assert all(p["act"] in ("relu", "tanh") and 1 <= p["layers"] < 5 for p in first)


def test_pchoice_follows_its_weights() -> None:
    param = hp("pchoice", [["a", 0.1], ["b", 0.8]])
    rng = random.Random(7)
    draws = [generators.sample(param, rng) for _ in range(4000)]
    assert 0.85 < draws.count("b") / len(draws) < 0.93  # 0.8 / 0.9 normalised


def test_continuous_distributions_have_no_values() -> None:
    with pytest.raises(ValueError, match="not discrete"):
        generators.values(hp("uniform", [0, 1]))


def test_ten_thousand_point_grid() -> None:
    params = {
        "a": hp("linspace", "0:1:10"),
        "b": hp("range", [0, 10, 1]),
        "c": hp("logspace", "-5:0:10"),
        "d": hp("choice", list(range(10))),
    }
    grid = generators.grid(params)
    assert len(grid) == 10_000 and len({tuple(p.values()) for p in grid}) == 10_000
