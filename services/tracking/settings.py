"""Tracking's settings: `GANGLION_TRACKING_<NAME>`, plus the shared `GANGLION_<NAME>` ones."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from libs.common.settings import ServiceSettings


class TrackingSettings(ServiceSettings):
    SERVICE: ClassVar[str] = "tracking"
    model_config = SettingsConfigDict(env_prefix="GANGLION_TRACKING_")

    max_batch: int = Field(
        10_000, ge=1, description="Most metric points or log lines one request may carry."
    )
    max_upload_bytes: int = Field(
        1 << 30, ge=1, description="Largest artifact upload accepted, in bytes."
    )
    logs_page: int = Field(2_000, ge=1, description="Most log lines one logs request returns.")
