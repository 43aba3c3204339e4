"""What a run's Kubernetes objects say about it, as the Runner contract's Observation. Pure
functions over the objects' JSON (as the API returns them), tested without a server.

The verdict comes from the main container only (sidecars never change it): terminated with its
exit code, or a failure to start (exit code 127, like the local runner's "cannot start"). A pod
that cannot be scheduled or whose image cannot be pulled is pending, with the reason as message.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from services.scheduler.runners.base import Observation, State

# The runtime could not start the process (missing executable, bad working dir, ...).
START_FAILURES = frozenset({"StartError", "ContainerCannotRun"})
# Waiting reasons that will not resolve by waiting.
FATAL_WAITING = frozenset({"InvalidImageName"})
CANNOT_START = 127


def container_status(pod: dict[str, Any], name: str) -> dict[str, Any] | None:
    for status in pod.get("status", {}).get("containerStatuses") or []:
        if status.get("name") == name:
            return dict(status)
    return None


def has_started(status: dict[str, Any] | None) -> bool:
    if status is None:
        return False
    state = status.get("state") or {}
    if "running" in state:
        return True
    terminated = state.get("terminated")
    return terminated is not None and terminated.get("reason") not in START_FAILURES


def observe_pod(pod: dict[str, Any], main: str) -> Observation:
    status = pod.get("status") or {}
    own = container_status(pod, main)
    state = (own or {}).get("state") or {}
    if (terminated := state.get("terminated")) is not None:
        reason = terminated.get("reason")
        if reason in START_FAILURES:
            detail = terminated.get("message") or reason
            return Observation(State.EXITED, CANNOT_START, f"cannot start: {detail}", False)
        code = int(terminated.get("exitCode", 1))
        message = None if reason in (None, "Completed", "Error") else reason
        if terminated.get("message"):
            message = f"{message or 'terminated'}: {terminated['message']}"
        return Observation(State.EXITED, code, message, True)
    if "running" in state:
        return Observation(State.RUNNING, started=True)
    if status.get("phase") in ("Failed", "Succeeded"):
        # Ended without the container reporting (evicted, deadline exceeded, node lost).
        detail = status.get("message") or status.get("reason") or "the pod ended"
        return Observation(State.GONE, message=f"{status.get('reason') or 'PodEnded'}: {detail}")
    waiting = state.get("waiting") or {}
    if waiting.get("reason") in FATAL_WAITING:
        detail = waiting.get("message") or waiting["reason"]
        return Observation(State.EXITED, CANNOT_START, f"cannot start: {detail}", False)
    return Observation(State.PENDING, message=_pending_reason(status, waiting))


def _pending_reason(status: dict[str, Any], waiting: dict[str, Any]) -> str | None:
    if waiting.get("reason") and waiting["reason"] != "ContainerCreating":
        return f"{waiting['reason']}: {waiting.get('message') or ''}".rstrip(": ")
    for condition in status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            return f"{condition.get('reason') or 'Unschedulable'}: {condition.get('message') or ''}"
    return None


def _created(obj: dict[str, Any]) -> str:
    return str(obj.get("metadata", {}).get("creationTimestamp") or "")


def _condition(owner: dict[str, Any] | None, *types: str) -> dict[str, Any] | None:
    for condition in (owner or {}).get("status", {}).get("conditions") or []:
        if condition.get("type") in types and condition.get("status") == "True":
            return dict(condition)
    return None


def observe_job(
    owner: dict[str, Any] | None, pods: Iterable[dict[str, Any]], main: str
) -> Observation:
    """A job or service run: its Job and (normally) one pod."""
    newest = sorted(pods, key=_created)
    if newest:
        observation = observe_pod(newest[-1], main)
        if observation.state != State.PENDING or owner is None:
            return observation
    if owner is None:
        return Observation(State.GONE, message="the run's Job and pods are gone")
    if failed := _condition(owner, "Failed"):
        # The Job gave up before its pod reported (deadline, pod creation refused).
        detail = f"{failed.get('reason') or 'Failed'}: {failed.get('message') or ''}"
        return Observation(State.GONE, message=detail.rstrip(": "))
    return observation if newest else Observation(State.PENDING)


def observe_training(
    owner: dict[str, Any] | None,
    pods: Iterable[dict[str, Any]],
    main: str,
    leaders: tuple[str, ...],
) -> Observation:
    """A distributed run: the training operator's conditions, the exit code of its leader."""
    pods = list(pods)
    by_role: dict[str, list[dict[str, Any]]] = {}
    for pod in sorted(pods, key=_created):
        role = pod.get("metadata", {}).get("labels", {}).get("ganglion.dev/replica", "")
        by_role.setdefault(role, []).append(pod)
    started = any(has_started(container_status(p, main)) for p in pods)
    observations = [observe_pod(p, main) for p in pods]
    if _condition(owner, "Succeeded"):
        return Observation(State.EXITED, 0, None, True)
    if failed := _condition(owner, "Failed"):
        codes = [o for o in observations if o.state == State.EXITED and o.exit_code]
        code = codes[0].exit_code if codes else 1
        message = failed.get("message") or failed.get("reason") or "the training job failed"
        return Observation(State.EXITED, code, message, started)
    leader = next((by_role[r] for r in leaders if by_role.get(r)), None)
    if leader is not None:
        verdict = observe_pod(leader[0], main)
        if verdict.state == State.EXITED and (verdict.exit_code or owner is None):
            return verdict  # the leader failed; the operator's condition will follow
    if owner is None:
        return next(
            (o for o in observations if o.state == State.EXITED),
            Observation(State.GONE, message="the run's training job and pods are gone"),
        )
    if any(o.state == State.RUNNING for o in observations) or _condition(owner, "Running"):
        return Observation(State.RUNNING, started=True)
    messages = [o.message for o in observations if o.message]
    return Observation(State.PENDING, message=messages[0] if messages else None)


def is_finished(owner: dict[str, Any]) -> bool:
    return _condition(owner, "Complete", "Failed", "Succeeded") is not None


def parse_log_line(raw: str) -> tuple[datetime, str] | None:
    """`<RFC3339Nano> <text>`, as the API gives lines with timestamps=true."""
    stamp, _, text = raw.rstrip("\r\n").partition(" ")
    try:
        when = datetime.fromisoformat(_to_micros(stamp))
    except ValueError:
        return None
    return when, text


def _to_micros(stamp: str) -> str:
    # Python parses at most microseconds; Kubernetes gives nanoseconds.
    if "." not in stamp:
        return stamp
    head, _, fraction = stamp.partition(".")
    digits = "".join(c for c in fraction if c.isdigit())
    zone = fraction[len(digits) :]
    return f"{head}.{digits[:6].ljust(6, '0')}{zone}"
