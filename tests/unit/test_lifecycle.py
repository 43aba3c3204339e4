"""The transition table, pair by pair: every allowed and every refused transition."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from libs.common.lifecycle import (
    DONE,
    FORCED,
    SAFE_STOP,
    TRANSITIONS,
    RunStatus,
    Timeline,
    decide,
    set_status,
)

S = RunStatus
PAIRS = [(a, b) for a in S for b in S if a != b]
ALLOWED = [(a, b) for a, b in PAIRS if b in TRANSITIONS[a]]
REFUSED = [(a, b) for a, b in PAIRS if b not in TRANSITIONS[a]]
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_every_status_has_a_row() -> None:
    assert set(TRANSITIONS) == set(S)


@pytest.mark.parametrize(("current", "new"), ALLOWED, ids=[f"{a}->{b}" for a, b in ALLOWED])
def test_allowed(current: RunStatus, new: RunStatus) -> None:
    assert decide(current, new).outcome == "transition"


@pytest.mark.parametrize(("current", "new"), REFUSED, ids=[f"{a}-x->{b}" for a, b in REFUSED])
def test_refused(current: RunStatus, new: RunStatus) -> None:
    decision = decide(current, new)
    forced = new in FORCED.get(current, frozenset())
    assert decision.outcome == "rejected"
    assert str(current) in decision.reason or str(new) in decision.reason
    # Only a forced resume leaves a final status.
    assert decide(current, new, force=True).accepted is forced


@pytest.mark.parametrize("status", [s for s in S if s != S.CREATED])
def test_same_status_refreshes(status: RunStatus) -> None:
    assert decide(status, status).outcome == "refresh"


def test_created_is_never_a_new_status() -> None:
    assert all(not decide(s, S.CREATED).accepted for s in S)


def test_final_statuses_only_leave_by_forced_resume() -> None:
    for done in DONE:
        assert TRANSITIONS[done] == frozenset()
        assert decide(done, S.RESUMING).outcome == "rejected"
        assert decide(done, S.RESUMING, force=True).outcome == "transition"


def test_stopping_only_ends() -> None:
    assert TRANSITIONS[S.STOPPING] <= DONE


def test_safe_stop_statuses_stop_directly_and_can_be_skipped() -> None:
    for status in SAFE_STOP:
        assert decide(status, S.STOPPED).accepted
        assert decide(status, S.SKIPPED).accepted
    for status in set(S) - SAFE_STOP - DONE:
        assert not decide(status, S.SKIPPED).accepted


def walk(*steps: RunStatus) -> Timeline:
    timeline = Timeline.start(T0)
    for i, status in enumerate(steps, start=1):
        change = set_status(timeline, status, at=T0 + timedelta(seconds=i))
        assert change.decision.accepted, change.decision.reason
        timeline = change.timeline
    return timeline


def test_happy_path_times() -> None:
    timeline = walk(S.COMPILED, S.QUEUED, S.SCHEDULED, S.STARTING, S.RUNNING, S.SUCCEEDED)
    assert [c.type for c in timeline.conditions] == [
        S.CREATED, S.COMPILED, S.QUEUED, S.SCHEDULED, S.STARTING, S.RUNNING, S.SUCCEEDED
    ]  # fmt: skip
    assert timeline.started_at == T0 + timedelta(seconds=4)
    assert timeline.finished_at == T0 + timedelta(seconds=6)
    assert timeline.wait_time == 4.0
    assert timeline.duration == 2.0


def test_refresh_updates_the_last_condition_only() -> None:
    timeline = walk(S.COMPILED, S.QUEUED)
    change = set_status(timeline, S.QUEUED, at=T0 + timedelta(seconds=9), message="position 3")
    assert change.decision.outcome == "refresh"
    assert len(change.timeline.conditions) == 3
    last = change.timeline.conditions[-1]
    assert last.message == "position 3"
    assert last.last_update_time == T0 + timedelta(seconds=9)
    assert last.last_transition_time == T0 + timedelta(seconds=2)


def test_refused_change_leaves_the_timeline_alone() -> None:
    timeline = walk(S.COMPILED, S.QUEUED, S.SCHEDULED, S.RUNNING, S.FAILED)
    change = set_status(timeline, S.RUNNING, at=T0 + timedelta(seconds=30))
    assert not change.decision.accepted
    assert change.timeline is timeline


def test_resume_reopens_a_finished_run() -> None:
    timeline = walk(S.RUNNING, S.STOPPED)
    change = set_status(timeline, S.RESUMING, at=T0 + timedelta(seconds=10), force=True)
    assert change.decision.accepted
    assert change.timeline.finished_at is None
    assert change.timeline.started_at == T0 + timedelta(seconds=1)


def test_polyaxon_true_string_is_accepted() -> None:
    from libs.common.lifecycle import StatusCondition

    condition = StatusCondition.model_validate(
        {"type": "running", "status": "True", "last_update_time": T0, "last_transition_time": T0}
    )
    assert condition.status is True
