"""`ganglion run -f FILE` and `ganglion check -f FILE`."""

from __future__ import annotations

import fnmatch
import json
import tarfile
import tempfile
import uuid as uuidlib
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from ganglion.cli.common import (
    UserError,
    client,
    echo,
    follow_logs,
    parse_params,
    project_of,
    remember_run,
    warn,
    watch_statuses,
)
from ganglion.cli.specfile import build_operation, fail, parse_hparams
from ganglion.client import ApiClient
from libs.common.spec import Resolver, RunContext, SpecError, compile_operation, load_operation
from libs.common.spec.models import Mount

FileOption = Annotated[
    list[Path],
    typer.Option(
        "--file", "-f", help="The polyaxonfile; later -f files are presets applied in order."
    ),
]
HParamOption = Annotated[
    list[str] | None,
    typer.Option("--hparam", "-HP", help="name='kind:value' matrix param; repeatable."),
]
MatrixKindOption = Annotated[
    str | None, typer.Option("--matrix-kind", help="grid (default), random, bayes, ...")
]
MatrixConcurrencyOption = Annotated[
    int | None, typer.Option("--matrix-concurrency", min=1, help="Trials at once (default 1).")
]
MatrixRunsOption = Annotated[
    int | None, typer.Option("--matrix-num-runs", min=1, help="How many trials.")
]
ParamOption = Annotated[
    list[str] | None, typer.Option("--param", "-P", help="name=value; repeatable.")
]
ALWAYS_IGNORED = (
    ".git",
    ".venv",
    "venv",
    "__pycache__",
    "node_modules",
    ".ganglion",
    ".ganglion-demo",
    "*.pyc",
    ".mypy_cache",
    ".pytest_cache",
)


def _ignored(relative: str, patterns: list[str]) -> bool:
    parts = relative.split("/")
    return any(
        fnmatch.fnmatch(relative, p) or any(fnmatch.fnmatch(part, p) for part in parts)
        for p in patterns
    )


def _pack(folder: Path) -> tempfile.SpooledTemporaryFile[bytes]:
    patterns = list(ALWAYS_IGNORED)
    for name in (".ganglionignore", ".polyaxonignore"):
        ignore = folder / name
        if ignore.exists():
            patterns += [
                line.strip().rstrip("/")
                for line in ignore.read_text().splitlines()
                if line.strip() and not line.startswith("#")
            ]
    archive = tempfile.SpooledTemporaryFile(max_size=16 << 20)  # noqa: SIM115 - returned open
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder).as_posix()
            if path.is_file() and not _ignored(relative, patterns):
                tar.add(path, arcname=relative)
    archive.seek(0)
    return archive


