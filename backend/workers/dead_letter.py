"""Lambda entry for the dead-letter queue: a message that kept failing ends its job."""

from __future__ import annotations

from typing import Any

from app.log import configure_logging
from app.settings import get_settings
from workers.sqs_batch import SqsRecord, process_batch

configure_logging(get_settings().log_level)


def _handle(record: SqsRecord) -> None:
    from app.tasks import give_up

    receives = record.get("attributes", {}).get("ApproximateReceiveCount", "?")
    give_up(str(record.get("body", "")), reason=f"gave up after {receives} attempts")


def handler(event: dict[str, Any], context: Any = None) -> dict[str, list[dict[str, str]]]:
    return process_batch(event, _handle)
