"""A Kubernetes cluster for tests: kmock's API server (real HTTP, state, watches) plus the parts
of Kubernetes that kmock leaves out, played over the same API the way the real components do:

- the API server's label selectors, pod logs (`pods/{name}/log`, with follow, timestamps and
  sinceSeconds), graceful deletion (pods keep a finalizer until their containers ended), and a
  check of every manifest a client creates: core kinds against the Kubernetes 1.33 schemas
  (kubernetes-validate, strict), training jobs structurally with their pod templates against the
  PodTemplateSpec schema;
- the Job controller, the training operator and the garbage collector (pods for Jobs and
  training jobs, their statuses and conditions, pods deleted with their owner);
- the kubelet: each container's command runs as a local process, its output becomes the pod's
  log, its exit the container's terminated state; a deleted pod's processes get SIGTERM and,
  after the grace period, SIGKILL.

Kubernetes is a third party here: this stands in for it, as the testing notes describe.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import signal
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import kmock
import kubernetes_validate
from kmock._internal import parsing

PODS = kmock.resource("", "v1", "pods")
FINALIZER = "tests.ganglion.dev/kubelet"
TRAINING = {
    "tfjobs": ("TFJob", "tfReplicaSpecs", {"Chief", "PS", "Worker", "Evaluator"},
               {"enableDynamicWorker", "successPolicy"}),
    "pytorchjobs": ("PyTorchJob", "pytorchReplicaSpecs", {"Master", "Worker"},
                    {"elasticPolicy", "nprocPerNode"}),
    "mpijobs": ("MPIJob", "mpiReplicaSpecs", {"Launcher", "Worker"},
                {"slotsPerWorker", "cleanPodPolicy", "mainContainer"}),
}  # fmt: skip
RUN_POLICY = {
    "activeDeadlineSeconds", "backoffLimit", "cleanPodPolicy", "schedulingPolicy", "suspend",
    "ttlSecondsAfterFinished",
}  # fmt: skip
SCHEDULING_POLICY = {
    "minAvailable", "minResources", "priorityClass", "queue", "scheduleTimeoutSeconds",
}  # fmt: skip


def stamp(when: datetime | None = None) -> str:
    return (when or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


def selected(obj: dict[str, Any], selector: str | None) -> bool:
    """Equality-based label selectors (`a=b,c`), as the runner uses them."""
    labels = obj.get("metadata", {}).get("labels") or {}
    for term in filter(None, (selector or "").split(",")):
        key, _, value = term.partition("=")
        if (value and labels.get(key) != value) or (not value and key not in labels):
            return False
    return True


def validate_training_job(body: dict[str, Any]) -> None:
    """The training operator's kubeflow.org/v1 fields (from its CRDs), every template strict."""
    plural = body["kind"].lower() + "s"
    kind, replicas_field, roles, extra = TRAINING[plural]
    assert body["apiVersion"] == "kubeflow.org/v1", body["apiVersion"]
    assert set(body) <= {"apiVersion", "kind", "metadata", "spec"}, set(body)
    spec = body["spec"]
    unknown = set(spec) - {replicas_field, "runPolicy"} - extra
    assert not unknown, f"unknown fields in {kind}.spec: {unknown}"
    assert set(spec.get("runPolicy", {})) <= RUN_POLICY, spec["runPolicy"]
    assert set(spec.get("runPolicy", {}).get("schedulingPolicy", {})) <= SCHEDULING_POLICY
    assert spec[replicas_field] and set(spec[replicas_field]) <= roles, spec[replicas_field]
    for replica in spec[replicas_field].values():
        assert set(replica) <= {"replicas", "restartPolicy", "template"}, set(replica)
        assert replica["restartPolicy"] in ("Always", "OnFailure", "Never", "ExitCode")
        assert isinstance(replica["replicas"], int)
        kubernetes_validate.validate(
            {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"},
             "template": replica["template"]},
            "1.33",
            strict=True,
        )  # fmt: skip


def validate(body: dict[str, Any]) -> None:
    if body.get("apiVersion", "").startswith("kubeflow.org/"):
        validate_training_job(body)
    else:
        kubernetes_validate.validate(body, "1.33", strict=True)


