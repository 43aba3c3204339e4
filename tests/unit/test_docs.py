"""docs/operations.md lists every setting of every service, under its environment variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from libs.common.settings import ServiceSettings
from services.api.settings import ApiSettings
from services.scheduler.settings import SchedulerSettings
from services.tracking.settings import TrackingSettings

DOC = (Path(__file__).parents[2] / "docs" / "operations.md").read_text()


def env_names(cls: type[ServiceSettings]) -> list[str]:
    names = []
    for name, field in cls.model_fields.items():
        alias = field.validation_alias
        names.append(
            alias if isinstance(alias, str) else f"GANGLION_{cls.SERVICE.upper()}_{name.upper()}"
        )
    return names


@pytest.mark.parametrize(
    "settings", [ApiSettings, SchedulerSettings, TrackingSettings], ids=lambda s: s.SERVICE
)
def test_every_setting_is_documented(settings: type[ServiceSettings]) -> None:
    missing = [name for name in env_names(settings) if f"`{name}`" not in DOC]
    assert missing == []


@pytest.mark.parametrize(
    "settings", [ApiSettings, SchedulerSettings, TrackingSettings], ids=lambda s: s.SERVICE
)
def test_every_setting_is_described(settings: type[ServiceSettings]) -> None:
    assert [n for n, f in settings.model_fields.items() if not f.description] == []
