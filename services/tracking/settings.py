"""Tracking's settings: `GANGLION_TRACKING_<NAME>`, plus the shared `GANGLION_<NAME>` ones."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from libs.common.settings import ServiceSettings


class TrackingSettings(ServiceSettings):
    SERVICE: ClassVar[str] = "tracking"
    model_config = SettingsConfigDict(env_prefix="GANGLION_TRACKING_")

    max_batch: int = Field(
        50_000, ge=1, description="Most metric points, events or log lines one request may carry."
    )
    max_batch_bytes: int = Field(
        32 << 20,
        ge=1024,
        description="Largest body of a metrics, events or logs request, in bytes.",
    )
    max_upload_bytes: int = Field(
        1 << 30, ge=1, description="Largest artifact upload accepted, in bytes."
    )
    logs_page: int = Field(2_000, ge=1, description="Most log lines one logs request returns.")
    history_page: int = Field(
        100_000, ge=1, description="Most points one page of a full metric history returns."
    )
    summary_interval: float = Field(
        2.0,
        gt=0,
        description="Seconds between metric summary events to the api (at most one per run and "
        "interval).",
    )
    artifact_store: Literal["local", "s3"] = Field(
        "local", description="Where artifacts live: 'local' (the artifacts root) or 's3'."
    )
    s3_bucket: str | None = Field(None, description="Bucket of the s3 artifact store.")
    s3_prefix: str = Field("", description="Key prefix inside the bucket for every run's files.")
    s3_endpoint_url: str | None = Field(
        None, description="S3-compatible endpoint (MinIO, Ceph, ...); AWS when unset."
    )
    s3_region: str | None = Field(None, description="Region of the bucket.")