def run(
    file: FileOption,
    param: ParamOption = None,
    hparam: HParamOption = None,
    matrix_kind: MatrixKindOption = None,
    matrix_concurrency: MatrixConcurrencyOption = None,
    matrix_num_runs: MatrixRunsOption = None,
    project: Annotated[
        str | None, typer.Option("--project", "-p", help="Project to run in.")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", "-n")] = None,
    tags: Annotated[str | None, typer.Option(help="Comma-separated tags.")] = None,
    description: Annotated[str | None, typer.Option()] = None,
    upload: Annotated[
        bool, typer.Option("--upload", "-u", help="Upload this folder to the run's uploads/ first.")
    ] = False,
    watch: Annotated[
        bool, typer.Option("--watch", "-w", help="Follow statuses until the run is done.")
    ] = False,
    log: Annotated[
        bool, typer.Option("--log", "-l", help="Stream the logs until the run is done.")
    ] = False,
    priority: Annotated[
        int | None, typer.Option(help="Order among the project's runs waiting in a queue.")
    ] = None,
    mount: Annotated[
        list[str] | None,
        typer.Option(
            "--mount",
            "-m",
            help="from[:to]: upload a local path into the run's folder; repeatable.",
        ),
    ] = None,
) -> None:
    """Submit a polyaxonfile as a new run."""
    operation = _build(file, param, hparam, matrix_kind, matrix_concurrency, matrix_num_runs)
    mounts = _mounts(operation, mount or [])
    target = project_of(project)
    with client() as api:
        created = api.create_run(
            target,
            json.dumps(operation),
            name=name,
            description=description,
            tags=[t for t in (tags or "").split(",") if t] or None,
            managed_by="cli",
            pending="upload" if upload or mounts else None,
            meta_info={"priority": priority} if priority is not None else None,
        )
        uuid = created["uuid"]
        remember_run(target, uuid)
        if upload:
            mounts.insert(0, (Path.cwd(), "uploads"))
        for source, folder in mounts:
            _upload(api, created["settings"]["namespace"], target, uuid, source, folder)
        if mounts:
            api.approve_run(target, uuid)
        echo(f"run {uuid} created in {target} ({created['status']})")
        final = None
        if log:
            for line in follow_logs(api, target, uuid, follow=True):
                echo(line)
            final = api.get_run(target, uuid)["status"]
        elif watch:
            final = watch_statuses(api, target, uuid)
    if final is not None and final != "succeeded":
        warn(f"run {uuid} ended {final}")
        raise typer.Exit(1)


def _mounts(operation: dict[str, Any], extra: list[str]) -> list[tuple[Path, str]]:
    """What to upload before the run starts, as (local path, where in the run's folder): the
    `mount` sections of the operation and its component, then `--mount` options."""
    component = operation.get("component") or {}
    declared = [*(component.get("mount") or []), *(operation.get("mount") or [])]
    found: list[tuple[Path, str]] = []
    for index, raw in enumerate([*declared, *extra]):
        try:
            mount = Mount.model_validate(raw)
        except ValidationError:
            raise UserError(f"mount[{index}]: expected 'from:to', 'from' or {{from, to}}") from None
        source = Path(mount.path_from).expanduser()
        if not source.exists():
            raise UserError(f"mount {mount.path_from!r}: no such file or folder")
        found.append((source, mount.target))
    return found


def _upload(api: ApiClient, namespace: str, project: str, uuid: str, source: Path, to: str) -> None:
    """A folder goes as a tar.gz unpacked at `to`; a file lands at `to` (a path and a name)."""
    if source.is_dir():
        with _pack(source) as archive:
            api.upload_artifact(
                namespace, project, uuid, archive, filename="upload.tar.gz", path=to, untar=True
            )
        return
    folder, _, name = to.rpartition("/")
    with source.open("rb") as content:
        api.upload_artifact(namespace, project, uuid, content, filename=name, path=folder)


def _build(
    file: list[Path],
    param: list[str] | None,
    hparam: list[str] | None,
    matrix_kind: str | None,
    matrix_concurrency: int | None,
    matrix_num_runs: int | None,
) -> dict[str, Any]:
    try:
        return build_operation(
            file,
            parse_params(param),
            hparams=parse_hparams(hparam),
            matrix_kind=matrix_kind,
            matrix_concurrency=matrix_concurrency,
            matrix_num_runs=matrix_num_runs,
        )
    except SpecError as exc:
        raise fail(exc) from None


def check(
    file: FileOption,
    param: ParamOption = None,
    hparam: HParamOption = None,
    matrix_kind: MatrixKindOption = None,
    matrix_concurrency: MatrixConcurrencyOption = None,
    matrix_num_runs: MatrixRunsOption = None,
) -> None:
    """Validate and compile a polyaxonfile (with its presets) without submitting it; exit 2
    with one line per issue."""
    operation = _build(file, param, hparam, matrix_kind, matrix_concurrency, matrix_num_runs)
    path = str(file[0])
    try:
        compiled = compile_operation(
            load_operation(operation, file=path),
            RunContext(
                uuid=uuidlib.uuid4(),
                owner="default",
                project="check",
                username="check",
                namespace="ganglion",
                artifacts_root="/artifacts",
            ),
            resolver=Resolver(),
        )
    except SpecError as exc:
        raise fail(exc, path) from None
    kind: str = compiled.run.kind if compiled.run else "?"
    if compiled.matrix is not None:
        kind = f"{compiled.matrix.kind} matrix of {kind}"
    elif compiled.schedule is not None:
        kind = f"{compiled.schedule.kind} schedule of {kind}"
    echo(f"{path}: valid {kind} operation{f' {compiled.name!r}' if compiled.name else ''}")
