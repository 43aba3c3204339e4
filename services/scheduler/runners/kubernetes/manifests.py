"""The Kubernetes objects of one run: a Job for `job` and `service` runs (plus a Service for the
latter's ports), or a Kubeflow training-operator custom resource (TFJob, PyTorchJob, MPIJob) for
the distributed kinds. Pure functions, like `pods.py`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from libs.common.spec.runs import (
    DistributedRun,
    JobRun,
    MPIJobRun,
    PytorchJobRun,
    ServiceRun,
    TFJobRun,
)
from services.scheduler.runners.base import Launch
from services.scheduler.runners.kubernetes.pods import (
    KubeOptions,
    ManifestError,
    PodRuntime,
    pod_template,
)

MANAGED_BY = "app.kubernetes.io/managed-by"
RUN_LABEL = "ganglion.dev/run"
KIND_LABEL = "ganglion.dev/kind"
HANDLE_ANNOTATION = "ganglion.dev/handle"
"""On the owner: the handle `start` returned, so `list_active` returns exactly that."""
SELECTOR = f"{MANAGED_BY}=ganglion"
"""Selects every object the runner created (and their pods)."""


@dataclass(frozen=True)
class Resource:
    """Where objects of one kind live in the API."""

    group: str
    version: str
    plural: str
    kind: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


JOB = Resource("batch", "v1", "jobs", "Job")


@dataclass(frozen=True)
class Distributed:
    """How a Polyaxon distributed kind maps onto its training-operator resource."""

    resource: Resource
    replicas_field: str
    container: str
    """The container name the operator looks for (its port and status come from it)."""
    roles: dict[str, str]
    """Polyaxon's replica key -> the operator's replica type."""
    leaders: tuple[str, ...]
    """Replica types whose containers decide the verdict, in order of preference."""
    fields: dict[str, str] = field(default_factory=dict)
    """Polyaxon's top-level fields copied into the resource's spec."""


DISTRIBUTED = {
    "tfjob": Distributed(
        Resource("kubeflow.org", "v1", "tfjobs", "TFJob"),
        "tfReplicaSpecs",
        "tensorflow",
        {"chief": "Chief", "ps": "PS", "worker": "Worker", "evaluator": "Evaluator"},
        ("chief", "worker"),
        {"enableDynamicWorker": "enableDynamicWorker", "successPolicy": "successPolicy"},
    ),
    "pytorchjob": Distributed(
        Resource("kubeflow.org", "v1", "pytorchjobs", "PyTorchJob"),
        "pytorchReplicaSpecs",
        "pytorch",
        {"master": "Master", "worker": "Worker"},
        ("master", "worker"),
        {"elasticPolicy": "elasticPolicy", "nProcPerNode": "nprocPerNode"},
    ),
    "mpijob": Distributed(
        Resource("kubeflow.org", "v1", "mpijobs", "MPIJob"),
        "mpiReplicaSpecs",
        "mpi",
        {"launcher": "Launcher", "worker": "Worker"},
        ("launcher",),
        {"slotsPerWorker": "slotsPerWorker"},
    ),
}

RESOURCES = {"job": JOB, "service": JOB} | {k: d.resource for k, d in DISTRIBUTED.items()}


class Replica(PodRuntime):
    """One replica group of a distributed run (Polyaxon's V1KFReplica)."""

    replicas: int | None = None


@dataclass(frozen=True)
class Manifests:
    owner: dict[str, Any]
    """The Job or training job; deleting it (with propagation) deletes the pods."""
    resource: Resource
    service: dict[str, Any] | None = None


def object_name(launch: Launch, suffix: str) -> str:
    """`ganglion-<uuid hex>-<suffix>`: a new suffix per start, so a resumed run never meets the
    objects of its previous execution; short enough for pod names and DNS labels."""
    return f"ganglion-{launch.run_uuid.hex}-{suffix}"


def labels_of(launch: Launch) -> dict[str, str]:
    return {MANAGED_BY: "ganglion", RUN_LABEL: launch.run_uuid.hex, KIND_LABEL: launch.kind}


def annotations_of(launch: Launch) -> dict[str, str]:
    notes = {
        "ganglion.dev/owner": launch.owner,
        "ganglion.dev/project": launch.project,
    }
    if launch.name:
        notes["ganglion.dev/name"] = launch.name
    return notes


def _metadata(name: str, launch: Launch, options: KubeOptions, **extra: str) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": options.namespace,
        "labels": labels_of(launch),
        "annotations": {**annotations_of(launch), **extra},
    }


