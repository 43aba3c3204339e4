"""What the Kubernetes runner sends, built from compiled polyaxonfiles and checked against the
Kubernetes 1.33 schemas (strict: a misspelled field fails) and the training operator's fields."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import uuid4

import kubernetes_validate
import pytest
import yaml

from libs.common.spec.compiler import RunContext, compile_operation, load_content
from libs.common.spec.models import Param
from services.scheduler.db.tables import Execution
from services.scheduler.domain.launch import NotExecutable, launch_of
from services.scheduler.runners.base import Launch
from services.scheduler.runners.kubernetes.manifests import (
    HANDLE_ANNOTATION,
    MANAGED_BY,
    RUN_LABEL,
    build,
)
from services.scheduler.runners.kubernetes.pods import KubeOptions, ManifestError
from services.scheduler.settings import SchedulerSettings
from tests.support.kube import validate, validate_training_job

ROOT = "/srv/ganglion/artifacts"
OPTIONS = KubeOptions(namespace="runs", artifacts_root=ROOT, artifacts_claim="ganglion-store")
FIXTURES = Path(__file__).parents[1] / "fixtures" / "polyaxonfiles"


def launch_from(text: str, runner: str = "kubernetes", **params: Any) -> Launch:
    uuid = uuid4()
    operation = load_content(text)
    if params:
        operation = operation.model_copy(
            update={"params": {k: Param.model_validate({"value": v}) for k, v in params.items()}}
        )
    context = RunContext(
        uuid=uuid, owner="acme", project="mnist", username="ada", namespace="ganglion",
        artifacts_root=ROOT, name="exp",
    )  # fmt: skip
    compiled = compile_operation(operation, context)
    execution = Execution(
        uuid=uuid,
        owner="acme",
        project="mnist",
        name="exp",
        namespace="ganglion",
        content=compiled.model_dump(mode="json", by_alias=True, exclude_none=True),
    )
    settings = SchedulerSettings(runner=runner, artifacts_root=Path(ROOT), token="x" * 20)
    return launch_of(execution, settings)


def pod_spec(job: dict[str, Any]) -> dict[str, Any]:
    return dict(job["spec"]["template"]["spec"])


def test_the_quick_start_job_clones_its_code_where_its_working_dir_points() -> None:
    launch = launch_from((FIXTURES / "01-simple-job.yaml").read_text())
    manifests = build(launch, OPTIONS, "ganglion-x-1")
    job = manifests.owner
    validate(job)
    spec = pod_spec(job)
    main = spec["containers"][0]
    run_path = f"{ROOT}/mnist/{launch.run_uuid.hex}"
    assert main["workingDir"] == f"{run_path}/polyaxon-quick-start/scheduling"
    assert main["command"] == ["python3", "model.py"]
    (git,) = spec["initContainers"]
    dest = {e["name"]: e["value"] for e in git["env"]}["GIT_DEST"]
    assert dest == f"{run_path}/polyaxon-quick-start"
    # Every container sees the run's folder at the path the spec rendered.
    for container in [main, git]:
        assert {"name": "ganglion-artifacts", "mountPath": run_path,
                "subPath": f"mnist/{launch.run_uuid.hex}"} in container["volumeMounts"]  # fmt: skip
    assert {"name": "ganglion-artifacts",
            "persistentVolumeClaim": {"claimName": "ganglion-store"}} in spec["volumes"]  # fmt: skip
    assert job["spec"]["backoffLimit"] == 0 and spec["restartPolicy"] == "Never"
    assert job["metadata"]["labels"][RUN_LABEL] == launch.run_uuid.hex
    assert job["metadata"]["labels"][MANAGED_BY] == "ganglion"
    assert HANDLE_ANNOTATION not in job["metadata"]["annotations"]  # the runner adds it
    env = {e["name"]: e.get("value") for e in main["env"]}
    assert env["GANGLION_RUN_UUID"] == launch.run_uuid.hex
    assert env["GANGLION_RUN_ARTIFACTS_PATH"] == run_path


JOB = """
version: 1.1
kind: component
inputs: [{name: lr, type: float}]
run:
  kind: job
  environment:
    labels: {team: vision}
    annotations: {cost-center: "42"}
    nodeSelector: {gpu: "true"}
    tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
    serviceAccountName: trainer
    imagePullSecrets: [registry]
    priorityClassName: high
  volumes: [{name: data, persistentVolumeClaim: {claimName: datasets}}]
  init:
  - file: {filename: config.json, content: '{"lr": {{ lr }}}', chmod: "0600"}
  - container: {name: fetch, image: "busybox:1.36", command: [sh, -c, "echo fetched"]}
  sidecars:
  - {name: watcher, image: "busybox:1.36", command: [sleep, "3600"]}
  container:
    image: pytorch/pytorch:2.3
    imagePullPolicy: Always
    command: [python, train.py]
    args: ["--lr={{ lr }}"]
    resources: {requests: {cpu: 2, memory: 4Gi}, limits: {nvidia.com/gpu: 1}}
    volumeMounts: [{name: data, mountPath: /data, readOnly: true}]
    env:
    - {name: EPOCHS, value: 3}
    - {name: API_KEY, valueFrom: {secretKeyRef: {name: keys, key: api}}}
