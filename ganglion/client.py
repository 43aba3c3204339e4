"""A small synchronous client of Ganglion's HTTP API, used by the CLI and the tracking SDK."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import IO, Any

import httpx

from ganglion.config import ClientConfig, load_config


class GanglionError(Exception):
    """What the server (or the network) said no with; `status` is None when unreachable."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    @property
    def is_client_error(self) -> bool:
        return self.status is not None and 400 <= self.status < 500


def _describe(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return f"HTTP {response.status_code}: {response.text[:200]}"
    if isinstance(detail, list):
        parts = []
        for item in detail:
            loc = [
                str(p) for p in item.get("loc", []) if p not in ("body", "path", "query", "header")
            ]
            parts.append(f"{'.'.join(loc)}: {item.get('msg')}" if loc else str(item.get("msg")))
        return "; ".join(parts)
    return str(detail)


class ApiClient:
    def __init__(
        self,
        host: str,
        token: str | None,
        *,
        streams_host: str | None = None,
        scheduler_host: str | None = None,
        owner: str = "default",
        timeout: float = 30.0,
    ) -> None:
        headers = {"Authorization": f"Token {token}"} if token else {}
        self.owner = owner
        self.host = host.rstrip("/")
        self.streams_url = (streams_host or host).rstrip("/")
        self._api = httpx.Client(base_url=self.host, headers=headers, timeout=timeout)
        self._clients = {self.host: self._api}

        def client_for(url: str | None) -> httpx.Client:
            base = (url or host).rstrip("/")
            if base not in self._clients:
                self._clients[base] = httpx.Client(base_url=base, headers=headers, timeout=timeout)
            return self._clients[base]

        # Behind one host (embedded, an ingress) all three are the same client.
        self._streams = client_for(streams_host)
        self._scheduler = client_for(scheduler_host)

    @classmethod
    def from_config(cls, config: ClientConfig | None = None, **overrides: Any) -> ApiClient:
        config = config or load_config()
        return cls(
            config.host,
            config.token,
            streams_host=config.streams_host,
            scheduler_host=config.scheduler_host,
            owner=config.owner,
            **overrides,
        )

    def close(self) -> None:
        for client in self._clients.values():
            client.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(self, client: httpx.Client, method: str, url: str, **kwargs: Any) -> Any:
        try:
            response = client.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            raise GanglionError(f"cannot reach Ganglion at {client.base_url}: {exc}") from exc
        if response.status_code >= 400:
            raise GanglionError(_describe(response), status=response.status_code)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._call(self._api, method, f"/api/v1/{path.lstrip('/')}", **kwargs)

    def streams(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._call(self._streams, method, f"/streams/v1/{path.lstrip('/')}", **kwargs)

    # who and where
    def whoami(self) -> dict[str, Any]:
        return dict(self.api("GET", "users"))

    def installation(self) -> dict[str, Any]:
        return dict(self.api("GET", "installation"))

    # projects
    def create_project(
        self, name: str, *, description: str | None = None, tags: list[str] | None = None
    ) -> dict[str, Any]:
        body = {"name": name, "description": description, "tags": tags or []}
        return dict(self.api("POST", f"{self.owner}/projects/create", json=body))

    def get_project(self, name: str) -> dict[str, Any]:
        return dict(self.api("GET", f"{self.owner}/{name}"))

    def list_projects(self, *, limit: int = 100, offset: int = 0) -> dict[str, Any]:
        return dict(
            self.api(
                "GET", f"{self.owner}/projects/list", params={"limit": limit, "offset": offset}
            )
        )

    def delete_project(self, name: str) -> None:
        self.api("DELETE", f"{self.owner}/{name}")

    # runs
    def create_run(
        self,
        project: str,
        content: str | Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
        description: str | None = None,
        tags: list[str] | None = None,
        is_managed: bool = True,
        managed_by: str | None = None,
        pending: str | None = None,
        meta_info: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"is_managed": is_managed}
        if content is not None:
            body["content"] = content if isinstance(content, str) else json.dumps(content)
        extras = {
            "name": name,
            "description": description,
            "tags": tags,
            "managed_by": managed_by,
            "pending": pending,
            "meta_info": meta_info,
        }
        body.update({k: v for k, v in extras.items() if v is not None})
        return dict(self.api("POST", f"{self.owner}/{project}/runs", json=body))

    def get_run(self, project: str, uuid: str) -> dict[str, Any]:
        return dict(self.api("GET", f"{self.owner}/{project}/runs/{uuid}"))

    def list_runs(
        self,
        project: str,
        *,
        limit: int = 20,
        offset: int = 0,
        sort: str | None = None,
        query: str | None = None,
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if sort:
            params["sort"] = sort
        if query:
            params["query"] = query
        return dict(self.api("GET", f"{self.owner}/{project}/runs", params=params))

    def update_run(
        self, project: str, uuid: str, *, merge: bool = True, **fields: Any
    ) -> dict[str, Any]:
        return dict(
            self.api(
                "PATCH", f"{self.owner}/{project}/runs/{uuid}", json={**fields, "merge": merge}
            )
        )

    def delete_run(self, project: str, uuid: str) -> None:
        self.api("DELETE", f"{self.owner}/{project}/runs/{uuid}")

    def get_statuses(self, project: str, uuid: str) -> dict[str, Any]:
        return dict(self.api("GET", f"{self.owner}/{project}/runs/{uuid}/statuses"))

    def create_status(
        self,
        project: str,
        uuid: str,
        status: str,
        *,
        reason: str | None = None,
        message: str | None = None,
        force: bool = False,
    ) -> dict[str, Any]:
        condition = {
            "type": status,
            "status": True,
            "reason": reason or "GanglionClient",
            "message": message,
        }
        return dict(
            self.api(
                "POST",
                f"{self.owner}/{project}/runs/{uuid}/statuses",
                json={"condition": condition, "force": force},
            )
        )

    def stop_run(self, project: str, uuid: str) -> None:
        self.api("POST", f"{self.owner}/{project}/runs/{uuid}/stop")

    def approve_run(self, project: str, uuid: str) -> None:
        self.api("POST", f"{self.owner}/{project}/runs/{uuid}/approve")

    def skip_run(self, project: str, uuid: str) -> None:
        self.api("POST", f"{self.owner}/{project}/runs/{uuid}/skip")

    def restart_run(
        self, project: str, uuid: str, *, copy: bool = False, **override: Any
    ) -> dict[str, Any]:
        action = "copy" if copy else "restart"
        return dict(self.api("POST", f"{self.owner}/{project}/runs/{uuid}/{action}", json=override))

    def resume_run(self, project: str, uuid: str, **override: Any) -> dict[str, Any]:
        return dict(self.api("POST", f"{self.owner}/{project}/runs/{uuid}/resume", json=override))

    def transfer_runs(self, project: str, uuids: list[str], destination: str) -> dict[str, Any]:
        """Move finished runs to another project (all or none)."""
        body = {"uuids": uuids, "project": destination}
        return dict(self.api("POST", f"{self.owner}/{project}/runs/transfer", json=body))

    def bulk(self, project: str, action: str, uuids: list[str]) -> dict[str, Any]:
        """`stop`, `approve`, `skip` or `delete` several runs at once."""
        method = "DELETE" if action == "delete" else "POST"
        return dict(
            self.api(method, f"{self.owner}/{project}/runs/{action}", json={"uuids": uuids})
        )

    def get_execution(self, uuid: str) -> dict[str, Any]:
        """How the scheduler sees a run, including why a queued run waits."""
        return dict(self._call(self._scheduler, "GET", f"/scheduler/v1/runs/{uuid}"))

    # queues and quotas
    def create_queue(self, name: str, **fields: Any) -> dict[str, Any]:
        return dict(self.api("POST", f"orgs/{self.owner}/queues", json={"name": name, **fields}))

    def update_queue(self, name: str, **fields: Any) -> dict[str, Any]:
        return dict(self.api("PATCH", f"orgs/{self.owner}/queues/{name}", json=fields))

    def list_queues(self) -> dict[str, Any]:
        return dict(self.api("GET", f"orgs/{self.owner}/queues"))

    def delete_queue(self, name: str) -> None:
        self.api("DELETE", f"orgs/{self.owner}/queues/{name}")

    def create_preset(self, name: str, content: str, **fields: Any) -> dict[str, Any]:
        body = {"name": name, "content": content, **fields}
        return dict(self.api("POST", f"orgs/{self.owner}/presets", json=body))

    def get_preset(self, name: str) -> dict[str, Any]:
        return dict(self.api("GET", f"orgs/{self.owner}/presets/{name}"))

    def update_preset(self, name: str, **fields: Any) -> dict[str, Any]:
        return dict(self.api("PATCH", f"orgs/{self.owner}/presets/{name}", json=fields))

    def list_presets(self) -> dict[str, Any]:
        return dict(self.api("GET", f"orgs/{self.owner}/presets"))

    def delete_preset(self, name: str) -> None:
        self.api("DELETE", f"orgs/{self.owner}/presets/{name}")

    def set_quota(self, kind: str, subject: str, **limits: Any) -> dict[str, Any]:
        return dict(self.api("PUT", f"orgs/{self.owner}/quotas/{kind}/{subject}", json=limits))

    def list_quotas(self) -> dict[str, Any]:
        return dict(self.api("GET", f"orgs/{self.owner}/quotas"))

    def delete_quota(self, kind: str, subject: str) -> None:
        self.api("DELETE", f"orgs/{self.owner}/quotas/{kind}/{subject}")

    # tracking
    def _run_path(self, namespace: str, project: str, uuid: str) -> str:
        return f"{namespace}/{self.owner}/{project}/runs/{uuid}"

    def log_points(
        self, namespace: str, project: str, uuid: str, points: Iterable[Mapping[str, Any]]
    ) -> int:
        body = {"metrics": list(points)}
        return int(
            self.streams("POST", f"{self._run_path(namespace, project, uuid)}/metrics", json=body)[
                "count"
            ]
        )

    def log_lines(
        self, namespace: str, project: str, uuid: str, lines: Iterable[Mapping[str, Any]]
    ) -> int:
        body = {"logs": list(lines)}
        return int(
            self.streams("POST", f"{self._run_path(namespace, project, uuid)}/logs", json=body)[
                "count"
            ]
        )

    def log_lineage(
        self, project: str, uuid: str, artifacts: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        return list(
            self.api(
                "POST",
                f"{self.owner}/{project}/runs/{uuid}/lineage/artifacts",
                json={"artifacts": artifacts},
            )
        )

    def get_lineage(self, project: str, uuid: str) -> dict[str, Any]:
        return dict(self.api("GET", f"{self.owner}/{project}/runs/{uuid}/lineage/artifacts"))

    def get_events(
        self, namespace: str, project: str, uuid: str, kind: str, names: list[str] | None = None
    ) -> dict[str, dict[str, list[Any]]]:
        params = {"names": ",".join(names)} if names else {}
        data = self.streams(
            "GET", f"{self._run_path(namespace, project, uuid)}/events/{kind}", params=params
        )
        return {series["name"]: series["data"] for series in data["data"]}

    def get_metrics(
        self,
        namespace: str,
        project: str,
        uuid: str,
        names: list[str] | None = None,
        *,
        sample: int | None = None,
    ) -> dict[str, dict[str, list[Any]]]:
        params: dict[str, Any] = {"names": ",".join(names)} if names else {}
        if sample:
            params["sample"] = sample
        data = self.streams(
            "GET", f"{self._run_path(namespace, project, uuid)}/events/metric", params=params
        )
        return {series["name"]: series["data"] for series in data["data"]}

    def get_logs(
        self, namespace: str, project: str, uuid: str, *, last_time: str | None = None
    ) -> dict[str, Any]:
        params = {"last_time": last_time} if last_time else {}
        return dict(
            self.streams("GET", f"{self._run_path(namespace, project, uuid)}/logs", params=params)
        )

    def upload_artifact(
        self,
        namespace: str,
        project: str,
        uuid: str,
        content: IO[bytes] | Any,
        *,
        filename: str,
        path: str = "",
        untar: bool = False,
    ) -> dict[str, Any]:
        files = {"upload_file": (filename, content, "application/octet-stream")}
        data = {"path": path, "untar": str(untar).lower(), "overwrite": "true"}
        return dict(
            self.streams(
                "POST",
                f"{self._run_path(namespace, project, uuid)}/artifact",
                files=files,
                data=data,
            )
        )
