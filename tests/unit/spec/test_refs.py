"""hubRef, pathRef (relative to the file), urlRef (fetched with httpx; the server refuses it)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from libs.common.spec import (
    SERVER,
    Resolver,
    SpecError,
    compile_operation,
    hub_component,
    load_operation,
)
from tests.unit.spec.support import CONTEXT, TYPED, TYPED_URL, issues_of


@pytest.mark.parametrize("name", ["tensorboard", "notebook", "jupyterlab", "notify", "slack"])
def test_hub_components_compile(name: str) -> None:
    operation = load_operation({"kind": "operation", "hubRef": name})
    compiled = compile_operation(operation, CONTEXT)
    assert compiled.run is not None and compiled.run.kind in ("job", "service")
    if compiled.run.kind == "service":
        args = compiled.dump()["run"]["container"]["args"]
        port = compiled.dump()["run"]["ports"][0]
        assert f"--port={port}" in args
        assert any(f"/services/v1/ganglion/default/demo/runs/{CONTEXT.uuid.hex}" in a for a in args)


def test_tensorboard_over_another_run() -> None:
    operation = load_operation(
        {"kind": "operation", "hubRef": "tensorboard:single-run", "params": {"uuid": "abc"}}
    )
    args = compile_operation(operation, CONTEXT).dump()["run"]["container"]["args"]
    assert "--logdir=/artifacts/demo/abc" in args


def test_unknown_hub_component_and_paths_are_refused() -> None:
    for ref in ("nope", "../../etc/passwd", "tensorboard:v9"):
        with pytest.raises(SpecError) as caught:
            compile_operation(load_operation({"kind": "operation", "hubRef": ref}), CONTEXT)
        [(loc, msg)] = issues_of(caught.value)
        assert (
            loc == "hubRef"
            and "the hub has jupyterlab, notebook, notify, slack, tensorboard" in msg
        )
    with pytest.raises(ValueError, match="no hub component"):
        hub_component("nope")


def test_path_ref_is_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "components").mkdir()
    (tmp_path / "components" / "typed.yaml").write_text(TYPED.read_text())
    main = tmp_path / "op.yaml"
    resolved = Resolver().resolve(
        {"kind": "operation", "pathRef": "components/typed.yaml"}, file=str(main)
    )
    assert resolved["component"]["name"] == "typed-experiment" and "pathRef" not in resolved
    with pytest.raises(SpecError) as caught:
        Resolver().resolve({"kind": "operation", "pathRef": "missing.yaml"}, file=str(main))
    assert issues_of(caught.value) == [("pathRef", f"no such file: {tmp_path / 'missing.yaml'}")]


def test_url_ref_is_fetched() -> None:
    seen: list[str] = []

    def serve(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.path.endswith("typed.yaml"):
            return httpx.Response(200, text=TYPED.read_text())
        return httpx.Response(404)

    resolver = Resolver(http=httpx.Client(transport=httpx.MockTransport(serve)))
    resolved = resolver.resolve({"kind": "operation", "urlRef": TYPED_URL})
    assert resolved["component"]["name"] == "typed-experiment" and seen == [TYPED_URL]
    with pytest.raises(SpecError) as caught:
        resolver.resolve({"kind": "operation", "urlRef": "https://example.test/missing.yaml"})
    [(loc, msg)] = issues_of(caught.value)
    assert loc == "urlRef" and "404" in msg


def test_refs_inside_a_dag_are_resolved_and_an_operation_is_not_a_component(tmp_path: Path) -> None:
    (tmp_path / "op.yaml").write_text("kind: operation\nhubRef: notify\n")
    data = {
        "kind": "operation",
        "component": {"run": {"kind": "dag", "operations": [{"name": "a", "pathRef": "op.yaml"}]}},
    }
    with pytest.raises(SpecError) as caught:
        Resolver().resolve(data, file=str(tmp_path / "main.yaml"))
    assert issues_of(caught.value) == [
        (
            "component.run.operations[0].pathRef",
            f"{tmp_path / 'op.yaml'}: expected a component, got kind 'operation'",
        )
    ]


def test_the_server_resolves_only_the_hub() -> None:
    for alias in ("urlRef", "pathRef"):
        with pytest.raises(SpecError) as caught:
            compile_operation(
                load_operation({"kind": "operation", alias: "typed.yaml"}), CONTEXT, resolver=SERVER
            )
        [(loc, msg)] = issues_of(caught.value)
        assert loc == alias and "resolved by the client" in msg
