"""docs/compatibility.md stays true: every endpoint a supported row names is routed by the
embedded app, and every test a row cites exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ganglion.embedded import EmbeddedOptions, embedded_app

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "compatibility.md"
SUPPORT = {"yes", "partial", "no"}
ENDPOINT = re.compile(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`?\s]*)[^`]*`")
TEST = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def rows() -> list[list[str]]:
    found = []
    for line in DOC.read_text().splitlines():
        if not line.startswith("| ") or line.startswith("| Polyaxon |"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        found.append(cells)
    return found


def shape(path: str) -> str:
    """A path with every placeholder made the same, so `{entity}` matches `{project}`."""
    return re.sub(r"\{[^}]+\}", "{}", path.rstrip("/"))


@pytest.fixture(scope="module")
def routed(tmp_path_factory: pytest.TempPathFactory) -> set[tuple[str, str]]:
    app = embedded_app(
        EmbeddedOptions(
            home=tmp_path_factory.mktemp("home"),
            token="compatibility-doc-token",
            public_url="http://127.0.0.1",
        )
    )
    # The OpenAPI documents list every route, however each app nests its routers.
    return {
        (method.upper(), shape(path))
        for service in (app.api, app.tracking, app.scheduler)
        for path, operations in service.openapi()["paths"].items()
        for method in operations
    }


def test_the_page_has_rows_in_the_documented_form() -> None:
    table = rows()
    assert len(table) >= 1
    for cells in table:
        assert len(cells) == 5, cells
        assert cells[2] in SUPPORT, f"{cells[0]}: support must be one of {sorted(SUPPORT)}"
        if cells[2] != "no":
            assert TEST.search(cells[4]), f"{cells[0]}: a supported row cites its test"
        else:
            assert cells[3], f"{cells[0]}: an unsupported row says why"


def test_every_supported_endpoint_is_routed(routed: set[tuple[str, str]]) -> None:
    missing = [
        f"{cells[0]}: {method} {path}"
        for cells in rows()
        if cells[2] != "no"
        for method, path in ENDPOINT.findall(cells[1])
        if (method, shape(path)) not in routed
    ]
    assert not missing, missing


def test_every_cited_test_exists() -> None:
    missing = []
    for cells in rows():
        for path, name in TEST.findall(cells[4]):
            source = ROOT / path
            if not source.exists() or f"def {name}(" not in source.read_text():
                missing.append(f"{cells[0]}: {path}::{name}")
    assert not missing, missing
