"""Run logs as stored in the artifact store: JSON lines under `<run>/logs/<source>.jsonl`.

Runners write one file per container (`main.jsonl`); tracking writes what the SDK sends
(`sdk.jsonl`). Tracking reads them all back in time order, in Polyaxon's V1Logs shape.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

LOG_SUFFIX = ".jsonl"


class LogLine(BaseModel):
    model_config = ConfigDict(extra="ignore")

    timestamp: datetime
    value: str
    container: str | None = None
    node: str | None = None
    pod: str | None = None
    stream: str | None = None
