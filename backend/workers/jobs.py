"""Lambda entry for the jobs queue: profile datasets, fan out, run chunks, assemble.

A record whose body is not a known message fails (and dead-letters after the
receive limit). A transient failure fails the record and sets its visibility
timeout to a backoff that grows with ``ApproximateReceiveCount``
(``sqs:ChangeMessageVisibility``), so retries spread out instead of hammering a
database or bucket that is having trouble.
"""

from __future__ import annotations

import logging
from typing import Any

from app.log import configure_logging
from app.settings import get_settings
from workers.sqs_batch import SqsRecord, process_batch, receive_count

configure_logging(get_settings().log_level)
logger = logging.getLogger("synthos.workers")


def backoff_seconds(receives: int) -> int:
    """``base * 2**(receives-1)``, capped (0 disables: the queue's timeout applies)."""
    settings = get_settings()
    if settings.retry_backoff_seconds <= 0:
        return 0
    exponent = max(0, min(receives - 1, 16))
    return int(
        min(settings.retry_backoff_max_seconds, settings.retry_backoff_seconds * 2**exponent)
    )


def _handle(record: SqsRecord) -> None:
    from app.messages import parse_message
    from app.tasks import run_task

    run_task(parse_message(str(record.get("body", ""))))


def _back_off(record: SqsRecord, error: Exception) -> None:
    from app.aws import client
    from app.queue import jobs_queue_url

    delay = backoff_seconds(receive_count(record))
    handle = record.get("receiptHandle")
    if not delay or not handle:
        return
    client("sqs").change_message_visibility(
        QueueUrl=jobs_queue_url(), ReceiptHandle=str(handle), VisibilityTimeout=delay
    )
    logger.info("retry backed off", extra={"visibility_timeout": delay})


def handler(event: dict[str, Any], context: Any = None) -> dict[str, list[dict[str, str]]]:
    return process_batch(event, _handle, _back_off)
