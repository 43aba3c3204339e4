"""The api service's settings: `GANGLION_API_<NAME>`, plus the shared `GANGLION_<NAME>` ones."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from libs.common.settings import ServiceSettings


class ApiSettings(ServiceSettings):
    SERVICE: ClassVar[str] = "api"
    model_config = SettingsConfigDict(env_prefix="GANGLION_API_")

    namespace: str = Field(
        "ganglion",
        description="Namespace of every run; clients use it in /streams/v1/{namespace} paths.",
    )
    owners: list[str] = Field(
        ["default"], description="Owners (organisations) this installation serves."
    )
    admin_username: str = Field("admin", description="The user created at first start.")
    admin_email: str = Field("admin@localhost", description="Email of the first user.")
    public_url: str | None = Field(
        None, description="How clients reach this installation (reported by /api/v1/installation)."
    )
    mode: str = Field(
        "service", description="'embedded' or 'service' (reported by /api/v1/installation)."
    )
