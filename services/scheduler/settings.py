"""The scheduler's settings: `GANGLION_SCHEDULER_<NAME>`, plus the shared `GANGLION_<NAME>` ones."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from libs.common.settings import ServiceSettings


class SchedulerSettings(ServiceSettings):
    SERVICE: ClassVar[str] = "scheduler"
    model_config = SettingsConfigDict(env_prefix="GANGLION_SCHEDULER_")

    runner: Literal["local"] = Field("local", description="Where runs execute: 'local' processes.")
    concurrency: int = Field(4, ge=1, description="How many runs the default queue runs at once.")
    stop_grace_period: float = Field(
        10.0, ge=0, description="Seconds between SIGTERM and SIGKILL when a run is stopped."
    )
    claim_timeout: float = Field(
        30.0,
        gt=0,
        description="A claimed run that has not started after this many seconds is queued again.",
    )
    poll_interval: float = Field(
        1.0, gt=0, description="Seconds between dispatch and monitor rounds."
    )
    run_api_url: str = Field(
        "http://127.0.0.1:8000", description="How runs reach the API (GANGLION_HOST inside a run)."
    )
    run_streams_url: str | None = Field(
        None, description="How runs reach tracking (GANGLION_STREAMS_HOST); run_api_url by default."
    )
    run_token: SecretStr | None = Field(
        None,
        description="Token runs use (GANGLION_TOKEN inside a run); the shared token by default.",
    )
    runner_state_dir: Path | None = Field(
        None, description="Local runner bookkeeping; <home>/runner by default."
    )

    @property
    def resolved_runner_state_dir(self) -> Path:
        return self.runner_state_dir or self.home / "runner"

    @property
    def resolved_run_token(self) -> str | None:
        token = self.run_token or self.token
        return token.get_secret_value() if token else None
