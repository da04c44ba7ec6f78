"""Scheduled housekeeping (EventBridge), every step safe to repeat and to run twice at once.

Each step first *claims* a row with a conditional UPDATE (a stamp or a touched
``updated_at`` that only one run can match) and only then acts (sends, deletes,
fails), so two concurrent runs never both act on one row, and a second run
finds nothing left to do. Each step returns how many rows it changed.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

logger = logging.getLogger("synthos.maintenance")

#: A row younger than this may still be between its commit and its send.
SEND_GRACE = timedelta(seconds=60)
#: A running generation without a heartbeat (chunk start or finish) this long is stuck.
STUCK_AFTER = timedelta(minutes=20)
#: Stuck generations are re-queued this many times, then failed.
MAX_REQUEUES = 2
#: A presigned upload never completed within this is abandoned.
ABANDONED_UPLOAD_AFTER = timedelta(days=1)
#: Failed/cancelled jobs' and deleted datasets' objects are purged after this.
PURGE_AFTER = timedelta(hours=1)
#: Usage rows older than this many months are dropped (a month's row is its own counter).
USAGE_RETENTION_MONTHS = 13


def _send_claimed(session: Any, model: Any, row_id: str, message: Any) -> bool:
    from sqlalchemy import update

    from app import queue

    try:
        queue.send(message)
    except Exception as exc:  # un-claim: the next run tries again
        logger.warning("re-send failed", extra={"row_id": row_id, "error_type": type(exc).__name__})
        session.execute(update(model).where(model.id == row_id).values(message_sent_at=None))
        session.commit()
        return False
    return True


def resend_unsent(session: Any, now: Any) -> dict[str, int]:
    """Send the messages of rows committed without one (the send failed)."""
    from sqlalchemy import select

    from app import jobs
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
        unsent = Generation.message_sent_at.is_(None)
        if jobs.claim(
            session, Generation, generation_id, unsent, message_sent_at=now
        ) and _send_claimed(
            session, Generation, generation_id, StartGeneration(generation_id=generation_id)
        ):
            counts["generations_resent"] += 1
    # Running but the chunk messages never went out (the fan-out died after its commit).
    unfanned = session.scalars(
        select(Generation.id).where(
            Generation.status == "running",
            Generation.chunk_count.is_not(None),
            Generation.fanned_out_at.is_(None),
            Generation.updated_at < now - SEND_GRACE,
        )
    ).all()
    for generation_id in unfanned:
        if jobs.claim(
            session,
            Generation,
            generation_id,
            Generation.status == "running",
            Generation.fanned_out_at.is_(None),
            Generation.updated_at < now - SEND_GRACE,
            updated_at=now,
        ):
            from app import queue

            queue.send(StartGeneration(generation_id=generation_id))
            counts["generations_resent"] += 1
    datasets = session.scalars(
        select(Dataset.id).where(
            Dataset.status == "processing",
            Dataset.message_sent_at.is_(None),
            Dataset.updated_at < now - SEND_GRACE,
        )
    ).all()
    for dataset_id in datasets:
        unsent = Dataset.message_sent_at.is_(None)
        if jobs.claim(session, Dataset, dataset_id, unsent, message_sent_at=now) and _send_claimed(
            session, Dataset, dataset_id, ProfileDataset(dataset_id=dataset_id)
        ):
            counts["datasets_resent"] += 1
    return counts


def reap_stuck(session: Any, now: Any) -> dict[str, int]:
    """Running without a heartbeat past the deadline: re-queue what is left, or fail."""
    from sqlalchemy import select

    from app import jobs
    from app.generation import fail, send_pending_chunks
    from app.models import Generation

    cutoff = now - STUCK_AFTER
    counts = {"generations_requeued": 0, "generations_timed_out": 0}
    stuck = session.scalars(
        select(Generation).where(Generation.status == "running", Generation.updated_at < cutoff)
    ).all()
    for generation in stuck:
        still_stuck = (Generation.status == "running", Generation.updated_at < cutoff)
        if generation.chunk_count is not None and generation.requeues < MAX_REQUEUES:
            if jobs.claim(
                session,
                Generation,
                generation.id,
                *still_stuck,
                Generation.requeues < MAX_REQUEUES,
                updated_at=now,
                requeues=Generation.requeues + 1,
                finalizing_at=None,
            ):
                send_pending_chunks(session, generation)
                counts["generations_requeued"] += 1
                logger.info("stuck generation re-queued", extra={"generation_id": generation.id})
            continue
        if jobs.claim(session, Generation, generation.id, *still_stuck, updated_at=now) and fail(
            session, generation, "The workers stopped reporting progress (timed out)."
        ):
            counts["generations_timed_out"] += 1
    return counts


def purge_expired(session: Any, now: Any) -> int:
    """Succeeded results past their expiry: forget the key, then delete the objects."""
    from sqlalchemy import select

    from app import jobs, storage
    from app.models import Generation

    expired = session.scalars(
        select(Generation).where(
            Generation.status == "succeeded",
            Generation.result_key.is_not(None),
            Generation.expires_at < now,
        )
    ).all()
    count = 0
    for generation in expired:
        has_result = Generation.result_key.is_not(None)
        if jobs.claim(
            session, Generation, generation.id, has_result, result_key=None, purged_at=now
        ):
            storage.delete_prefix(storage.generation_prefix(generation.account_id, generation.id))
            count += 1
    return count


def purge_orphans(session: Any, now: Any) -> dict[str, int]:
    """Objects left by failed/cancelled generations (parts) and deleted datasets."""
    from sqlalchemy import select

    from app import jobs, storage
    from app.models import Dataset, Generation

    cutoff = now - PURGE_AFTER
    counts = {"generation_objects_purged": 0, "dataset_objects_purged": 0}
    generations = session.scalars(
        select(Generation).where(
            Generation.status.in_(["failed", "cancelled"]),
            Generation.purged_at.is_(None),
            Generation.updated_at < cutoff,
        )
    ).all()
    for generation in generations:
        unpurged = Generation.purged_at.is_(None)
        if jobs.claim(session, Generation, generation.id, unpurged, purged_at=now):
            storage.delete_prefix(storage.generation_prefix(generation.account_id, generation.id))
            counts["generation_objects_purged"] += 1
    datasets = session.scalars(
        select(Dataset).where(
            Dataset.status == "deleted", Dataset.purged_at.is_(None), Dataset.updated_at < cutoff
        )
    ).all()
    for dataset in datasets:
        if jobs.claim(session, Dataset, dataset.id, Dataset.purged_at.is_(None), purged_at=now):
            storage.delete_prefix(storage.dataset_prefix(dataset.account_id, dataset.id))
            counts["dataset_objects_purged"] += 1
    return counts


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
        if jobs.transition(session, Dataset, dataset.id, "uploading", "deleted", purged_at=now):
            session.commit()
            storage.delete_prefix(storage.dataset_prefix(dataset.account_id, dataset.id))
            count += 1
        else:
            session.rollback()
    return count


def oldest_kept_month(now: Any) -> str:
    year, month = now.year, now.month - (USAGE_RETENTION_MONTHS - 1)
    while month <= 0:
        year, month = year - 1, month + 12
    return f"{year:04d}-{month:02d}"


def roll_over_usage(session: Any, now: Any) -> int:
    """Usage is counted per (account, month), so a new month starts at zero by itself;
    this drops the counters of months older than the retention."""
    from sqlalchemy import delete

    from app.models import Usage

    result = session.execute(delete(Usage).where(Usage.month < oldest_kept_month(now)))
    session.commit()
    return int(result.rowcount or 0)


def run_maintenance() -> dict[str, Any]:
    """Run every housekeeping step; returns counts of what changed."""
    from app.db import new_session
    from app.models import utcnow

    now = utcnow()
    session = new_session()
    try:
        summary: dict[str, Any] = resend_unsent(session, now)
        summary.update(reap_stuck(session, now))
        summary["results_purged"] = purge_expired(session, now)
        summary.update(purge_orphans(session, now))
        summary["uploads_abandoned"] = drop_abandoned_uploads(session, now)
        summary["usage_rows_dropped"] = roll_over_usage(session, now)
    finally:
        session.close()
    return summary
