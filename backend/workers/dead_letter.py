"""Lambda entry for the dead-letter queue: a message that kept failing ends its job.

The record's ``ApproximateReceiveCount`` includes this consumer's own receive, so
the attempts reported are one fewer.
"""

from __future__ import annotations

from typing import Any

from app.log import configure_logging
from app.settings import get_settings
from workers.sqs_batch import SqsRecord, process_batch, receive_count

configure_logging(get_settings().log_level)


def _handle(record: SqsRecord) -> None:
    from app.tasks import give_up

    attempts = max(1, receive_count(record) - 1)
    give_up(str(record.get("body", "")), attempts=attempts)


def handler(event: dict[str, Any], context: Any = None) -> dict[str, list[dict[str, str]]]:
    return process_batch(event, _handle)