@dataclass
class ContainerLog:
    lines: list[tuple[datetime, str]] = field(default_factory=list)
    done: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, text: str) -> None:
        self.lines.append((datetime.now(UTC), text))
        self.changed.set()

    def close(self) -> None:
        self.done = True
        self.changed.set()


class FakeKubernetes(kmock.KubernetesEmulator):  # type: ignore[misc]
    """kmock's emulator with selectors, pod logs, graceful deletion and manifest checks."""

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.created: list[dict[str, Any]] = []
        self.violations: list[str] = []
        self.pod_logs: dict[tuple[str, str], ContainerLog] = {}
        self.on_pod_delete: Any = None
        self.deletes: list[tuple[str, dict[str, str]]] = []
        for key, kind in [
            ("v1/pods", "Pod"), ("v1/services", "Service"), ("batch/v1/jobs", "Job"),
            ("kubeflow.org/v1/tfjobs", "TFJob"), ("kubeflow.org/v1/pytorchjobs", "PyTorchJob"),
            ("kubeflow.org/v1/mpijobs", "MPIJob"),
        ]:  # fmt: skip
            self.resources[key] = kmock.ResourceInfo(namespaced=True, kind=kind)
        self["get", re.compile(r"^/api/v1/namespaces/[^/]+/pods/[^/]+/log$")] << self._serve_log

    async def _handle(self, request: Any) -> Any:
        from_cluster = "X-Fake-Cluster" in request.headers
        if request.action == kmock.action.CREATE and not from_cluster:
            self.created.append(request.data)
            try:
                validate(request.data)
            except Exception as exc:
                self.violations.append(f"{request.data.get('kind')}: {exc}")
                raise kmock.KubernetesError(
                    status=422, reason="Invalid", message=str(exc)
                ) from None
        if request.action == kmock.action.DELETE:
            self.deletes.append((str(request.url.path), dict(request.params)))
            if request.resource == PODS and self.on_pod_delete is not None:
                grace = request.params.get("gracePeriodSeconds")
                self.on_pod_delete(request.name, int(grace) if grace is not None else None)
        return await super()._handle(request)

    async def _serve_list(self, request: Any) -> Any:
        body = await super()._serve_list(request)
        selector = request.params.get("labelSelector")
        body["items"] = [obj for obj in body["items"] if selected(obj, selector)]
        return body

    async def _serve_watch(self, request: Any) -> AsyncIterator[Any]:
        selector = request.params.get("labelSelector")
        async for event in super()._serve_watch(request):
            if isinstance(event, dict) and not selected(event.get("object") or {}, selector):
                continue
            yield event

    def _serve_log(self, request: Any) -> Any:
        pod = request.url.path.split("/")[-2]
        container = request.params.get("container", "main")
        if (PODS, request.url.path.split("/")[4], pod) not in self.objects:
            raise kmock.KubernetesObjectNotFoundError()
        log = self.pod_logs.get((pod, container))
        if log is None:
            raise kmock.KubernetesError(
                status=400,
                reason="BadRequest",
                message=f'container "{container}" in pod "{pod}" is waiting to start',
            )
        return self._stream_log(request, log)

    async def _stream_log(self, request: Any, log: ContainerLog) -> AsyncIterator[bytes]:
        yield b""
        timestamps = request.params.get("timestamps") in ("true", "True")
        follow = request.params.get("follow") in ("true", "True")
        since = request.params.get("sinceSeconds")
        oldest = datetime.now(UTC) - timedelta(seconds=int(since)) if since else None
        sent = 0
        while True:
            log.changed.clear()
            for when, text in log.lines[sent:]:
                if oldest is None or when >= oldest:
                    yield (f"{stamp(when)} {text}\n" if timestamps else f"{text}\n").encode()
            sent = len(log.lines)
            if log.done or not follow:
                return
            await log.changed.wait()


@dataclass
class Execution:
    """One pod's containers as the kubelet runs them."""

    pod: dict[str, Any]
    processes: dict[str, asyncio.subprocess.Process] = field(default_factory=dict)
    deleting: bool = False
    task: asyncio.Task[None] | None = None


