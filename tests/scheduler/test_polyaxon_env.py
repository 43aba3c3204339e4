"""Every launched run carries what Polyaxon's own client reads in a managed run, as Polyaxon's
process agent sets it (the client really attaching is tests/e2e/test_polyaxon_streams.py)."""

from __future__ import annotations

from tests.scheduler.test_kubernetes_manifests import launch_from

JOB = """
version: 1.1
kind: component
run:
  kind: job
  container: {image: python:3.11, command: [python, train.py]}
"""


def test_a_run_carries_polyaxons_in_cluster_context() -> None:
    launch = launch_from(JOB, runner="local")
    env = launch.env
    assert env["POLYAXON_RUN_INSTANCE"] == f"acme.mnist.runs.{launch.run_uuid.hex}"
    assert env["POLYAXON_IS_MANAGED"] == "true"
    assert env["POLYAXON_HOST"] == env["GANGLION_HOST"]
    assert env["POLYAXON_AUTH_TOKEN"] == "x" * 20
    # No sidecar container: the client syncs its own files through the streams API.
    assert env["POLYAXON_HAS_PROCESS_SIDECAR"] == "true"
    assert (env["POLYAXON_COLLECT_ARTIFACTS"], env["POLYAXON_COLLECT_RESOURCES"]) == (
        "true",
        "true",
    )
    # The staging root must not contain the run's uuid (the client cuts paths at it).
    assert launch.run_uuid.hex not in env["POLYAXON_CONTEXT_ROOT"]


def test_the_operations_plugins_turn_collection_off() -> None:
    launch = launch_from(JOB + "plugins: {collectResources: false, collectArtifacts: false}\n")
    assert launch.env["POLYAXON_COLLECT_RESOURCES"] == "false"
    assert launch.env["POLYAXON_COLLECT_ARTIFACTS"] == "false"