def build(launch: Launch, options: KubeOptions, name: str) -> Manifests:
    """Every object to create for `launch`."""
    spec = launch.spec
    if isinstance(spec, TFJobRun | PytorchJobRun | MPIJobRun):
        return Manifests(_training_job(launch, spec, options, name), RESOURCES[spec.kind])
    if spec is None:  # a bare launch (tests, other callers): its command in its image
        container = {"image": launch.image, "command": launch.command}
        if launch.working_dir:
            container["workingDir"] = launch.working_dir
        spec = JobRun.model_validate({"kind": "job", "container": container})
    service_only = {"kind", "ports", "rewrite_path", "is_external", "replicas"}
    runtime = PodRuntime.model_validate(
        spec.model_dump(mode="json", by_alias=True, exclude_none=True, exclude=service_only)
    )
    ports = spec.ports if isinstance(spec, ServiceRun) else None
    template = pod_template(
        launch,
        runtime,
        options,
        labels=labels_of(launch),
        annotations=annotations_of(launch),
        ports=ports,
    )
    job: dict[str, Any] = {
        "apiVersion": JOB.api_version,
        "kind": JOB.kind,
        "metadata": _metadata(name, launch, options),
        "spec": {
            # Retries are the scheduler's decision, never the Job controller's.
            "backoffLimit": 0,
            "template": template,
        },
    }
    if options.ttl_after_finished is not None:
        job["spec"]["ttlSecondsAfterFinished"] = options.ttl_after_finished
    if isinstance(spec, ServiceRun) and spec.replicas and spec.replicas > 1:
        job["spec"]["parallelism"] = spec.replicas
    service = _service(launch, spec, options, name) if isinstance(spec, ServiceRun) else None
    return Manifests(job, JOB, service)


def _service(
    launch: Launch, spec: ServiceRun, options: KubeOptions, name: str
) -> dict[str, Any] | None:
    if not spec.ports:
        return None
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(name, launch, options),
        "spec": {
            "type": "LoadBalancer" if spec.is_external else "ClusterIP",
            "selector": {RUN_LABEL: launch.run_uuid.hex},
            "ports": [
                {"name": f"port-{p}", "port": p, "targetPort": p, "protocol": "TCP"}
                for p in spec.ports
            ],
        },
    }


def _training_job(
    launch: Launch, spec: DistributedRun, options: KubeOptions, name: str
) -> dict[str, Any]:
    kind = DISTRIBUTED[spec.kind]
    raw = spec.model_dump(mode="json", by_alias=True, exclude_none=True)
    replicas: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in kind.roles or value is None:
            continue
        where = f"run.{key}"
        try:
            replica = Replica.model_validate(value)
        except ValidationError as exc:
            problem = exc.errors()[0]
            loc = ".".join(str(p) for p in problem["loc"])
            raise ManifestError(f"{where}.{loc}: {problem['msg']}") from None
        role = kind.roles[key]
        pod_labels = {**labels_of(launch), "ganglion.dev/replica": role.lower()}
        policy = (replica.environment.restart_policy if replica.environment else None) or "Never"
        replicas[role] = {
            "replicas": replica.replicas if replica.replicas is not None else 1,
            # The operator sets the pods' restartPolicy from here, not from the template.
            "restartPolicy": policy,
            "template": pod_template(
                launch,
                replica,
                options,
                labels=pod_labels,
                annotations=annotations_of(launch),
                main_name=kind.container,
                where=where,
                restart_policy=None,
            ),
        }
    if not replicas:
        keys = ", ".join(kind.roles)
        raise ManifestError(f"run: a {spec.kind} needs at least one replica ({keys})")
    run_policy: dict[str, Any] = {"backoffLimit": 0}
    if raw.get("cleanPodPolicy"):
        run_policy["cleanPodPolicy"] = raw["cleanPodPolicy"]
    if raw.get("schedulingPolicy"):
        run_policy["schedulingPolicy"] = raw["schedulingPolicy"]
    if options.ttl_after_finished is not None:
        run_policy["ttlSecondsAfterFinished"] = options.ttl_after_finished
    body: dict[str, Any] = {"runPolicy": run_policy, kind.replicas_field: replicas}
    for ours, theirs in kind.fields.items():
        if raw.get(ours) is not None:
            body[theirs] = raw[ours]
    if spec.kind == "pytorchjob" and "nprocPerNode" in body:
        body["nprocPerNode"] = str(body["nprocPerNode"])
    return {
        "apiVersion": kind.resource.api_version,
        "kind": kind.resource.kind,
        "metadata": _metadata(name, launch, options),
        "spec": body,
    }
