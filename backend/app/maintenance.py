"""Scheduled housekeeping; every step is safe to repeat and returns what it changed."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

logger = logging.getLogger("synthos.maintenance")

#: A row younger than this may still be between its commit and its send.
SEND_GRACE = timedelta(seconds=60)
#: A running generation not updated for this long is considered dead.
STUCK_AFTER = timedelta(minutes=20)
#: A presigned upload never completed within this is abandoned.
ABANDONED_UPLOAD_AFTER = timedelta(days=1)


def resend_unsent(session: Any, now: Any) -> dict[str, int]:
    """Send the messages of rows committed without one (the send failed)."""
    from sqlalchemy import select

    from app import queue
    from app.messages import ProfileDataset, StartGeneration
    from app.models import Dataset, Generation

    counts = {"generations_resent": 0, "datasets_resent": 0}
    generations = session.scalars(
        select(Generation.id).where(
            Generation.status == "queued",
            Generation.message_sent_at.is_(None),
            Generation.created_at < now - SEND_GRACE,
        )
    ).all()
    for generation_id in generations:
        message = StartGeneration(generation_id=generation_id)
        if queue.send_recorded(session, Generation, generation_id, message, now=now):
            counts["generations_resent"] += 1
    datasets = session.scalars(
        select(Dataset.id).where(
            Dataset.status == "processing",
            Dataset.message_sent_at.is_(None),
            Dataset.updated_at < now - SEND_GRACE,
        )
    ).all()
    for dataset_id in datasets:
        message = ProfileDataset(dataset_id=dataset_id)
        if queue.send_recorded(session, Dataset, dataset_id, message, now=now):
            counts["datasets_resent"] += 1
    return counts


def reap_stuck(session: Any, now: Any) -> int:
    from sqlalchemy import select

    from app.generation import fail
    from app.models import Generation

    stuck = session.scalars(
        select(Generation).where(
            Generation.status == "running", Generation.updated_at < now - STUCK_AFTER
        )
    ).all()
    return sum(
        1 for g in stuck if fail(session, g, "The worker stopped reporting progress (timed out).")
    )


def purge_expired(session: Any, now: Any) -> int:
    from sqlalchemy import select, update

    from app import storage
    from app.models import Generation

    expired = session.scalars(
        select(Generation).where(
            Generation.status == "succeeded",
            Generation.result_key.is_not(None),
            Generation.expires_at < now,
        )
    ).all()
    for generation in expired:
        storage.delete_prefix(storage.generation_prefix(generation.account_id, generation.id))
        session.execute(
            update(Generation).where(Generation.id == generation.id).values(result_key=None)
        )
        session.commit()
    return len(expired)


def drop_abandoned_uploads(session: Any, now: Any) -> int:
    from sqlalchemy import select

    from app import jobs, storage
    from app.models import Dataset

    abandoned = session.scalars(
        select(Dataset).where(
            Dataset.status == "uploading", Dataset.created_at < now - ABANDONED_UPLOAD_AFTER
        )
    ).all()
    count = 0
    for dataset in abandoned:
        if jobs.transition(session, Dataset, dataset.id, "uploading", "deleted"):
            session.commit()
            storage.delete_prefix(storage.dataset_prefix(dataset.account_id, dataset.id))
            count += 1
    return count


def run_maintenance() -> dict[str, Any]:
    """Run every housekeeping step; returns counts of what changed."""
    from app.db import new_session
    from app.models import utcnow

    now = utcnow()
    session = new_session()
    try:
        summary: dict[str, Any] = resend_unsent(session, now)
        summary["generations_timed_out"] = reap_stuck(session, now)
        summary["results_purged"] = purge_expired(session, now)
        summary["uploads_abandoned"] = drop_abandoned_uploads(session, now)
    finally:
        session.close()
    return summary
