"""From a run's pod runtime (container, environment, init, sidecars, volumes) to a Kubernetes pod
template. Pure functions: no client, no I/O, so every manifest can be checked in unit tests.

Every container of the pod sees the run's folder of the artifact store at the same path the
scheduler and the compiled spec use (`{GANGLION_ARTIFACTS_ROOT}/{project}/{uuid}`): the store's
volume (a claim or a node folder) is mounted with that sub-path, so `globals.run_artifacts_path`
means the same thing in the pod as everywhere else.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from libs.common.spec.base import SpecModel
from libs.common.spec.k8s import Container, Environment
from services.scheduler.runners.base import Launch

MAIN = "main"
ARTIFACTS_VOLUME = "ganglion-artifacts"

# Container fields a runner sets itself, or that only init containers may carry.
_OWNED = ("name", "image", "imagePullPolicy", "workingDir", "env", "volumeMounts", "restartPolicy")


class ManifestError(ValueError):
    """The spec cannot become Kubernetes objects; the message names the field."""


@dataclass(frozen=True)
class KubeOptions:
    """What the Kubernetes runner adds to every manifest (from the scheduler's settings)."""

    namespace: str
    artifacts_root: str
    artifacts_claim: str | None = None
    artifacts_host_path: str | None = None
    image_pull_policy: str = "IfNotPresent"
    service_account: str | None = None
    init_image: str = "busybox:1.36"
    git_image: str = "alpine/git:2.45.2"
    ttl_after_finished: int | None = 86400
    grace_period: int = 10

    def __post_init__(self) -> None:
        if (self.artifacts_claim is None) == (self.artifacts_host_path is None):
            raise ValueError(
                "the kubernetes runner needs exactly one of GANGLION_SCHEDULER_KUBERNETES_"
                "ARTIFACTS_CLAIM and GANGLION_SCHEDULER_KUBERNETES_ARTIFACTS_HOST_PATH"
            )


class PodRuntime(SpecModel):
    """The pod part of a job, a service or one replica of a distributed run."""

    environment: Environment | None = None
    connections: list[str] | None = None
    volumes: list[dict[str, Any]] | None = None
    init: list[dict[str, Any]] | None = None
    sidecars: list[Container] | None = None
    container: Container | None = None


def artifacts_volume(options: KubeOptions) -> dict[str, Any]:
    if options.artifacts_claim is not None:
        claim = {"claimName": options.artifacts_claim}
        return {"name": ARTIFACTS_VOLUME, "persistentVolumeClaim": claim}
    return {
        "name": ARTIFACTS_VOLUME,
        "hostPath": {"path": options.artifacts_host_path, "type": "DirectoryOrCreate"},
    }


def artifacts_mount(launch: Launch, options: KubeOptions) -> dict[str, Any]:
    run = PurePosixPath(launch.artifacts_path)
    try:
        sub_path = run.relative_to(options.artifacts_root)
    except ValueError:
        raise ManifestError(
            f"the run's artifacts path {run} is not under the artifact store "
            f"{options.artifacts_root} the pods mount"
        ) from None
    return {"name": ARTIFACTS_VOLUME, "mountPath": str(run), "subPath": str(sub_path)}


def _env(launch: Launch, spec: Container) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in launch.env.items()]
    # Values from secrets or config maps are the cluster's to resolve.
    env += [
        {"name": var.name, "valueFrom": var.value_from}
        for var in spec.env or []
        if var.value_from is not None and var.name not in launch.env
    ]
    return env


def container(
    launch: Launch,
    spec: Container,
    options: KubeOptions,
    *,
    name: str,
    where: str,
    env: bool = True,
    working_dir: str | None = None,
    extra_ports: list[int] | None = None,
) -> dict[str, Any]:
    if not spec.image:
        raise ManifestError(f"{where}.image: the kubernetes runner needs an image")
    body = {k: v for k, v in spec.dump().items() if k not in _OWNED}
    body.update(
        name=name,
        image=spec.image,
        imagePullPolicy=spec.image_pull_policy or options.image_pull_policy,
        volumeMounts=[artifacts_mount(launch, options), *(spec.volume_mounts or [])],
    )
    if spec.working_dir or working_dir:
        body["workingDir"] = spec.working_dir or working_dir
    if env:
        body["env"] = _env(launch, spec)
    ports = list(body.get("ports", []))
    declared = {port.get("containerPort") for port in ports}
    for port in extra_ports or []:
        if port not in declared:
            ports.append({"containerPort": port, "protocol": "TCP"})
    if ports:
        body["ports"] = ports
    return body


