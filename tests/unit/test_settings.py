"""Settings (env prefixes, refused secrets) and the scheduler's pure decision."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.api.settings import ApiSettings
from services.scheduler.settings import SchedulerSettings


def test_shared_and_service_prefixes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GANGLION_RABBITMQ_URL", "amqp://x")
    monkeypatch.setenv("GANGLION_SCHEDULER_CONCURRENCY", "7")
    monkeypatch.setenv("GANGLION_API_DATABASE_URL", "postgresql://db/api")
    scheduler = SchedulerSettings()
    api = ApiSettings()
    assert scheduler.rabbitmq_url == api.rabbitmq_url == "amqp://x"
    assert scheduler.concurrency == 7
    assert api.resolved_database_url == "postgresql://db/api"
    assert scheduler.resolved_database_url.endswith("db/scheduler.sqlite")
    assert api.resolved_schema == "api"


@pytest.mark.parametrize("token", ["short", "changeme", "password"])
def test_weak_tokens_are_refused(monkeypatch: pytest.MonkeyPatch, token: str) -> None:
    monkeypatch.setenv("GANGLION_TOKEN", token)
    with pytest.raises(ValidationError, match="GANGLION_TOKEN must be"):
        ApiSettings()
