"""What a worker does with each job message (the pipeline fills these in)."""

from __future__ import annotations

import logging

from app.messages import JobMessage

logger = logging.getLogger("synthos.tasks")


def run_task(message: JobMessage) -> None:
    """Carry out one validated message."""
    logger.info("task received", extra={"kind": message.kind})


def give_up(body: str, *, reason: str) -> None:
    """Record that a message reached the dead-letter queue."""
    logger.error("message dead-lettered", extra={"reason": reason, "body_bytes": len(body)})