def _init_container(
    launch: Launch, init: dict[str, Any], index: int, options: KubeOptions
) -> dict[str, Any]:
    where = f"run.init[{index}]"
    handlers = sorted(k for k in init if k not in ("connection", "path", "container"))
    mounts = [artifacts_mount(launch, options)]
    if "container" in init and not handlers:
        spec = Container.model_validate(init["container"])
        return container(launch, spec, options, name=spec.name or f"init-{index}", where=where)
    if handlers == ["git"]:
        git = init["git"] or {}
        url = git.get("url")
        if not url:
            raise ManifestError(f"{where}.git.url: a git init needs the repository's url")
        repo = posixpath.basename(str(url).rstrip("/")).removesuffix(".git") or "code"
        script = (
            'git clone $GIT_FLAGS -- "$GIT_URL" "$GIT_DEST"'
            ' && if [ -n "$GIT_REVISION" ]; then git -C "$GIT_DEST" checkout "$GIT_REVISION"; fi'
        )
        env = {
            "GIT_URL": str(url),
            "GIT_DEST": init.get("path") or f"{launch.artifacts_path}/{repo}",
            "GIT_REVISION": str(git.get("revision") or ""),
            "GIT_FLAGS": " ".join(str(f) for f in git.get("flags") or []),
        }
        image = options.git_image
    elif handlers == ["file"]:
        file = init["file"] or {}
        if not file.get("filename") or file.get("content") is None:
            raise ManifestError(f"{where}.file: a file init needs a filename and a content")
        folder = init.get("path") or launch.artifacts_path
        script = 'mkdir -p "$(dirname "$FILE_DEST")" && printf %s "$FILE_CONTENT" > "$FILE_DEST"'
        if file.get("chmod"):
            script += ' && chmod "$FILE_CHMOD" "$FILE_DEST"'
        env = {
            "FILE_DEST": f"{folder}/{file['filename']}",
            "FILE_CONTENT": str(file["content"]),
            "FILE_CHMOD": str(file.get("chmod") or ""),
        }
        image = options.init_image
    else:
        kinds = ", ".join(handlers) or "nothing"
        raise ManifestError(
            f"{where}: {kinds} is not supported by the kubernetes runner "
            "(supported: git, file, container)"
        )
    return {
        "name": f"init-{handlers[0]}-{index}",
        "image": image,
        "imagePullPolicy": options.image_pull_policy,
        "command": ["sh", "-c", script],
        "env": [{"name": k, "value": v} for k, v in env.items()],
        "volumeMounts": mounts,
    }


def pod_template(
    launch: Launch,
    runtime: PodRuntime,
    options: KubeOptions,
    *,
    labels: dict[str, str],
    annotations: dict[str, str],
    main_name: str = MAIN,
    where: str = "run",
    restart_policy: str | None = "Never",
    ports: list[int] | None = None,
) -> dict[str, Any]:
    """A PodTemplateSpec for one run's pod (or one replica's pods)."""
    if runtime.container is None:
        raise ManifestError(f"{where}.container: a pod needs a container")
    main = container(
        launch,
        runtime.container,
        options,
        name=main_name,
        where=f"{where}.container",
        # As on the local runner, a run works in its own folder unless it says otherwise.
        working_dir=launch.artifacts_path,
        extra_ports=ports,
    )
    inits = [_init_container(launch, i, n, options) for n, i in enumerate(runtime.init or [])]
    # Native sidecars (init containers that keep running): the pod ends when the main one does.
    for n, side in enumerate(runtime.sidecars or []):
        body = container(
            launch, side, options, name=side.name or f"sidecar-{n}", where=f"{where}.sidecars[{n}]"
        )
        inits.append({**body, "restartPolicy": "Always"})
    environment = runtime.environment or Environment()
    spec: dict[str, Any] = {
        "containers": [main],
        "volumes": [artifacts_volume(options), *(runtime.volumes or [])],
        "terminationGracePeriodSeconds": options.grace_period,
        "enableServiceLinks": False,
    }
    if restart_policy is not None:
        spec["restartPolicy"] = restart_policy
    if inits:
        spec["initContainers"] = inits
    pod_fields = environment.dump()
    for key in ("labels", "annotations", "restartPolicy", "imagePullSecrets"):
        pod_fields.pop(key, None)
    spec.update(pod_fields)
    if environment.image_pull_secrets:
        spec["imagePullSecrets"] = [{"name": s} for s in environment.image_pull_secrets]
    account = environment.service_account_name or options.service_account
    if account:
        spec["serviceAccountName"] = account
    return {
        "metadata": {
            "labels": {**(environment.labels or {}), **labels},
            "annotations": {**(environment.annotations or {}), **annotations},
        },
        "spec": spec,
    }
