"""Lambda entry for the jobs queue: profile datasets, fan out and run chunks."""

from __future__ import annotations

from typing import Any

from app.log import configure_logging
from app.settings import get_settings
from workers.sqs_batch import SqsRecord, process_batch

configure_logging(get_settings().log_level)


def _handle(record: SqsRecord) -> None:
    from app.messages import parse_message
    from app.tasks import run_task

    run_task(parse_message(str(record.get("body", ""))))


def handler(event: dict[str, Any], context: Any = None) -> dict[str, list[dict[str, str]]]:
    return process_batch(event, _handle)
