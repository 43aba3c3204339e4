"""The Kubernetes runner: each run is a Job (job, service: plus a Service) or a Kubeflow training
job (tfjob, pytorchjob, mpijob) in one namespace, through kubernetes-asyncio.

- Statuses come from informers (list, then watch) on the runner's pods and owners; every watch
  event wakes the scheduler's monitor. Anything the cache cannot vouch for is read again from the
  API before the runner calls a run gone.
- Logs of every container (init, main, sidecars, every replica) are streamed while it runs into
  the run's `logs/` folder of the artifact store, so they outlive the pod. A run is reported over
  only once its logs are archived (or after a bounded wait).
- `stop` deletes what `start` created (the owner with background propagation, so the pods get
  their grace period; the Service); `stop(force=True)` also deletes the pods at once.
- The handle is stored on the owner as an annotation: `list_active` returns it as `start` did.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
from collections.abc import AsyncIterator, Awaitable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.exceptions import ApiException

from libs.common.artifacts import LOGS, OUTPUTS
from libs.common.logs import LOG_SUFFIX, LogLine
from services.scheduler.runners.archive import read_archives
from services.scheduler.runners.base import Handle, Launch, Observation, Runner, State
from services.scheduler.runners.kubernetes import observe
from services.scheduler.runners.kubernetes.informer import Informer, read_json
from services.scheduler.runners.kubernetes.logs import Source, archive_container
from services.scheduler.runners.kubernetes.manifests import (
    DISTRIBUTED,
    HANDLE_ANNOTATION,
    JOB,
    KIND_LABEL,
    RESOURCES,
    RUN_LABEL,
    SELECTOR,
    Resource,
    build,
    object_name,
)
from services.scheduler.runners.kubernetes.pods import MAIN, KubeOptions, ManifestError

log = logging.getLogger(__name__)

DRAIN_SECONDS = 10.0
"""How long a finished run's status waits for its logs to be archived."""


def _main_of(kind: str) -> str:
    return DISTRIBUTED[kind].container if kind in DISTRIBUTED else MAIN


def _labels(obj: dict[str, Any]) -> dict[str, str]:
    return dict(obj.get("metadata", {}).get("labels") or {})


