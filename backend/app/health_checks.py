"""Deep health checks: each dependency answers, or its failure is named (never raised)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _check(fn: Callable[[], None]) -> dict[str, Any]:
    try:
        fn()
    except Exception as exc:  # a health check reports, it never raises
        return {"status": "error", "error": type(exc).__name__}
    return {"status": "ok"}


def _database() -> None:
    from sqlalchemy import text

    from app.db import get_engine

    with get_engine().connect() as conn:
        conn.execute(text("SELECT 1"))


def _bucket() -> None:
    from app.aws import client
    from app.settings import get_settings

    client("s3").head_bucket(Bucket=get_settings().data_bucket)


def _queue() -> None:
    from app.queue import jobs_queue_url

    jobs_queue_url()


def run_checks() -> dict[str, dict[str, Any]]:
    return {"database": _check(_database), "bucket": _check(_bucket), "queue": _check(_queue)}
