"""Schedules (V1CronSchedule, V1IntervalSchedule, V1DateTimeSchedule): the operation becomes a
controller run whose ticks create child runs; `{{ globals.schedule_at }}` is a tick's time."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from croniter import croniter
from pydantic import Field, field_validator, model_validator

from libs.common.spec.base import PositiveInt, SpecModel


class _Schedule(SpecModel):
    start_at: datetime | None = None
    end_at: datetime | None = None
    max_runs: PositiveInt | None = None
    depends_on_past: bool | None = None

    @model_validator(mode="after")
    def _ordered(self) -> _Schedule:
        if self.start_at and self.end_at and self.end_at <= self.start_at:
            raise ValueError("endAt must be after startAt")
        return self


class CronSchedule(_Schedule):
    kind: Literal["cron"]
    cron: str

    @field_validator("cron")
    @classmethod
    def _valid(cls, value: str) -> str:
        if not croniter.is_valid(value):
            raise ValueError(f"not a cron expression: {value!r} (e.g. '0 0 * * MON')")
        return value


class IntervalSchedule(_Schedule):
    kind: Literal["interval"]
    frequency: int | float = Field(gt=0, description="seconds between ticks")


class DateTimeSchedule(SpecModel):
    kind: Literal["datetime"]
    start_at: datetime


Schedule = Annotated[
    CronSchedule | IntervalSchedule | DateTimeSchedule, Field(discriminator="kind")
]