class KubernetesRunner(Runner):
    kind = "kubernetes"

    def __init__(
        self,
        options: KubeOptions,
        *,
        configuration: client.Configuration | None = None,
        kubeconfig: str | None = None,
        context: str | None = None,
    ) -> None:
        super().__init__()
        self.options = options
        self._configuration = configuration
        self._kubeconfig = kubeconfig
        self._context = context
        self._api: client.ApiClient | None = None
        self._connecting = asyncio.Lock()
        self._pods: Informer | None = None
        self._owners: dict[Resource, Informer] = {}
        self._archivers: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._ended: dict[str, Observation] = {}
        """Last words of runs whose pods were deleted (by a stop, or a TTL) while watched."""

    # -- connection and informers -------------------------------------------------------------

    async def _client(self) -> client.ApiClient:
        async with self._connecting:
            if self._api is None:
                configuration = self._configuration
                if configuration is None:
                    configuration = client.Configuration()
                    if self._kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
                        config.load_incluster_config(  # type: ignore[no-untyped-call]
                            client_configuration=configuration
                        )
                    else:
                        await config.load_kube_config(
                            config_file=self._kubeconfig,
                            context=self._context,
                            client_configuration=configuration,
                        )
                self._api = client.ApiClient(configuration)
                core = client.CoreV1Api(self._api)
                self._pods = Informer(
                    "pods",
                    lambda **kw: core.list_namespaced_pod(self.options.namespace, **kw),
                    SELECTOR,
                    self._on_pod,
                )
                self._pods.start()
            return self._api

    async def _owners_of(self, resource: Resource) -> Informer:
        api = await self._client()
        informer = self._owners.get(resource)
        if informer is None:
            if resource == JOB:
                batch = client.BatchV1Api(api)

                def list_owners(**kw: Any) -> Any:
                    return batch.list_namespaced_job(self.options.namespace, **kw)
            else:
                custom = client.CustomObjectsApi(api)
                r = resource

                def list_owners(**kw: Any) -> Any:
                    return custom.list_namespaced_custom_object(
                        r.group, r.version, self.options.namespace, r.plural, **kw
                    )

            informer = Informer(resource.plural, list_owners, SELECTOR, self._on_owner)
            informer.start()
            self._owners[resource] = informer
        return informer

    def _on_owner(self, kind: str, obj: dict[str, Any]) -> None:
        self._changed()

    def _on_pod(self, kind: str, pod: dict[str, Any]) -> None:
        run = _labels(pod).get(RUN_LABEL)
        if run is None:
            return
        main = _main_of(_labels(pod).get(KIND_LABEL, "job"))
        if kind == "DELETED":
            ended = observe.observe_pod(pod, main)
            if ended.state == State.EXITED and (ended.exit_code or run not in self._ended):
                self._ended[run] = ended
            name = pod["metadata"]["name"]
            for key in [k for k, t in self._archivers.items() if k[0] == name and t.done()]:
                del self._archivers[key]
        else:
            self._archive_pod(pod)
        self._changed()

    # -- logs ---------------------------------------------------------------------------------

    def _archive_pod(self, pod: dict[str, Any]) -> None:
        annotations = pod.get("metadata", {}).get("annotations") or {}
        labels = _labels(pod)
        folder = self._logs_folder(annotations.get("ganglion.dev/project"), labels.get(RUN_LABEL))
        if folder is None:
            return
        name = str(pod["metadata"]["name"])
        replica = labels.get("ganglion.dev/replica")
        prefix = (
            f"{replica}-{labels.get('training.kubeflow.org/replica-index', '0')}."
            if replica
            else ""
        )
        status = pod.get("status") or {}
        for entry in [
            *(status.get("initContainerStatuses") or []),
            *(status.get("containerStatuses") or []),
        ]:
            container = str(entry.get("name"))
            key = (name, container)
            if key in self._archivers or not self._has_output(entry):
                continue
            terminated = (entry.get("state") or {}).get("terminated") or {}
            failure = None
            if terminated.get("reason") in observe.START_FAILURES:
                failure = f"cannot start: {terminated.get('message') or terminated['reason']}"
            source = Source(
                pod=name,
                container=container,
                node=(pod.get("spec") or {}).get("nodeName"),
                archive=folder / f"{prefix}{container}{LOG_SUFFIX}",
            )
            task = asyncio.create_task(
                archive_container(source, self._log_opener(), self._state_of(key), failure),
                name=f"archive:{name}/{container}",
            )
            self._archivers[key] = task

    @staticmethod
    def _has_output(entry: dict[str, Any]) -> bool:
        state = entry.get("state") or {}
        return "running" in state or "terminated" in state

    def _logs_folder(self, project: str | None, run: str | None) -> Path | None:
        if not project or not run:
            return None
        return Path(self.options.artifacts_root, project, run, LOGS)

    def _log_opener(self) -> Any:
        assert self._api is not None
        core = client.CoreV1Api(self._api)
        return lambda pod, **kw: core.read_namespaced_pod_log(pod, self.options.namespace, **kw)

    def _state_of(self, key: tuple[str, str]) -> Any:
        def state() -> dict[str, Any] | None:
            pod = self._pods.objects.get(key[0]) if self._pods else None
            if pod is None:
                return None
            status = pod.get("status") or {}
            for entry in [
                *(status.get("initContainerStatuses") or []),
                *(status.get("containerStatuses") or []),
            ]:
                if entry.get("name") == key[1]:
                    return dict(entry)
            return {}

        return state

    async def _drain(self, pods: list[dict[str, Any]]) -> None:
        names = {p["metadata"]["name"] for p in pods}
        tasks = [t for (pod, _), t in self._archivers.items() if pod in names and not t.done()]
        if tasks:
            await asyncio.wait(tasks, timeout=DRAIN_SECONDS)

    async def logs(self, handle: Handle) -> AsyncIterator[LogLine]:
        await self._client()  # a restarted scheduler resumes archiving from here on
        for line in await read_archives(Path(handle["logs_path"])):
            yield line

    # -- the contract -------------------------------------------------------------------------

    async def start(self, launch: Launch) -> Handle:
        resource = RESOURCES.get(launch.kind)
        if resource is None:
            raise ManifestError(f"run.kind {launch.kind!r} is not run by the kubernetes runner")
        name = object_name(launch, secrets.token_hex(3)[:5])
        logs_path = Path(launch.artifacts_path, LOGS)
        manifests = build(launch, self.options, name)
        handle: Handle = {
            "runner": self.kind,
            "run_uuid": launch.run_uuid.hex,
            "namespace": self.options.namespace,
            "name": name,
            "kind": launch.kind,
            "resource": asdict(resource),
            "service": name if manifests.service else None,
            "logs_path": str(logs_path),
            "image": launch.image,
            "resources": launch.resources,
            "command": launch.command,
        }
        manifests.owner["metadata"]["annotations"][HANDLE_ANNOTATION] = json.dumps(handle)
        owner: Any = manifests.owner
        service: Any = manifests.service

        def folders() -> None:
            for sub in (LOGS, OUTPUTS):
                Path(launch.artifacts_path, sub).mkdir(parents=True, exist_ok=True)

        await asyncio.to_thread(folders)
        api = await self._client()
        owners = await self._owners_of(resource)
        namespace = self.options.namespace
        try:
            if resource == JOB:
                created = await read_json(
                    client.BatchV1Api(api).create_namespaced_job(
                        namespace, owner, _preload_content=False
                    )
                )
            else:
                created = await read_json(
                    client.CustomObjectsApi(api).create_namespaced_custom_object(
                        resource.group,
                        resource.version,
                        namespace,
                        resource.plural,
                        owner,
                        _preload_content=False,
                    )
                )
        except ApiException as exc:
            if exc.status == 404 and resource != JOB:
                raise RuntimeError(
                    f"the cluster serves no {resource.kind} ({resource.api_version}, "
                    f"{resource.plural}): is the Kubeflow training operator installed?"
                ) from None
            raise
        owners.put(created)
        if service is not None:
            await read_json(
                client.CoreV1Api(api).create_namespaced_service(
                    namespace, service, _preload_content=False
                )
            )
        return handle

    async def status(self, handle: Handle) -> Observation:
        resource = Resource(**handle["resource"])
        owners = await self._owners_of(resource)
        assert self._pods is not None
        if self._pods.synced.is_set() and owners.synced.is_set():
            owner = owners.objects.get(handle["name"])
            pods = self._pods_of(handle, self._pods.objects.values())
            observation = self._observe(handle, owner, pods)
            confirmed = observation.state != State.GONE
        else:
            confirmed = False
        if not confirmed:
            # The cache may lag behind (just started, watch reconnecting): ask the API itself.
            owner, pods = await self._read(handle, resource)
            observation = self._observe(handle, owner, pods)
        if observation.state == State.GONE and handle["run_uuid"] in self._ended:
            observation = self._ended[handle["run_uuid"]]
        if observation.state in (State.EXITED, State.GONE):
            for pod in pods:  # seen here before its watch event, perhaps
                self._archive_pod(pod)
            await self._drain(pods)
        return observation

    def _observe(
        self, handle: Handle, owner: dict[str, Any] | None, pods: list[dict[str, Any]]
    ) -> Observation:
        kind = handle["kind"]
        if kind in DISTRIBUTED:
            spec = DISTRIBUTED[kind]
            leaders = tuple(spec.roles[r].lower() for r in spec.leaders)
            return observe.observe_training(owner, pods, spec.container, leaders)
        return observe.observe_job(owner, pods, MAIN)

    @staticmethod
    def _pods_of(handle: Handle, pods: Any) -> list[dict[str, Any]]:
        # Only the pods of this execution: a resumed run's earlier pods have another owner name.
        name = handle["name"]
        return [
            p
            for p in pods
            if _labels(p).get(RUN_LABEL) == handle["run_uuid"]
            and str(p["metadata"]["name"]).startswith(f"{name}-")
        ]

    async def _read(
        self, handle: Handle, resource: Resource
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        api = await self._client()
        namespace = self.options.namespace
        try:
            if resource == JOB:
                call = client.BatchV1Api(api).read_namespaced_job(
                    handle["name"], namespace, _preload_content=False
                )
            else:
                call = client.CustomObjectsApi(api).get_namespaced_custom_object(
                    resource.group,
                    resource.version,
                    namespace,
                    resource.plural,
                    handle["name"],
                    _preload_content=False,
                )
            owner = await read_json(call)
        except ApiException as exc:
            if exc.status != 404:
                raise
            owner = None
        listed = await read_json(
            client.CoreV1Api(api).list_namespaced_pod(
                namespace,
                label_selector=f"{SELECTOR},{RUN_LABEL}={handle['run_uuid']}",
                _preload_content=False,
            )
        )
        return owner, self._pods_of(handle, listed.get("items") or [])

    async def cleanup(self, handle: Handle) -> None:
        # termination.ttl: an ended run's Job (or training job) and Service go; logs are archived.
        await self.stop(handle)

    async def stop(self, handle: Handle, *, force: bool = False) -> None:
        api = await self._client()
        namespace = self.options.namespace
        resource = Resource(**handle["resource"])
        grace: dict[str, Any] = {"grace_period_seconds": 0} if force else {}
        calls: list[Awaitable[Any]] = []
        if resource == JOB:
            calls.append(
                client.BatchV1Api(api).delete_namespaced_job(
                    handle["name"],
                    namespace,
                    propagation_policy="Background",
                    _preload_content=False,
                    **grace,
                )
            )
        else:
            calls.append(
                client.CustomObjectsApi(api).delete_namespaced_custom_object(
                    resource.group,
                    resource.version,
                    namespace,
                    resource.plural,
                    handle["name"],
                    propagation_policy="Background",
                    _preload_content=False,
                    **grace,
                )
            )
        if handle.get("service"):
            calls.append(
                client.CoreV1Api(api).delete_namespaced_service(
                    handle["service"], namespace, _preload_content=False
                )
            )
        if force:
            _, pods = await self._read(handle, resource)
            core = client.CoreV1Api(api)
            calls += [
                core.delete_namespaced_pod(
                    p["metadata"]["name"], namespace, _preload_content=False, **grace
                )
                for p in pods
            ]
        for call in calls:
            try:
                await read_json(call)
            except ApiException as exc:
                if exc.status != 404:  # already gone is what we wanted
                    raise

    async def list_active(self) -> list[Handle]:
        await self._client()
        handles: list[Handle] = []
        for resource in {JOB, *self._owners}:
            informer = await self._owners_of(resource)
            if informer.synced.is_set():
                owners = list(informer.objects.values())
            else:
                owners = list((await self._list_owners(resource)).get("items") or [])
            for owner in owners:
                meta = owner.get("metadata") or {}
                raw = (meta.get("annotations") or {}).get(HANDLE_ANNOTATION)
                if raw is None or meta.get("deletionTimestamp") or observe.is_finished(owner):
                    continue
                handle = json.loads(raw)
                observation = await self.status(handle)
                if observation.state in (State.PENDING, State.RUNNING):
                    handles.append(handle)
        return handles

    async def _list_owners(self, resource: Resource) -> dict[str, Any]:
        api = await self._client()
        if resource == JOB:
            call = client.BatchV1Api(api).list_namespaced_job(
                self.options.namespace, label_selector=SELECTOR, _preload_content=False
            )
        else:
            call = client.CustomObjectsApi(api).list_namespaced_custom_object(
                resource.group,
                resource.version,
                self.options.namespace,
                resource.plural,
                label_selector=SELECTOR,
                _preload_content=False,
            )
        return dict(await read_json(call))

    async def close(self) -> None:
        # Executions keep running; archiving resumes in whichever scheduler runs next.
        for informer in [*self._owners.values(), *([self._pods] if self._pods else [])]:
            await informer.close()
        for task in self._archivers.values():
            task.cancel()
        await asyncio.gather(*self._archivers.values(), return_exceptions=True)
        self._archivers.clear()
        if self._api is not None:
            with contextlib.suppress(Exception):
                await self._api.close()
            self._api = None
