"""Typed dependencies for the scheduler's routes."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from libs.common.health import runtime_of
from services.scheduler.settings import SchedulerSettings


def get_settings(request: Request) -> SchedulerSettings:
    return cast(SchedulerSettings, runtime_of(request).settings)


SettingsDep = Annotated[SchedulerSettings, Depends(get_settings)]
