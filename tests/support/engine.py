"""A Docker-compatible engine for the Docker runner's tests: `TEST_DOCKER_HOST`, a running
podman or Docker socket, or podman's API service started here when podman is installed. Images
cannot be pulled on these machines: the tests use a local image with python3
(`TEST_DOCKER_IMAGE`, default `localhost/debian-py:bookworm`, built as docs/operations.md says)
and tag it `python:3.11`, the image name the conformance suite launches.

Where none of this is available the tests are skipped, each naming what is missing.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import docker
import pytest
from docker.errors import DockerException, ImageNotFound

IMAGE = os.environ.get("TEST_DOCKER_IMAGE", "localhost/debian-py:bookworm")
SOCKETS = ["unix:///run/podman/podman.sock", "unix:///var/run/docker.sock"]


def _answers(url: str) -> bool:
    try:
        client = docker.DockerClient(base_url=url, timeout=5)
    except DockerException:
        return False
    try:
        return bool(client.ping())
    except DockerException:
        return False
    finally:
        client.close()


def _prepare(url: str) -> None:
    client = docker.DockerClient(base_url=url)
    try:
        image = client.images.get(IMAGE)
    except ImageNotFound:
        pytest.skip(
            f"docker runner: the engine at {url} has no image {IMAGE} (nothing can be pulled "
            "here; build it with debootstrap and `podman import`, see docs/operations.md)"
        )
    finally:
        client.close()
    image.tag("python", "3.11")


_found: list[str] = []


def engine_url() -> str:
    """The URL of an engine that answers, with the test image tagged; skips otherwise. A podman
    service started here serves the whole test session and ends with it."""
    if not _found:
        _found.append(_find())
    _prepare(_found[0])
    return _found[0]


def _find() -> str:
    candidates = [os.environ["TEST_DOCKER_HOST"]] if os.environ.get("TEST_DOCKER_HOST") else SOCKETS
    for url in candidates:
        if _answers(url):
            return url
    podman = shutil.which("podman")
    if podman is None:
        pytest.skip(
            "docker runner: no Docker-compatible engine answers "
            f"({', '.join(candidates)}) and podman is not installed"
        )
    folder = Path(tempfile.mkdtemp(prefix="ganglion-podman-"))
    url = f"unix://{folder}/podman.sock"
    service = subprocess.Popen(
        [podman, "system", "service", "--time=0", url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def stop() -> None:
        service.terminate()
        service.wait()
        shutil.rmtree(folder, ignore_errors=True)

    atexit.register(stop)
    for _ in range(100):
        if _answers(url):
            return url
        time.sleep(0.1)
    pytest.skip(f"docker runner: podman's API service did not answer at {url}")


@contextlib.asynccontextmanager
async def docker_engine() -> AsyncIterator[str]:
    yield await asyncio.to_thread(engine_url)
