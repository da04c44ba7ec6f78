"""Sending to the jobs queue (SQS via boto3). One place for queue access."""

from __future__ import annotations

import logging
from datetime import datetime
from functools import lru_cache
from typing import Any

from app.aws import client
from app.messages import JobMessage, encode_message
from app.settings import get_settings

logger = logging.getLogger("synthos.queue")


@lru_cache(maxsize=1)
def jobs_queue_url() -> str:
    """The configured URL, or the URL looked up once by queue name."""
    settings = get_settings()
    if settings.jobs_queue_url:
        return settings.jobs_queue_url
    return str(client("sqs").get_queue_url(QueueName=settings.jobs_queue_name)["QueueUrl"])


def send(message: JobMessage, *, delay_seconds: int = 0) -> str:
    """Send one message; returns its SQS message id."""
    response = client("sqs").send_message(
        QueueUrl=jobs_queue_url(), MessageBody=encode_message(message), DelaySeconds=delay_seconds
    )
    return str(response["MessageId"])


def send_many(messages: list[JobMessage]) -> None:
    """Send messages in batches of ten (the SQS limit), raising if any is refused."""
    sqs = client("sqs")
    url = jobs_queue_url()
    for start in range(0, len(messages), 10):
        batch = messages[start : start + 10]
        entries = [{"Id": str(i), "MessageBody": encode_message(m)} for i, m in enumerate(batch)]
        response = sqs.send_message_batch(QueueUrl=url, Entries=entries)
        if response.get("Failed"):
            failed = ", ".join(f"{f['Id']}: {f.get('Code')}" for f in response["Failed"])
            raise RuntimeError(f"SQS refused {len(response['Failed'])} message(s): {failed}")


def send_recorded(
    session: Any, model: Any, row_id: str, message: JobMessage, *, now: datetime | None = None
) -> bool:
    """Send the message of a committed row, then stamp the row's ``message_sent_at``.

    A row is committed before its message is sent, so a failed send loses nothing:
    the row stays unstamped and the maintenance schedule sends it again. Returns
    whether the message went out.
    """
    from sqlalchemy import update

    from app.models import utcnow

    try:
        send(message)
    except Exception as exc:  # any failure leaves the row for maintenance to re-send
        logger.warning(
            "message not sent; maintenance will re-send it",
            extra={"kind": message.kind, "row_id": row_id, "error_type": type(exc).__name__},
        )
        return False
    session.execute(update(model).where(model.id == row_id).values(message_sent_at=now or utcnow()))
    session.commit()
    return True
