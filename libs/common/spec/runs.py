"""Run kinds a runner or an operator executes: job, service and the distributed kinds (V1Job,
V1Service, V1TFJob, V1PytorchJob, V1MPIJob, V1DaskCluster, V1RayCluster). The DAG kind holds
operations, so it lives beside them in `models.py`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from libs.common.spec.base import NonNegativeInt, SpecModel
from libs.common.spec.k8s import Container, Environment

Mapping = dict[str, Any]
_INIT_HANDLERS = (
    "artifacts", "paths", "git", "dockerfile", "file", "tensorboard",
    "lineage_ref", "model_ref", "artifact_ref",
)  # fmt: skip


class GitInit(SpecModel):
    url: str | None = None
    revision: str | None = None
    flags: list[str] | None = None


class ArtifactsInit(SpecModel):
    files: list[str | list[str]] | None = None
    dirs: list[str | list[str]] | None = None
    workers: int | None = None


class FileInit(SpecModel):
    content: str
    filename: str | None = None
    kind: str | None = None
    chmod: str | None = None


class DockerfileInit(SpecModel):
    image: str
    env: Mapping | list[Any] | None = None
    path: list[str] | None = None
    copy_: list[Any] | None = Field(None, alias="copy")
    post_run_copy: list[Any] | None = None
    run: list[str] | None = None
    lang_env: str | None = None
    uid: int | None = None
    gid: int | None = None
    username: str | None = None
    filename: str | None = None
    workdir: str | None = None
    workdir_path: str | None = None
    shell: str | None = None


class TensorboardInit(SpecModel):
    port: int | None = None
    uuids: list[str] | str | None = None
    use_names: bool | None = None
    path_prefix: str | None = None
    plugins: list[str] | str | None = None


class Init(SpecModel):
    """An init container (V1Init): one built-in handler, or a custom container."""

    artifacts: ArtifactsInit | None = None
    paths: list[str | list[str]] | None = None
    git: GitInit | None = None
    dockerfile: DockerfileInit | None = None
    file: FileInit | None = None
    tensorboard: TensorboardInit | None = None
    lineage_ref: str | None = None
    model_ref: str | None = None
    artifact_ref: str | None = None
    connection: str | None = None
    path: str | None = None
    container: Container | None = None

    @model_validator(mode="after")
    def _one_handler(self) -> Init:
        used = [h for h in _INIT_HANDLERS if getattr(self, h) is not None]
        if len(used) > 1:
            names = ", ".join(type(self).model_fields[h].alias or h for h in used)
            raise ValueError(f"an init entry takes one handler, got {names}")
        return self


class PodRuntime(SpecModel):
    """What every pod-based kind has (the job fields)."""

    environment: Environment | None = None
    connections: list[str] | None = None
    volumes: list[Mapping] | None = None
    init: list[Init] | None = None
    sidecars: list[Container] | None = None
    container: Container | None = None


class JobRun(PodRuntime):
    kind: Literal["job"]


class ServiceRun(PodRuntime):
    kind: Literal["service"]
    ports: list[int] | None = None
    rewrite_path: bool | None = None
    is_external: bool | None = None
    replicas: NonNegativeInt | None = None


class Replica(PodRuntime):
    """A replica group of a distributed job (V1KFReplica)."""

    replicas: NonNegativeInt | None = None


class SchedulingPolicy(SpecModel):
    min_available: int | None = None
    queue: str | None = None
    min_resources: Mapping | None = None
    priority_class: str | None = None
    schedule_timeout_seconds: int | None = None


CleanPodPolicy = Literal["All", "Running", "None"]


class _KubeflowRun(SpecModel):
    clean_pod_policy: CleanPodPolicy | None = None
    scheduling_policy: SchedulingPolicy | None = None


class TFJobRun(_KubeflowRun):
    kind: Literal["tfjob"]
    enable_dynamic_worker: bool | None = None
    success_policy: str | None = None
    chief: Replica | None = None
    ps: Replica | None = None
    worker: Replica | None = None
    evaluator: Replica | None = None


class ElasticPolicy(SpecModel):
    min_replicas: int | None = None
    max_replicas: int | None = None
    rdvz_backend: str | None = None
    rdvz_port: int | None = None
    rdvz_host: str | None = None
    rdvz_id: str | None = None
    rdvz_conf: list[Mapping] | None = None
    standalone: bool | None = None
    n_proc_per_node: int | None = None
    max_restarts: int | None = None
    metrics: list[Mapping] | None = Field(None, alias="Metrics")


class PytorchJobRun(_KubeflowRun):
    kind: Literal["pytorchjob"]
    elastic_policy: ElasticPolicy | None = None
    n_proc_per_node: int | str | None = None
    master: Replica | None = None
    worker: Replica | None = None


class MPIJobRun(_KubeflowRun):
    kind: Literal["mpijob"]
    slots_per_worker: int | None = None
    launcher: Replica | None = None
    worker: Replica | None = None


class DaskClusterRun(SpecModel):
    kind: Literal["daskcluster"]
    job: Replica | None = None
    scheduler: Replica | None = None
    worker: Replica | None = None
    min_replicas: NonNegativeInt | None = None
    max_replicas: NonNegativeInt | None = None


class RayReplica(Replica):
    group_name: str | None = None
    min_replicas: NonNegativeInt | None = None
    max_replicas: NonNegativeInt | None = None
    ray_start_params: Mapping | None = None


class RayClusterRun(SpecModel):
    kind: Literal["raycluster"]
    entrypoint: str | None = None
    runtime_env: Mapping | None = None
    metadata: Mapping | None = None
    ray_version: str | None = None
    head: RayReplica | None = None
    workers: dict[str, RayReplica] | None = None
    enable_in_tree_autoscaling: bool | None = None
    autoscaler_options: Mapping | None = None


DISTRIBUTED_RUNS = (TFJobRun, PytorchJobRun, MPIJobRun, DaskClusterRun, RayClusterRun)


DistributedRun = TFJobRun | PytorchJobRun | MPIJobRun
"""The kinds the Kubeflow training operator runs."""
