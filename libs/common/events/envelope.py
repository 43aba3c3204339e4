"""The envelope every event travels in, and the base class of event contracts.

An event contract is a pydantic model with a NAME (`<service>.<entity>.<verb>`) and a VERSION;
its routing key is `NAME.vVERSION`. Within a version only optional fields may be added, so a
consumer ignores fields it does not know.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Self, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from libs.common.ids import new_id, utcnow


class Event(BaseModel):
    """Payload of one event contract."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    NAME: ClassVar[str]
    VERSION: ClassVar[int] = 1

    @classmethod
    def routing_key(cls) -> str:
        return f"{cls.NAME}.v{cls.VERSION}"

    @classmethod
    def publisher(cls) -> str:
        """The service that publishes this event: the first part of its name."""
        return cls.NAME.split(".", 1)[0]


E = TypeVar("E", bound=Event)


class Envelope(BaseModel):
    """What travels on the bus: identity, provenance and the payload of one event."""

    model_config = ConfigDict(frozen=True)

    id: UUID = Field(default_factory=new_id)
    name: str
    version: int
    occurred_at: datetime = Field(default_factory=utcnow)
    subject: str
    causation_id: UUID | None = None
    payload: dict[str, Any]

    @property
    def routing_key(self) -> str:
        return f"{self.name}.v{self.version}"

    @property
    def publisher(self) -> str:
        return self.name.split(".", 1)[0]

    @classmethod
    def wrap(
        cls,
        event: Event,
        *,
        subject: str,
        causation_id: UUID | None = None,
        occurred_at: datetime | None = None,
    ) -> Self:
        return cls(
            name=event.NAME,
            version=event.VERSION,
            subject=subject,
            causation_id=causation_id,
            occurred_at=occurred_at or utcnow(),
            payload=event.model_dump(mode="json"),
        )

    def open(self, contract: type[E]) -> E:
        """The payload as `contract`; raises if this envelope carries another event."""
        if contract.routing_key() != self.routing_key:
            raise ValueError(f"envelope carries {self.routing_key}, not {contract.routing_key()}")
        return contract.model_validate(self.payload)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        return cls.model_validate_json(data)
