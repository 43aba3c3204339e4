"""The scheduling decision: queues, quotas, capacity, fair share, priorities, explanations.
Properties are checked over random workloads."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from hypothesis import given, settings
from hypothesis import strategies as st

from libs.common.quantities import Resources, parse_quantity
from services.scheduler.domain.decisions import Active, Queue, Situation, Waiting, plan
from services.scheduler.domain.limits import Limits

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DEFAULT = {"default": Queue("default", concurrency=4)}


def waiting(
    project: str, n: int, *, queue: str = "default", start: int = 0, **extra: object
) -> list[Waiting]:
    return [
        Waiting(uuid4(), queue, project, T0 + timedelta(seconds=start + i), **extra)
        for i in range(n)
    ]  # type: ignore[arg-type]


def projects_of(situation: Situation, uuids: list[UUID]) -> list[str]:
    by_uuid = {w.uuid: w.project for w in situation.waiting}
    return [by_uuid[u] for u in uuids]


def test_fair_share_between_a_sweep_and_a_small_project() -> None:
    situation = Situation(DEFAULT, [], waiting("sweep", 100) + waiting("small", 2, start=1000))
    assert Counter(projects_of(situation, plan(situation).start)) == {"sweep": 2, "small": 2}


def test_shares_weigh_projects() -> None:
    queues = {"default": Queue("default", concurrency=6)}
    situation = Situation(queues, [], waiting("a", 10) + waiting("b", 10), shares={"a": 2.0})
    assert Counter(projects_of(situation, plan(situation).start)) == {"a": 4, "b": 2}


def test_a_new_project_gets_the_next_slot() -> None:
    running = [Active(uuid4(), "default", "sweep") for _ in range(3)]
    situation = Situation(DEFAULT, running, waiting("sweep", 50) + waiting("late", 1, start=500))
    assert projects_of(situation, plan(situation).start) == ["late"]


def test_priorities_within_a_project_then_arrival() -> None:
    runs = [*waiting("p", 3), Waiting(uuid4(), "default", "p", T0 + timedelta(hours=1), priority=5)]
    situation = Situation({"default": Queue("default", concurrency=2)}, [], runs)
    assert plan(situation).start == [runs[3].uuid, runs[0].uuid]


def test_higher_priority_queues_are_served_first_under_capacity() -> None:
    queues = {
        "default": Queue("default", concurrency=10),
        "urgent": Queue("urgent", priority=10, concurrency=10),
    }
    runs = waiting("p", 5) + waiting("p", 5, queue="urgent", start=100)
    situation = Situation(queues, [], runs, capacity=Limits(runs=3))
    started = plan(situation).start
    assert {w.queue for w in runs if w.uuid in started} == {"urgent"}
    assert len(started) == 3


def test_quotas_pass_over_runs_that_do_not_fit() -> None:
    big = Waiting(uuid4(), "default", "p", T0, resources=Resources(gpu=4))
    small = Waiting(uuid4(), "default", "p", T0 + timedelta(seconds=1), resources=Resources(gpu=1))
    situation = Situation(DEFAULT, [], [big, small], project_quotas={"p": Limits(gpu=2)})
    decision = plan(situation, explain=True)
    assert decision.start == [small.uuid]
    wait = decision.waits[big.uuid]
    assert wait.reason == "project_quota"
    assert wait.message.startswith("project 'p' quota: gpu 1/2 in use, needs 4")


def test_user_quota_and_memory_quantities() -> None:
    need = Resources(memory=parse_quantity("6Gi"))
    runs = waiting("p", 3, user="ann", resources=need)
    situation = Situation(
        DEFAULT, [], runs, user_quotas={"ann": Limits(memory=parse_quantity("16Gi"))}
    )
    decision = plan(situation, explain=True)
    assert len(decision.start) == 2
    assert (
        "user 'ann' quota: memory 12Gi/16Gi in use, needs 6Gi"
        in decision.waits[runs[2].uuid].message
    )


def test_explanations_name_the_queue_limit_and_position() -> None:
    running = [Active(uuid4(), "default", "p") for _ in range(4)]
    runs = waiting("p", 3)
    decision = plan(Situation(DEFAULT, running, runs), explain=True)
    assert decision.start == []
    assert [decision.waits[r.uuid].position for r in runs] == [1, 2, 3]
    assert (
        decision.waits[runs[1].uuid].message
        == "queue 'default' is full (4/4 running); position 2 of 3 in queue 'default'"
    )


def test_unknown_queue() -> None:
    runs = waiting("p", 1, queue="gpu")
    decision = plan(Situation(DEFAULT, [], runs), explain=True)
    assert decision.start == []
    assert decision.waits[runs[0].uuid].message == "queue 'gpu' does not exist"


def test_unlimited_queue_starts_everything_that_fits_capacity() -> None:
    situation = Situation(
        {"default": Queue("default")}, [], waiting("p", 20), capacity=Limits(cpu=4.0)
    )
    runs_cpu = [
        Waiting(w.uuid, w.queue, w.project, w.queued_at, resources=Resources(cpu=1.0))
        for w in situation.waiting
    ]
    assert len(plan(Situation(situation.queues, [], runs_cpu, capacity=Limits(cpu=4.0))).start) == 4


# Properties over random workloads.

projects = st.sampled_from(["a", "b", "c", "d"])
queue_names = st.sampled_from(["default", "gpu"])
users = st.sampled_from(["ann", "bob", None])
amounts = st.sampled_from([0.0, 0.5, 1.0, 2.0])


@st.composite
def situations(draw: st.DrawFn) -> Situation:
    queues = {
        "default": Queue(
            "default", draw(st.integers(0, 3)), draw(st.one_of(st.none(), st.integers(1, 6)))
        ),
        "gpu": Queue("gpu", draw(st.integers(0, 3)), draw(st.one_of(st.none(), st.integers(1, 4)))),
    }
    runs = draw(
        st.lists(
            st.tuples(
                queue_names,
                projects,
                users,
                st.integers(0, 2),
                amounts,
                amounts,
                st.integers(0, 100),
            ),
            max_size=40,
        )
    )
    pending = [
        Waiting(
            uuid4(),
            q,
            p,
            T0 + timedelta(seconds=t),
            user=u,
            priority=prio,
            resources=Resources(cpu=cpu, gpu=gpu),
        )
        for q, p, u, prio, cpu, gpu, t in runs
    ]
    limits = st.builds(
        Limits,
        runs=st.one_of(st.none(), st.integers(0, 4)),
        cpu=st.one_of(st.none(), st.sampled_from([1.0, 2.0, 4.0])),
        gpu=st.one_of(st.none(), st.sampled_from([0.0, 1.0, 2.0])),
    )
    return Situation(
        queues,
        [],
        pending,
        project_quotas=draw(st.dictionaries(projects, limits, max_size=3)),
        user_quotas=draw(st.dictionaries(st.sampled_from(["ann", "bob"]), limits, max_size=2)),
        capacity=draw(limits),
    )


def used(
    runs: list[Waiting], key: object = None, *, attr: str | None = None
) -> tuple[int, Resources]:
    chosen = [r for r in runs if attr is None or getattr(r, attr) == key]
    total = Resources()
    for run in chosen:
        total = total + run.resources
    return len(chosen), total


def within(limits: Limits | None, count: int, total: Resources) -> bool:
    if limits is None:
        return True
    checks = [
        (limits.runs, count),
        (limits.cpu, total.cpu),
        (limits.gpu, total.gpu),
        (limits.memory, total.memory),
    ]
    return all(limit is None or amount <= limit + 1e-9 for limit, amount in checks)


@settings(max_examples=300, deadline=None)
@given(situations())
def test_no_limit_is_ever_exceeded(situation: Situation) -> None:
    started = set(plan(situation).start)
    runs = [w for w in situation.waiting if w.uuid in started]
    for name, queue in situation.queues.items():
        count = sum(1 for r in runs if r.queue == name)
        assert queue.concurrency is None or count <= queue.concurrency
    assert within(situation.capacity, *used(runs))
    for project, limits in situation.project_quotas.items():
        assert within(limits, *used(runs, project, attr="project"))
    for user, limits in situation.user_quotas.items():
        assert within(limits, *used(runs, user, attr="user"))


@settings(max_examples=300, deadline=None)
@given(situations())
def test_nothing_that_could_start_is_left_waiting(situation: Situation) -> None:
    decision = plan(situation, explain=True)
    for run in situation.waiting:
        if run.uuid not in decision.start:
            assert decision.waits[run.uuid].reason != "behind", decision.waits[run.uuid]


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(projects, st.integers(1, 30), min_size=2), st.integers(1, 8))
def test_equal_shares_stay_balanced_round_after_round(
    demand: dict[str, int], concurrency: int
) -> None:
    """Max-min fairness: while two projects both wait, their running counts differ by at most one;
    and every run eventually starts (nobody starves)."""
    queues = {"default": Queue("default", concurrency=concurrency)}
    pending = [w for project, n in demand.items() for w in waiting(project, n)]
    rounds = 0
    while pending:
        rounds += 1
        decision = plan(Situation(queues, [], pending))
        started = set(decision.start)
        assert started, "a round started nothing while runs wait and the queue is empty"
        running = Counter(w.project for w in pending if w.uuid in started)
        pending = [w for w in pending if w.uuid not in started]
        still_waiting = {w.project for w in pending}
        counts = [running[p] for p in still_waiting]
        if len(counts) > 1:
            assert max(counts) - min(counts) <= 1
        for project in still_waiting:
            # A project that still waits got at least as much as anyone who did not wait.
            assert all(running[project] >= running[other] - 1 for other in demand)
    assert rounds <= sum(demand.values())
