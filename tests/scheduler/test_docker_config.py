"""What the Docker runner asks the engine for, checked without an engine (the runner itself runs
in the conformance suite wherever an engine answers)."""

from __future__ import annotations

import json
from uuid import uuid4

import pytest

from libs.common.spec.models import JobRun
from services.scheduler.runners.base import Launch
from services.scheduler.runners.docker.config import (
    HANDLE_LABEL,
    ConfigError,
    DockerOptions,
    create_arguments,
    quantity,
)

OPTIONS = DockerOptions(artifacts_root="/srv/store", artifacts_host_root="/mnt/disk/store")


def launch(**changes: object) -> Launch:
    uuid = uuid4()
    spec = JobRun.model_validate(
        {
            "kind": "job",
            "container": {
                "image": "trainer:1",
                "command": ["python", "train.py"],
                "args": ["--lr=0.1"],
                "resources": {
                    "requests": {"cpu": "500m"},
                    "limits": {"memory": "2Gi", "nvidia.com/gpu": 1},
                },
            },
        }
    )
    values: dict[str, object] = {
        "run_uuid": uuid,
        "owner": "acme",
        "project": "mnist",
        "namespace": "ganglion",
        "command": ["python", "train.py", "--lr=0.1"],
        "artifacts_path": f"/srv/store/mnist/{uuid.hex}",
        "image": "trainer:1",
        "env": {"GANGLION_RUN_UUID": uuid.hex},
        "resources": spec.container.resources if spec.container else {},
        "spec": spec,
    }
    values.update(changes)
    return Launch(**values)  # type: ignore[arg-type]


def test_the_container_gets_the_run_folder_env_resources_and_its_handle() -> None:
    spec = launch()
    handle = {"runner": "docker", "name": "ganglion-x-1", "run_uuid": spec.run_uuid.hex}
    arguments = create_arguments(spec, OPTIONS, handle)
    assert arguments["entrypoint"] == ["python", "train.py"] and arguments["command"] == [
        "--lr=0.1"
    ]
    assert arguments["working_dir"] == spec.artifacts_path
    assert arguments["volumes"] == {
        f"/mnt/disk/store/mnist/{spec.run_uuid.hex}": {"bind": spec.artifacts_path, "mode": "rw"}
    }
    assert arguments["environment"]["GANGLION_RUN_UUID"] == spec.run_uuid.hex
    assert arguments["nano_cpus"] == 500_000_000
    assert arguments["mem_limit"] == 2 * 2**30
    assert arguments["device_requests"][0]["Count"] == 1
    assert json.loads(arguments["labels"][HANDLE_LABEL]) == handle


def test_an_image_is_required_and_quantities_are_checked() -> None:
    with pytest.raises(ConfigError, match=r"run.container.image"):
        create_arguments(launch(image=None), OPTIONS, {"name": "x"})
    with pytest.raises(ConfigError, match=r"resources.memory"):
        create_arguments(launch(resources={"limits": {"memory": "lots"}}), OPTIONS, {"name": "x"})
    assert quantity("1.5", "cpu") == 1.5 and quantity("250m", "cpu") == 0.25
