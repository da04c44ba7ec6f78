"""Lambda entry that upgrades the stage's database (``serverless invoke -f migrate``)."""

from __future__ import annotations

from typing import Any

from app.log import configure_logging
from app.settings import get_settings

configure_logging(get_settings().log_level)


def handler(event: dict[str, Any] | None = None, context: Any = None) -> dict[str, Any]:
    from app.migrate import upgrade

    revision = str((event or {}).get("revision", "head"))
    return {"status": "ok", "revision": upgrade(revision)}
