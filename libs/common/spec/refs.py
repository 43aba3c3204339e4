"""Component references: `hubRef` (components Ganglion ships, in `hub/`), `pathRef` (a file,
relative to the file that names it), `urlRef` (fetched over HTTP). Like Polyaxon's CLI, the
client inlines them before it posts; the server resolves only `hubRef` (it never reads paths
or fetches URLs a user names). `dagRef` is resolved inside a DAG, by `dag.py`."""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import yaml

from libs.common.spec.base import NAME_PATTERN
from libs.common.spec.errors import SpecError, SpecIssue, join
from libs.common.spec.parsing import parse_content

HUB = Path(__file__).parent / "hub"
# Polyaxon's hub names that mean one of ours.
_HUB_ALIASES = {"tensorboard:single-run": "tensorboard"}


@functools.cache
def _hub_file(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((HUB / f"{name}.yaml").read_text())
    return data


def hub_names() -> list[str]:
    return sorted(p.stem for p in HUB.glob("*.yaml"))


def hub_component(ref: str) -> dict[str, Any]:
    """The hub component `name` or `name:tag` (`latest` and the bare name are the same);
    raises ValueError listing what the hub has."""
    ref = _HUB_ALIASES.get(ref, ref)
    name, _, tag = ref.partition(":")
    candidate = f"{name}-{tag}" if tag and tag != "latest" else name
    # The name becomes a file name: only plain names, never a path.
    if re.fullmatch(NAME_PATTERN, candidate) and (HUB / f"{candidate}.yaml").is_file():
        return copy.deepcopy(_hub_file(candidate))
    raise ValueError(f"no hub component {ref!r}; the hub has {', '.join(hub_names())}")


def _component(data: dict[str, Any], where: str) -> dict[str, Any]:
    kind = data.get("kind", "component")
    if kind != "component":
        raise ValueError(f"{where}: expected a component, got kind {kind!r}")
    return data


class Resolver:
    """Inlines the components that operations reference.

    `paths` and `urls` map a reference as written to a local file (tests, offline use); `http`
    is the client that fetches other URLs. A resolver made with `remote=False` (the server's)
    refuses `pathRef` and `urlRef`."""

    def __init__(
        self,
        *,
        paths: Mapping[str, Path] | None = None,
        urls: Mapping[str, Path] | None = None,
        http: httpx.Client | None = None,
        remote: bool = True,
    ) -> None:
        self.paths = dict(paths or {})
        self.urls = dict(urls or {})
        self.http = http
        self.remote = remote

    def reference(
        self, alias: str, ref: str, base: Path | None
    ) -> tuple[dict[str, Any], Path | None]:
        """The referenced component's data and the folder its own pathRefs are relative to."""
        if alias == "hubRef":
            return hub_component(ref), None
        if not self.remote:
            raise ValueError(
                f"{alias} is resolved by the client (`ganglion run` inlines it); "
                "post the operation with the component inline"
            )
        if alias == "pathRef":
            path = self.paths.get(ref) or (base or Path.cwd()) / ref
            if not path.is_file():
                raise ValueError(f"no such file: {path}")
            return _component(parse_content(path.read_text(), file=str(path)), str(path)), (
                path.parent
            )
        if alias == "urlRef":
            text = self.urls[ref].read_text() if ref in self.urls else self._fetch(ref)
            return _component(parse_content(text, file=ref), ref), None
        raise ValueError(f"{alias} is resolved inside a DAG, from its components")

    def _fetch(self, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("expected an http(s) URL")
        try:
            if self.http is not None:
                response = self.http.get(url, follow_redirects=True)
            else:
                response = httpx.get(url, follow_redirects=True, timeout=30)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise ValueError(f"could not fetch {url}: {exc}") from None
        return response.text

    def resolve(self, operation: dict[str, Any], *, file: str | None = None) -> dict[str, Any]:
        """The operation with its component, and every DAG operation's below it, inline.
        `dagRef`s stay: they name a component of the same DAG."""
        base = Path(file).parent if file else None
        issues: list[SpecIssue] = []
        out = self._resolve_op(operation, base, "", issues)
        if issues:
            raise SpecError(issues)
        return out

    def _resolve_op(
        self, op: dict[str, Any], base: Path | None, loc: str, issues: list[SpecIssue]
    ) -> dict[str, Any]:
        op = dict(op)
        for alias in ("hubRef", "urlRef", "pathRef"):
            ref = op.get(alias)
            if ref is None or "component" in op:
                continue
            try:
                component, base = self.reference(alias, ref, base)
            except (ValueError, SpecError) as exc:
                issues.append(SpecIssue(join(loc, alias), str(exc)))
                return op
            del op[alias]
            op["component"] = component
        inline = op.get("component")
        if isinstance(inline, dict):
            op["component"] = self._resolve_component(inline, base, join(loc, "component"), issues)
        return op

    def _resolve_component(
        self, component: dict[str, Any], base: Path | None, loc: str, issues: list[SpecIssue]
    ) -> dict[str, Any]:
        run = component.get("run")
        if not (isinstance(run, dict) and run.get("kind") == "dag"):
            return component
        operations = run.get("operations")
        if isinstance(operations, list):
            run = {
                **run,
                "operations": [
                    self._resolve_op(op, base, f"{loc}.run.operations[{i}]", issues)
                    if isinstance(op, dict)
                    else op
                    for i, op in enumerate(operations)
                ],
            }
        components = run.get("components")
        if isinstance(components, list):
            run["components"] = [
                self._resolve_component(c, base, f"{loc}.run.components[{i}]", issues)
                if isinstance(c, dict)
                else c
                for i, c in enumerate(components)
            ]
        return {**component, "run": run}


SERVER = Resolver(remote=False)
"""What the api uses: hub components only."""