"""


def test_a_job_carries_environment_volumes_init_sidecars_resources_and_env() -> None:
    launch = launch_from(JOB, lr=0.01)
    job = build(launch, OPTIONS, "ganglion-x-1").owner
    validate(job)
    spec = pod_spec(job)
    assert spec["nodeSelector"] == {"gpu": "true"}
    assert spec["tolerations"][0]["key"] == "nvidia.com/gpu"
    assert spec["serviceAccountName"] == "trainer"
    assert spec["imagePullSecrets"] == [{"name": "registry"}]
    assert spec["priorityClassName"] == "high"
    assert {"name": "data", "persistentVolumeClaim": {"claimName": "datasets"}} in spec["volumes"]
    template = job["spec"]["template"]["metadata"]
    assert template["labels"]["team"] == "vision"
    assert template["annotations"]["cost-center"] == "42"
    main = spec["containers"][0]
    assert main["args"] == ["--lr=0.01"] and main["imagePullPolicy"] == "Always"
    assert main["resources"]["limits"] == {"nvidia.com/gpu": 1}
    assert {"name": "data", "mountPath": "/data", "readOnly": True} in main["volumeMounts"]
    env = {e["name"]: e for e in main["env"]}
    assert env["EPOCHS"]["value"] == "3"
    assert env["API_KEY"]["valueFrom"] == {"secretKeyRef": {"name": "keys", "key": "api"}}
    file, fetch, watcher = spec["initContainers"]
    assert {e["name"]: e["value"] for e in file["env"]}["FILE_CONTENT"] == '{"lr": 0.01}'
    assert fetch["name"] == "fetch" and fetch["command"][-1] == "echo fetched"
    assert watcher["restartPolicy"] == "Always"  # a native sidecar: it never holds the pod up


def test_a_service_exposes_its_ports() -> None:
    text = """
version: 1.1
kind: component
run:
  kind: service
  ports: [8888]
  container: {image: "jupyter/base:2024", command: [jupyter, lab, --port=8888]}