class FakeCluster:
    """The controllers and the kubelet, talking to `api` over HTTP like the real ones."""

    def __init__(self, api: FakeKubernetes, url: str, namespace: str) -> None:
        self.api = api
        self.url = url.rstrip("/")
        self.namespace = namespace
        self.executions: dict[str, Execution] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._seen: set[str] = set()
        self.http: aiohttp.ClientSession | None = None
        api.on_pod_delete = self._pod_deleted

    async def __aenter__(self) -> FakeCluster:
        self.http = aiohttp.ClientSession(headers={"X-Fake-Cluster": "1"})
        ns = f"/namespaces/{self.namespace}"
        watches = {f"/apis/batch/v1{ns}/jobs": self._job_event}
        for plural in TRAINING:
            watches[f"/apis/kubeflow.org/v1{ns}/{plural}"] = self._training_event
        for path, handler in watches.items():
            self._tasks.append(asyncio.create_task(self._watch(path, handler)))
        return self

    async def __aexit__(self, *exc: object) -> None:
        for execution in self.executions.values():
            for process in execution.processes.values():
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
            if execution.task is not None:
                execution.task.cancel()
        for task in self._tasks:
            task.cancel()
        tasks = [*self._tasks, *(e.task for e in self.executions.values() if e.task)]
        await asyncio.gather(*tasks, return_exceptions=True)
        assert self.http is not None
        await self.http.close()

    def _background(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._tasks.append(task)

    # -- HTTP --------------------------------------------------------------------------------

    async def request(self, method: str, path: str, body: Any = None) -> Any:
        assert self.http is not None
        headers = {"Content-Type": "application/merge-patch+json"} if method == "PATCH" else {}
        async with self.http.request(
            method, self.url + path, json=body, headers=headers
        ) as response:
            text = await response.text()
            return json.loads(text) if text and response.status < 300 else None

    async def _watch(self, path: str, handler: Any) -> None:
        assert self.http is not None
        async with self.http.get(self.url + path, params={"watch": "true"}) as response:
            async for raw in response.content:
                if raw.strip():
                    event = json.loads(raw)
                    await handler(event["type"], event["object"])

    # -- the Job controller, the training operator, the garbage collector --------------------

    async def _job_event(self, kind: str, job: dict[str, Any]) -> None:
        name = job["metadata"]["name"]
        if kind == "DELETED":
            await self._collect({"job-name": name})
        elif kind == "ADDED" and name not in self._seen:
            self._seen.add(name)
            labels = {"job-name": name, "batch.kubernetes.io/job-name": name}
            await self._create_pod(
                job, job["spec"]["template"], f"{name}-{secrets.token_hex(3)[:5]}", labels
            )

    async def _training_event(self, kind: str, job: dict[str, Any]) -> None:
        name = job["metadata"]["name"]
        if kind == "DELETED":
            await self._collect({"training.kubeflow.org/job-name": name})
        elif kind == "ADDED" and name not in self._seen:
            self._seen.add(name)
            _, field_name, _, _ = TRAINING[job["kind"].lower() + "s"]
            await self._set_training(job, "Created")
            for role, replica in job["spec"][field_name].items():
                for index in range(replica.get("replicas", 1)):
                    labels = {
                        "training.kubeflow.org/job-name": name,
                        "training.kubeflow.org/replica-type": role.lower(),
                        "training.kubeflow.org/replica-index": str(index),
                    }
                    await self._create_pod(
                        job, replica["template"], f"{name}-{role.lower()}-{index}", labels
                    )

    async def _set_training(self, job: dict[str, Any], condition: str, message: str = "") -> None:
        meta = job["metadata"]
        path = f"/apis/kubeflow.org/v1/namespaces/{meta['namespace']}/{job['kind'].lower()}s/{meta['name']}/status"
        status = {
            "type": condition,
            "status": "True",
            "reason": f"Job{condition}",
            "message": message,
        }
        await self.request("PATCH", path, {"status": {"conditions": [status]}})

    async def _collect(self, labels: dict[str, str]) -> None:
        for pod in list(self.executions.values()):
            own = pod.pod["metadata"]["labels"]
            if all(own.get(k) == v for k, v in labels.items()) and not pod.deleting:
                await self.request("DELETE", self._pod_path(pod.pod["metadata"]["name"]))

    def _pod_path(self, name: str) -> str:
        return f"/api/v1/namespaces/{self.namespace}/pods/{name}"

    async def _create_pod(
        self, owner: dict[str, Any], template: dict[str, Any], name: str, labels: dict[str, str]
    ) -> None:
        meta = template.get("metadata") or {}
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "namespace": self.namespace,
                "labels": {**(meta.get("labels") or {}), **labels},
                "annotations": meta.get("annotations") or {},
                "finalizers": [FINALIZER],
                "creationTimestamp": stamp(),
                "ownerReferences": [
                    {
                        "apiVersion": owner["apiVersion"],
                        "kind": owner["kind"],
                        "name": owner["metadata"]["name"],
                        "uid": "0",
                        "controller": True,
                    }
                ],
            },
            "spec": {**template["spec"], "nodeName": "node-1"},
            "status": {"phase": "Pending"},
        }
        await self.request("POST", f"/api/v1/namespaces/{self.namespace}/pods", pod)
        execution = Execution(pod)
        self.executions[name] = execution
        execution.task = asyncio.create_task(self._kubelet(execution, owner))

    # -- the kubelet ---------------------------------------------------------------------------

    def _pod_deleted(self, name: str, grace: int | None) -> None:
        execution = self.executions.get(name)
        if execution is None:
            return
        execution.deleting = True
        period = (
            grace
            if grace is not None
            else execution.pod["spec"].get("terminationGracePeriodSeconds", 30)
        )
        for process in execution.processes.values():
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGKILL if period == 0 else signal.SIGTERM)
        if period:
            asyncio.get_running_loop().call_later(period, self._kill, execution)
        if execution.task is not None and execution.task.done():
            self._background(self._release(execution))

    @staticmethod
    def _kill(execution: Execution) -> None:
        for process in execution.processes.values():
            with contextlib.suppress(ProcessLookupError):
                process.kill()

    async def _release(self, execution: Execution) -> None:
        name = execution.pod["metadata"]["name"]
        await self.request("PATCH", self._pod_path(name), {"metadata": {"finalizers": []}})

    async def _patch_status(self, name: str, status: dict[str, Any]) -> None:
        await self.request("PATCH", self._pod_path(name) + "/status", {"status": status})

    async def _kubelet(self, execution: Execution, owner: dict[str, Any]) -> None:
        pod = execution.pod
        name = pod["metadata"]["name"]
        spec = pod["spec"]
        statuses: dict[str, dict[str, Any]] = {}
        init_statuses: dict[str, dict[str, Any]] = {}

        async def report(phase: str) -> None:
            await self._patch_status(
                name,
                {
                    "phase": phase,
                    "conditions": [{"type": "PodScheduled", "status": "True"}],
                    "initContainerStatuses": list(init_statuses.values()) or None,
                    "containerStatuses": list(statuses.values()),
                },
            )

        main = spec["containers"][0]
        statuses[main["name"]] = _status(main, {"waiting": {"reason": "ContainerCreating"}})
        await report("Pending")
        sidecars = []
        for init in spec.get("initContainers") or []:
            if execution.deleting:
                break
            if init.get("restartPolicy") == "Always":
                process = await self._exec(execution, init, init_statuses)
                if process is not None:
                    sidecars.append(process)
                    await report("Pending")
                continue
            process = await self._exec(execution, init, init_statuses)
            code = await self._wait(execution, init, process, init_statuses)
            if code != 0:
                await report("Failed")
                await self._finish(
                    execution, owner, failed=True, message=f"init {init['name']} failed"
                )
                return
        process = None if execution.deleting else await self._exec(execution, main, statuses)
        await report("Running" if process is not None else "Pending")
        code = await self._wait(execution, main, process, statuses)
        for side in sidecars:
            with contextlib.suppress(ProcessLookupError):
                side.terminate()
            await side.wait()
        for init in spec.get("initContainers") or []:
            if init.get("restartPolicy") == "Always" and init["name"] in execution.processes:
                await self._wait(execution, init, execution.processes[init["name"]], init_statuses)
        await report("Succeeded" if code == 0 else "Failed")
        await self._finish(execution, owner, failed=code != 0, message=f"exit code {code}")

    async def _exec(
        self, execution: Execution, container: dict[str, Any], statuses: dict[str, dict[str, Any]]
    ) -> asyncio.subprocess.Process | None:
        pod = execution.pod["metadata"]["name"]
        log = self.api.pod_logs.setdefault((pod, container["name"]), ContainerLog())
        command = [*(container.get("command") or []), *(container.get("args") or [])]
        env = {k: v for k, v in os.environ.items() if not k.startswith("GANGLION_")}
        env.update({e["name"]: e["value"] for e in container.get("env") or [] if "value" in e})
        env.setdefault("PYTHONUNBUFFERED", "1")
        try:
            if not command:
                raise FileNotFoundError("no command")
            process = await asyncio.create_subprocess_exec(
                *command,
                cwd=container.get("workingDir"),
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError:
            message = (
                "failed to create containerd task: failed to create shim task: OCI runtime "
                f"create failed: runc create failed: unable to start container process: exec: "
                f'"{command[0] if command else ""}": executable file not found in $PATH: unknown'
            )
            statuses[container["name"]] = _status(
                container,
                {"terminated": {"exitCode": 128, "reason": "StartError", "message": message,
                                "startedAt": "1970-01-01T00:00:00Z", "finishedAt": stamp()}},
            )  # fmt: skip
            log.close()
            return None
        execution.processes[container["name"]] = process
        statuses[container["name"]] = _status(container, {"running": {"startedAt": stamp()}})
        self._background(_pump(process, log))
        return process

    async def _wait(
        self,
        execution: Execution,
        container: dict[str, Any],
        process: asyncio.subprocess.Process | None,
        statuses: dict[str, dict[str, Any]],
    ) -> int:
        if process is None:
            terminated = statuses[container["name"]]["state"].get("terminated")
            return int(terminated["exitCode"]) if terminated else 1
        code = await process.wait()
        code = 128 - code if code < 0 else code
        log = self.api.pod_logs[(execution.pod["metadata"]["name"], container["name"])]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_closed(log), 5)
        statuses[container["name"]] = _status(
            container,
            {"terminated": {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                            "startedAt": stamp(), "finishedAt": stamp()}},
        )  # fmt: skip
        return code

    async def _finish(
        self, execution: Execution, owner: dict[str, Any], *, failed: bool, message: str
    ) -> None:
        meta = owner["metadata"]
        if owner["kind"] == "Job":
            path = f"/apis/batch/v1/namespaces/{meta['namespace']}/jobs/{meta['name']}/status"
            condition = {"type": "Failed" if failed else "Complete", "status": "True"}
            counts = {"failed": 1} if failed else {"succeeded": 1}
            await self.request("PATCH", path, {"status": {**counts, "conditions": [condition]}})
        else:
            leader = execution.pod["metadata"]["labels"]["training.kubeflow.org/replica-type"]
            if failed:
                await self._set_training(owner, "Failed", message)
            elif leader in ("chief", "master", "launcher") or not any(
                e.pod["metadata"]["labels"].get("training.kubeflow.org/replica-type")
                in ("chief", "master", "launcher")
                for e in self.executions.values()
                if e.pod["metadata"]["labels"].get("training.kubeflow.org/job-name") == meta["name"]
            ):
                await self._set_training(owner, "Succeeded")
        if execution.deleting:
            await self._release(execution)


