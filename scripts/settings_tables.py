"""Rewrite the settings tables in docs/operations.md from the settings classes:
`python scripts/settings_tables.py`. (tests/unit/test_docs.py checks every setting is there.)"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from pydantic.fields import FieldInfo

from libs.common.settings import ServiceSettings

DOC = Path(__file__).parents[1] / "docs" / "operations.md"
SERVICES = ("api", "scheduler", "tracking")


def env_name(cls: type[ServiceSettings], name: str, field: FieldInfo) -> str:
    alias = field.validation_alias
    return alias if isinstance(alias, str) else f"GANGLION_{cls.SERVICE.upper()}_{name.upper()}"


def default(name: str, field: FieldInfo) -> str:
    if name == "home":
        return "`~/.ganglion`"
    if field.default_factory is not None or field.default is None:
        return "—"
    return f"`{field.default}`"


def row(cls: type[ServiceSettings], name: str, field: FieldInfo) -> str:
    return f"| `{env_name(cls, name, field)}` | {default(name, field)} | {field.description} |"


def tables() -> str:
    header = "| variable | default | meaning |\n|---|---|---|"
    shared = [row(ServiceSettings, n, f) for n, f in ServiceSettings.model_fields.items() if isinstance(f.validation_alias, str)]
    parts = ["### Shared by every service", "", header, *shared, ""]
    for service in SERVICES:
        cls = importlib.import_module(f"services.{service}.app").Settings
        own = [row(cls, n, f) for n, f in cls.model_fields.items() if not isinstance(f.validation_alias, str)]
        parts += [f"### {service}", "", header, *own, ""]
    return "\n".join(parts)


def main() -> None:
    text = DOC.read_text()
    pattern = re.compile(r"(<!-- settings:begin -->\n).*?(<!-- settings:end -->)", re.DOTALL)
    DOC.write_text(pattern.sub(lambda m: m.group(1) + tables() + m.group(2), text))


if __name__ == "__main__":
    main()