"""
    manifests = build(launch_from(text), OPTIONS, "ganglion-x-1")
    assert manifests.service is not None
    validate(manifests.owner)
    validate(manifests.service)
    assert manifests.service["spec"]["ports"][0]["targetPort"] == 8888
    assert manifests.owner["spec"]["template"]["spec"]["containers"][0]["ports"] == [
        {"containerPort": 8888, "protocol": "TCP"}
    ]


def test_the_node_folder_store_mounts_the_same_path() -> None:
    options = KubeOptions(namespace="runs", artifacts_root=ROOT, artifacts_host_path="/data/store")
    job = build(launch_from(JOB, lr=1), options, "ganglion-x-1").owner
    validate(job)
    assert {
        "name": "ganglion-artifacts",
        "hostPath": {"path": "/data/store", "type": "DirectoryOrCreate"},
    } in pod_spec(job)["volumes"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"container": {"command": ["python"]}}, "run.container.image"),
        ({"init": [{"dockerfile": {"image": "x"}}]}, "run.init[0]"),
        ({"init": [{"git": {"revision": "main"}}]}, "run.init[0].git.url"),
    ],
)
def test_what_kubernetes_cannot_run_is_refused_naming_the_field(
    change: dict[str, Any], field: str
) -> None:
    spec: dict[str, Any] = {
        "version": 1.1,
        "kind": "component",
        "run": {"kind": "job", "container": {"image": "python:3.11", "command": ["python"]}},
    }
    spec["run"].update(change)
    with pytest.raises(ManifestError, match=field.replace("[", r"\[").replace("]", r"\]")):
        build(launch_from(yaml.safe_dump(spec)), OPTIONS, "ganglion-x-1")


def test_the_store_must_be_configured_once() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        KubeOptions(namespace="runs", artifacts_root=ROOT)


TRAINING = {
    "tfjob": ("TFJob", "tfReplicaSpecs", "tensorflow", {"chief": 1, "worker": 2, "ps": 1}),
    "pytorchjob": ("PyTorchJob", "pytorchReplicaSpecs", "pytorch", {"master": 1, "worker": 3}),
    "mpijob": ("MPIJob", "mpiReplicaSpecs", "mpi", {"launcher": 1, "worker": 2}),
}


@pytest.mark.parametrize("kind", sorted(TRAINING))
def test_distributed_kinds_become_training_operator_jobs(kind: str) -> None:
    resource_kind, field, container, replicas = TRAINING[kind]
    run: dict[str, Any] = {
        "kind": kind,
        "cleanPodPolicy": "Running",
        "schedulingPolicy": {"minAvailable": sum(replicas.values())},
    }
    if kind == "mpijob":
        run["slotsPerWorker"] = 2
    for role, count in replicas.items():
        run[role] = {
            "replicas": count,
            "environment": {"nodeSelector": {"pool": "gpu"}},
            "container": {
                "image": "trainer:1",
                "command": ["python", "train.py", f"--role={role}"],
                "resources": {"limits": {"nvidia.com/gpu": 1}},
            },
        }
    text = yaml.safe_dump({"version": 1.1, "kind": "component", "run": run})
    launch = launch_from(text)
    manifests = build(launch, OPTIONS, "ganglion-x-1")
    body = manifests.owner
    validate_training_job(body)
    assert body["kind"] == resource_kind and manifests.resource.plural == f"{kind}s"
    assert body["spec"]["runPolicy"]["cleanPodPolicy"] == "Running"
    assert body["spec"]["runPolicy"]["backoffLimit"] == 0
    specs = body["spec"][field]
    assert {r: s["replicas"] for r, s in specs.items()} == {
        role.capitalize() if role != "ps" else "PS": n for role, n in replicas.items()
    }
    for replica in specs.values():
        pod = replica["template"]["spec"]
        assert pod["containers"][0]["name"] == container
        assert pod["nodeSelector"] == {"pool": "gpu"}
        env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
        assert env["GANGLION_RUN_UUID"] == launch.run_uuid.hex


def test_distributed_kinds_need_the_kubernetes_runner() -> None:
    text = yaml.safe_dump(
        {
            "version": 1.1,
            "kind": "component",
            "run": {
                "kind": "pytorchjob",
                "master": {"container": {"image": "x", "command": ["y"]}},
            },
        }
    )
    with pytest.raises(NotExecutable, match="needs the kubernetes runner"):
        launch_from(text, runner="local")


def test_the_schema_check_catches_a_misspelled_field() -> None:
    """The validation the fake API server applies to every manifest can fail."""
    job = build(launch_from(JOB, lr=1), OPTIONS, "ganglion-x-1").owner
    job["spec"]["template"]["spec"]["containers"][0]["imagePulPolicy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(job)
    tf = build(
        launch_from(
            yaml.safe_dump(
                {
                    "version": 1.1,
                    "kind": "component",
                    "run": {
                        "kind": "tfjob",
                        "worker": {"container": {"image": "x", "command": ["y"]}},
                    },
                }
            )
        ),
        OPTIONS,
        "ganglion-x-1",
    ).owner
    tf["spec"]["tfReplicaSpecs"]["Workers"] = tf["spec"]["tfReplicaSpecs"].pop("Worker")
    with pytest.raises(AssertionError):
        validate_training_job(tf)
