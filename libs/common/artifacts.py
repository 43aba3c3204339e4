"""Where a run's files live in the artifact store: `{root}/{project}/{run_uuid}/` holding
`outputs/`, `logs/`, `events/`, `assets/` and `uploads/` (code sent with `ganglion run -u`)."""

from __future__ import annotations

from pathlib import PurePosixPath
from uuid import UUID

OUTPUTS = "outputs"
LOGS = "logs"
UPLOADS = "uploads"


def run_path(root: str, project: str, uuid: UUID | str) -> PurePosixPath:
    # Hex, as Polyaxon writes run uuids everywhere.
    return PurePosixPath(root) / project / UUID(str(uuid)).hex
