"""Matrix kinds (V1GridSearch, V1RandomSearch, V1Hyperband, V1Bayes, V1Tpe, V1Iterative,
V1Mapping) and early stopping (V1FailureEarlyStopping, V1MetricEarlyStopping and their
policies). `hyperopt` (the ≤2.x name, still in the docs and the quick-start) reads as `tpe`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from libs.common.spec.base import Name, NonNegativeInt, PositiveInt, SpecModel
from libs.common.spec.errors import located
from libs.common.spec.hparams import HpParam

Optimization = Literal["maximize", "minimize"]


class MedianPolicy(SpecModel):
    kind: Literal["median"]
    evaluation_interval: PositiveInt | None = None
    min_interval: NonNegativeInt | None = None
    min_samples: NonNegativeInt | None = None


class TruncationPolicy(SpecModel):
    kind: Literal["truncation"]
    percent: float = Field(gt=0, lt=100)
    evaluation_interval: PositiveInt | None = None
    min_interval: NonNegativeInt | None = None
    min_samples: NonNegativeInt | None = None
    include_succeeded: bool | None = None


class DiffPolicy(SpecModel):
    kind: Literal["diff"]
    percent: float = Field(gt=0, lt=100)
    evaluation_interval: PositiveInt | None = None
    min_interval: NonNegativeInt | None = None
    min_samples: NonNegativeInt | None = None


StoppingPolicy = Annotated[
    MedianPolicy | TruncationPolicy | DiffPolicy, Field(discriminator="kind")
]


class FailureEarlyStopping(SpecModel):
    kind: Literal["failure_early_stopping"]
    percent: float = Field(gt=0, lt=100)


class MetricEarlyStopping(SpecModel):
    kind: Literal["metric_early_stopping"]
    metric: str
    value: float
    optimization: Optimization
    policy: StoppingPolicy | None = None


EarlyStopping = Annotated[FailureEarlyStopping | MetricEarlyStopping, Field(discriminator="kind")]


class Metric(SpecModel):
    name: str
    optimization: Optimization


class Resource(SpecModel):
    name: str
    type: Literal["int", "float"]


class Tuner(SpecModel):
    """The operation that computes the next suggestions of an iterative matrix."""

    hub_ref: str
    queue: str | None = None
    presets: list[str] | None = None
    namespace: str | None = None
    params: dict[str, Any] | None = None


class GaussianProcess(SpecModel):
    kernel: Literal["rbf", "matern"] | None = None
    length_scale: float | None = None
    nu: float | None = None
    num_restarts_optimizer: NonNegativeInt | None = None


class UtilityFunction(SpecModel):
    acquisition_function: Literal["ucb", "ei", "poi"] | None = None
    kappa: float | None = None
    eps: float | None = None
    gaussian_process: GaussianProcess | None = None
    num_warmup: PositiveInt | None = None
    num_iterations: PositiveInt | None = None

    @field_validator("kappa", "eps")
    @classmethod
    def _positive(cls, value: float | None) -> float | None:
        if value is not None and value < 0:
            raise ValueError("expected a non-negative number")
        return value


class _Matrix(SpecModel):
    concurrency: PositiveInt | None = None
    early_stopping: list[EarlyStopping] | None = None


class _Tuned(_Matrix):
    params: dict[Name, HpParam] | None = None
    seed: int | None = None
    tuner: Tuner | None = None


def _only(params: dict[str, Any] | None, allowed: str, ok: Any) -> dict[str, Any] | None:
    for name, param in (params or {}).items():
        if not ok(param):
            raise ValueError(located(name, f"a {param.kind} param is not allowed here; {allowed}"))
    return params


class GridMatrix(_Matrix):
    kind: Literal["grid"]
    params: dict[Name, HpParam] = Field(min_length=1)
    num_runs: PositiveInt | None = None

    @field_validator("params")
    @classmethod
    def _discrete(cls, params: dict[str, Any]) -> dict[str, Any]:
        allowed = (
            "grid takes choice, range, linspace, logspace, geomspace, daterange, datetimerange"
        )
        _only(params, allowed, lambda p: p.is_discrete)
        return params


class RandomMatrix(_Matrix):
    kind: Literal["random"]
    params: dict[Name, HpParam] = Field(min_length=1)
    num_runs: PositiveInt
    seed: int | None = None


class HyperbandMatrix(_Tuned):
    kind: Literal["hyperband"]
    max_iterations: PositiveInt | None = None
    eta: float | None = Field(None, gt=1)
    resource: Resource | None = None
    metric: Metric | None = None
    resume: bool | None = None


class BayesMatrix(_Tuned):
    kind: Literal["bayes"]
    params: dict[Name, HpParam] = Field(min_length=1)
    num_initial_runs: PositiveInt
    max_iterations: PositiveInt
    metric: Metric
    utility_function: UtilityFunction | None = None

    @field_validator("params")
    @classmethod
    def _discrete_or_uniform(cls, params: dict[str, Any]) -> dict[str, Any]:
        allowed = "bayes takes discrete params and uniform"
        _only(params, allowed, lambda p: p.is_discrete or p.kind == "uniform")
        return params

    @field_validator("utility_function")
    @classmethod
    def _needs(cls, value: UtilityFunction | None) -> UtilityFunction | None:
        if value is not None:
            acquisition = value.acquisition_function or "ucb"
            if acquisition == "ucb" and value.kappa is None:
                raise ValueError("the ucb acquisition function needs kappa")
            if acquisition in ("ei", "poi") and value.eps is None:
                raise ValueError(f"the {acquisition} acquisition function needs eps")
        return value


class TpeMatrix(_Tuned):
    kind: Literal["tpe"]
    params: dict[Name, HpParam] = Field(min_length=1)
    metric: Metric
    num_runs: PositiveInt | None = None
    max_iterations: PositiveInt | None = None
    algorithm: Literal["tpe", "rand", "anneal"] | None = None
    """Kept from `kind: hyperopt`, which chose the algorithm this way."""


class IterativeMatrix(_Tuned):
    kind: Literal["iterative"]
    max_iterations: PositiveInt


class MappingMatrix(_Matrix):
    kind: Literal["mapping"]
    values: list[dict[Name, Any]] = Field(min_length=1)


Matrix = Annotated[
    GridMatrix | RandomMatrix | HyperbandMatrix | BayesMatrix | TpeMatrix | IterativeMatrix
    | MappingMatrix,
    Field(discriminator="kind"),
]  # fmt: skip
MATRIX_ALIASES = {"hyperopt": "tpe"}
ITERATIVE_KINDS = frozenset({"hyperband", "bayes", "tpe", "iterative"})


def normalize_matrix(value: Any) -> Any:
    """Read the `hyperopt` alias as `tpe`."""
    if isinstance(value, dict) and value.get("kind") in MATRIX_ALIASES:
        return {**value, "kind": MATRIX_ALIASES[value["kind"]]}
    return value
