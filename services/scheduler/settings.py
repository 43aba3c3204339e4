"""The scheduler's settings: `GANGLION_SCHEDULER_<NAME>`, plus the shared `GANGLION_<NAME>` ones."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from libs.common.quantities import parse_quantity
from libs.common.settings import ServiceSettings
from services.scheduler.domain.limits import Limits


class SchedulerSettings(ServiceSettings):
    SERVICE: ClassVar[str] = "scheduler"
    model_config = SettingsConfigDict(env_prefix="GANGLION_SCHEDULER_")

    runner: Literal["local", "kubernetes", "docker"] = Field(
        "local",
        description="Where runs execute: 'local' processes, 'kubernetes' Jobs and pods, "
        "or 'docker' containers.",
    )
    concurrency: int = Field(
        4,
        ge=1,
        description="Runs at once in the default queue (unless a queue named default is defined).",
    )
    capacity_runs: int | None = Field(
        None, ge=1, description="Most runs at once across all queues; unlimited by default."
    )
    capacity_cpu: float | None = Field(
        None, gt=0, description="Most cpu cores requested at once across all queues."
    )
    capacity_memory: str | None = Field(
        None, description="Most memory requested at once (a quantity such as 64Gi)."
    )
    capacity_gpu: float | None = Field(
        None, ge=0, description="Most gpus requested at once across all queues."
    )
    retry_backoff: float = Field(
        1.0,
        gt=0,
        description="Seconds before a failed run's first retry; doubles each time (at most 5 min).",
    )
    start_timeout: float = Field(
        300.0,
        gt=0,
        description="Seconds a run may take to start its process before it fails (or retries).",
    )
    resync_interval: float = Field(
        60.0,
        gt=0,
        description="Seconds between re-announcements of current statuses, which heal lost events.",
    )
    heartbeat_ttl: float = Field(
        15.0,
        gt=0,
        description="Seconds after which a replica or run without a heartbeat counts as gone.",
    )
    stop_grace_period: float = Field(
        10.0, ge=0, description="Seconds between SIGTERM and SIGKILL when a run is stopped."
    )
    claim_timeout: float = Field(
        30.0,
        gt=0,
        description="A claimed run that has not started after this many seconds is queued again.",
    )
    poll_interval: float = Field(
        1.0, gt=0, description="Seconds between dispatch and monitor rounds."
    )
    run_api_url: str = Field(
        "http://127.0.0.1:8000", description="How runs reach the API (GANGLION_HOST inside a run)."
    )
    run_streams_url: str | None = Field(
        None, description="How runs reach tracking (GANGLION_STREAMS_HOST); run_api_url by default."
    )
    run_token: SecretStr | None = Field(
        None,
        description="Token runs use (GANGLION_TOKEN inside a run); the shared token by default.",
    )
    runner_state_dir: Path | None = Field(
        None, description="Local runner bookkeeping; <home>/runner by default."
    )

    @field_validator("capacity_memory")
    @classmethod
    def _quantity(cls, value: str | None) -> str | None:
        if value is not None:
            parse_quantity(value)
        return value

    @property
    def capacity(self) -> Limits:
        memory = parse_quantity(self.capacity_memory) if self.capacity_memory else None
        return Limits(
            runs=self.capacity_runs, cpu=self.capacity_cpu, memory=memory, gpu=self.capacity_gpu
        )

    kubernetes_namespace: str = Field(
        "ganglion", description="Kubernetes namespace the runs' Jobs, pods and services go to."
    )
    kubernetes_kubeconfig: Path | None = Field(
        None,
        description="Kubeconfig file to reach the cluster; the in-cluster service account when "
        "the scheduler runs in a pod, else ~/.kube/config.",
    )
    kubernetes_context: str | None = Field(
        None, description="Kubeconfig context to use; the file's current context by default."
    )
    kubernetes_image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = Field(
        "IfNotPresent",
        description="imagePullPolicy of containers whose spec does not set one.",
    )
    kubernetes_artifacts_claim: str | None = Field(
        None,
        description="PersistentVolumeClaim holding the artifact store, mounted in every run's "
        "pod at GANGLION_ARTIFACTS_ROOT (the scheduler mounts it at the same path).",
    )
    kubernetes_artifacts_host_path: str | None = Field(
        None,
        description="Node folder holding the artifact store, mounted like "
        "kubernetes_artifacts_claim (single-node clusters, tests).",
    )
    kubernetes_service_account: str | None = Field(
        None,
        description="Service account of run pods whose environment does not name one.",
    )
    kubernetes_init_image: str = Field(
        "busybox:1.36", description="Image of the init containers that write files."
    )
    kubernetes_git_image: str = Field(
        "alpine/git:2.45.2", description="Image of the init containers that clone git code."
    )
    kubernetes_ttl_after_finished: int | None = Field(
        86400,
        ge=0,
        description="Seconds Kubernetes keeps a finished Job (or training job) and its pods "
        "before deleting them; logs are archived before. Empty: keep them.",
    )
    docker_host: str | None = Field(
        None,
        description="Docker (or podman) API URL, e.g. unix:///run/podman/podman.sock; "
        "DOCKER_HOST or the default socket otherwise.",
    )
    docker_network: str | None = Field(
        None, description="Network of run containers ('host' to share the machine's network)."
    )
    docker_pull: Literal["always", "missing", "never"] = Field(
        "missing", description="When to pull a run's image: always, when missing, or never."
    )
    docker_artifacts_host_root: Path | None = Field(
        None,
        description="Where the docker engine sees the artifact store, when the scheduler itself "
        "runs in a container; GANGLION_ARTIFACTS_ROOT by default.",
    )

    @property
    def resolved_runner_state_dir(self) -> Path:
        return self.runner_state_dir or self.home / "runner"

    @property
    def resolved_run_token(self) -> str | None:
        token = self.run_token or self.token
        return token.get_secret_value() if token else None
