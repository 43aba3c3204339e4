"""Settings every service has. Shared settings read `GANGLION_<NAME>`; a service's own read
`GANGLION_<SERVICE>_<NAME>` (each service subclasses with its env prefix). Without any
configuration a service runs embedded: SQLite under the home folder and the in-process bus."""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from libs.common.bus.base import BusOptions

_PLACEHOLDER_SECRETS = {"changeme", "change-me", "secret", "password", "token", "ganglion", "admin"}


def default_home() -> Path:
    return Path(os.environ.get("GANGLION_HOME") or Path.home() / ".ganglion")


class ServiceSettings(BaseSettings):
    SERVICE: ClassVar[str]

    model_config = SettingsConfigDict(extra="ignore", validate_by_name=True, validate_by_alias=True)

    home: Path = Field(
        default_factory=default_home,
        validation_alias="GANGLION_HOME",
        description="Folder for embedded databases, artifacts and runner state.",
    )
    token: SecretStr | None = Field(
        None,
        validation_alias="GANGLION_TOKEN",
        description="A token every service accepts; the api stores it as the admin's token.",
    )
    rabbitmq_url: str | None = Field(
        None,
        validation_alias="GANGLION_RABBITMQ_URL",
        description="amqp:// URL; without it the service uses the in-process bus (embedded only).",
    )
    redis_url: str | None = Field(
        None,
        validation_alias="GANGLION_REDIS_URL",
        description="redis:// URL for locks between replicas; in-process without it.",
    )
    artifacts_root: Path | None = Field(
        None,
        validation_alias="GANGLION_ARTIFACTS_ROOT",
        description="Root of the artifact store all services share; <home>/artifacts by default.",
    )
    bus_prefix: str = Field(
        "ganglion",
        validation_alias="GANGLION_BUS_PREFIX",
        description="Prefix of every exchange and queue, so installations can share a broker.",
    )
    bus_max_deliveries: int = Field(
        5,
        ge=1,
        validation_alias="GANGLION_BUS_MAX_DELIVERIES",
        description="Deliveries before a dead letter.",
    )
    bus_retry_delay: float = Field(
        2.0,
        gt=0,
        validation_alias="GANGLION_BUS_RETRY_DELAY",
        description="Seconds before a failed event is redelivered.",
    )
    database_url: str | None = Field(
        None, description="postgresql:// or sqlite:/// URL; <home>/db/<service>.sqlite by default."
    )
    database_schema: str | None = Field(
        None,
        description="Postgres schema of this service's tables; the service name by default.",
    )

    @field_validator("home", "artifacts_root")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        # Services with other working directories (a runner's job, say) must agree on paths.
        return value.expanduser().absolute() if value is not None else None

    @field_validator("token")
    @classmethod
    def _refuse_weak_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return value
        secret = value.get_secret_value()
        if len(secret) < 16 or secret.lower() in _PLACEHOLDER_SECRETS:
            raise ValueError("GANGLION_TOKEN must be at least 16 characters and not a placeholder")
        return value

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'db' / f'{self.SERVICE}.sqlite'}"

    @property
    def resolved_schema(self) -> str:
        return self.database_schema or self.SERVICE

    @property
    def resolved_artifacts_root(self) -> Path:
        return self.artifacts_root or self.home / "artifacts"

    @property
    def bus_options(self) -> BusOptions:
        return BusOptions(
            prefix=self.bus_prefix,
            max_deliveries=self.bus_max_deliveries,
            retry_delay=self.bus_retry_delay,
        )
