"""Lambda entry for the EventBridge schedule: housekeeping, safe to repeat."""

from __future__ import annotations

import logging
from typing import Any

from app.log import configure_logging
from app.settings import get_settings

configure_logging(get_settings().log_level)
logger = logging.getLogger("synthos.maintenance")


def handler(event: dict[str, Any] | None = None, context: Any = None) -> dict[str, Any]:
    from app.maintenance import run_maintenance

    summary = run_maintenance()
    logger.info("maintenance done", extra={"summary": summary})
    return summary