def _status(container: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": container["name"],
        "image": container.get("image"),
        "imageID": "",
        "ready": "running" in state,
        "restartCount": 0,
        "started": "running" in state,
        "state": state,
    }


async def _pump(process: asyncio.subprocess.Process, log: ContainerLog) -> None:
    assert process.stdout is not None
    async for raw in process.stdout:
        log.add(raw.decode("utf-8", "replace").rstrip("\r\n"))
    log.close()


async def _closed(log: ContainerLog) -> None:
    while not log.done:
        log.changed.clear()
        await log.changed.wait()


@contextlib.contextmanager
def watch_is_lowercase() -> Iterator[None]:
    """kubernetes-asyncio sends `watch=True`; kmock 0.8 recognises only `watch=true`."""
    original = parsing.guess_k8s

    def guess(k8s: Any, method: Any, query: dict[str, str]) -> Any:
        if "watch" in query:
            query = {**query, "watch": query["watch"].lower()}
        return original(k8s, method, query)

    parsing.guess_k8s = guess
    try:
        yield
    finally:
        parsing.guess_k8s = original


@contextlib.asynccontextmanager
async def fake_cluster(namespace: str = "ganglion") -> AsyncIterator[FakeCluster]:
    with watch_is_lowercase():
        async with FakeKubernetes() as api, kmock.Server(api) as server:
            async with FakeCluster(api, str(server.url), namespace) as cluster:
                yield cluster
            assert api.violations == [], api.violations
