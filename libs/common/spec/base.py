"""What every spec model shares: camelCase aliases, unknown fields refused, a JSON dump."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

NAME_PATTERN = r"^[-a-zA-Z0-9_]+$"
Name = Annotated[str, Field(pattern=NAME_PATTERN)]
PositiveInt = Annotated[int, Field(ge=1)]
NonNegativeInt = Annotated[int, Field(ge=0)]


class SpecModel(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=True,  # as Polyaxon (allow_population_by_field_name)
        serialize_by_alias=True,
    )

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
