"""Polyaxon's event files, as its tracking client uploads them: `events/<kind>/<name>.plx` and
`resources/<kind>/<name>.plx`: a `|`-separated table with the header `step|timestamp|<kind>`
whose value column is a number (metrics), text, or a JSON object (images, histograms, ...), or
JSON lines `{"timestamp", "step", "<kind>"}`.
An uploaded file holds a series' whole history, so importing it replaces the series."""

from __future__ import annotations

import json
import logging
import math
import re
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, insert

from libs.common.db.database import Database
from libs.common.ids import utcnow
from services.tracking.db.metrics import replace_series
from services.tracking.db.tables import RunEvent
from services.tracking.domain.points import Columns, to_micros
from services.tracking.domain.stores.base import ArtifactStore

log = logging.getLogger(__name__)

_EVENT_FILE = re.compile(r"^(events|resources)/([a-z_]+)/(.+)\.plx$")
TEXT_KINDS = ("text", "html", "markdown")


def is_event_file(relative: str) -> bool:
    return _EVENT_FILE.match(relative) is not None


def _time(raw: str) -> datetime:
    try:
        return datetime.fromisoformat(raw.strip())
    except ValueError:
        return utcnow()


def _step(raw: str) -> int | None:
    raw = raw.strip()
    return int(raw) if raw.lstrip("-").isdigit() and int(raw) >= 0 else None


def parse_rows(text: str, kind: str) -> list[tuple[int | None, datetime, str]]:
    """Rows of either layout the client writes: the `|` table, or JSON lines
    `{"timestamp", "step", "<kind>"}` (2.x writes text and rich events that way)."""
    rows = []
    for number, line in enumerate(text.splitlines()):
        if not line.strip() or (number == 0 and line.startswith("step|")):
            continue
        if line.lstrip().startswith("{"):
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if isinstance(item, dict) and kind in item:
                value = item[kind]
                raw = value if isinstance(value, str) else json.dumps(value)
                step = item.get("step")
                step = step if isinstance(step, int) and step >= 0 else None
                rows.append((step, _time(str(item.get("timestamp") or "")), raw))
            continue
        parts = line.split("|", 2)
        if len(parts) == 3:
            rows.append((_step(parts[0]), _time(parts[1]), parts[2]))
    return rows


async def import_event_file(
    db: Database, store: ArtifactStore, run_uuid: UUID, key: str, relative: str
) -> int:
    """Read an uploaded event file into metric series or rich events; return rows read. A file
    that cannot be read is kept as an artifact and logged, never refused."""
    match = _EVENT_FILE.match(relative)
    if match is None:
        return 0
    folder, kind, name = match.groups()
    try:
        rows = parse_rows((await store.read_all(key)).decode("utf-8", errors="replace"), kind)
    except OSError as exc:
        log.warning("could not read event file %s: %r", key, exc)
        return 0
    if kind == "metric":
        series = f"resources/{name}" if folder == "resources" else name
        steps, times, values = [], [], []
        for step, moment, raw in rows:
            try:
                number = float(raw)
            except ValueError:
                continue
            if math.isfinite(number):
                steps.append(step)
                times.append(to_micros(moment))
                values.append(number)
        async with db.session() as session, session.begin():
            await replace_series(session, run_uuid, series, Columns.of(steps, times, values))
        return len(values)
    events: list[dict[str, Any]] = []
    for step, moment, raw in rows:
        value: Any
        if kind in TEXT_KINDS:
            value = {kind: raw}
        else:
            try:
                value = json.loads(raw)
            except ValueError:
                value = {"raw": raw}
            if not isinstance(value, dict):
                value = {"value": value}
        events.append(
            {
                "run_uuid": run_uuid,
                "kind": kind,
                "name": name,
                "step": step,
                "timestamp": moment,
                "value": value,
            }
        )
    async with db.session() as session, session.begin():
        await session.execute(
            delete(RunEvent).where(
                RunEvent.run_uuid == run_uuid, RunEvent.kind == kind, RunEvent.name == name
            )
        )
        if events:
            await session.execute(insert(RunEvent), events)
    return len(events)
