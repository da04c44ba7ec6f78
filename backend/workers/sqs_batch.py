"""Lambda's SQS event source with partial batch responses.

The event source mapping is configured with ``ReportBatchItemFailures``: the
handler returns the ids of the records that failed, and only those become
visible again (and, after the receive limit, go to the dead-letter queue).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from app.log import correlation_id

logger = logging.getLogger("synthos.workers")

SqsRecord = Mapping[str, Any]


def sqs_records(event: Mapping[str, Any]) -> list[SqsRecord]:
    """The records of an SQS event; anything else is a wiring mistake, so it raises."""
    records = event.get("Records") if isinstance(event, Mapping) else None
    if not isinstance(records, list):
        raise ValueError("not an SQS event: no Records list")
    return records


def receive_count(record: SqsRecord) -> int:
    try:
        return int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
    except (TypeError, ValueError):
        return 1


def process_batch(
    event: Mapping[str, Any],
    handle: Callable[[SqsRecord], None],
    on_failure: Callable[[SqsRecord, Exception], None] | None = None,
) -> dict[str, list[dict[str, str]]]:
    """Run ``handle`` on each record; a failure marks that record alone as failed.

    ``on_failure`` (e.g. setting the record's visibility for backoff) runs for each
    failed record; its own errors are logged and never fail the batch.
    """
    failures: list[dict[str, str]] = []
    for record in sqs_records(event):
        message_id = str(record.get("messageId", ""))
        token = correlation_id.set(message_id or None)
        try:
            handle(record)
        except Exception as exc:  # one bad record must not fail its batch
            logger.warning(
                "record failed",
                extra={
                    "message_id": message_id,
                    "error_type": type(exc).__name__,
                    "reason": str(exc)[:500],
                    "receive_count": record.get("attributes", {}).get("ApproximateReceiveCount"),
                },
            )
            failures.append({"itemIdentifier": message_id})
            if on_failure is not None:
                try:
                    on_failure(record, exc)
                except Exception as hook_error:
                    logger.warning(
                        "failure hook failed",
                        extra={"error_type": type(hook_error).__name__},
                    )
        finally:
            correlation_id.reset(token)
    return {"batchItemFailures": failures}
