"""Structured JSON logs, one object per line, as CloudWatch Logs Insights likes them.

A context variable carries the request or job id so every line of one unit of
work can be found together. Stdlib only: it is on the cold-start path.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
import time
from collections.abc import Iterator
from typing import Any

correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "correlation_id", default=None
)
#: The job a worker is on (``generation_id`` / ``dataset_id`` and such), added to every line.
job_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "job_context", default=None
)


@contextlib.contextmanager
def bind_job(**fields: Any) -> Iterator[None]:
    """Add ``fields`` (e.g. ``generation_id=...``) to every log line inside the block."""
    current = job_context.get() or {}
    token = job_context.set({**current, **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        job_context.reset(token)


_RESERVED = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Render a record as JSON with its ``extra`` fields and the correlation id."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        cid = correlation_id.get()
        if cid:
            payload["correlation_id"] = cid
        payload.update(job_context.get() or {})
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


# Libraries whose DEBUG/INFO lines carry payloads: SQL result rows and parameters (password
# hashes, profiles), AWS request/response bodies, presigned URLs. Below WARNING they are
# never written, whatever the configured level (tests/security/test_log_hygiene.py).
PAYLOAD_LOGGERS = ("sqlalchemy.engine", "botocore", "boto3", "s3transfer", "urllib3")


class PayloadLogFilter(logging.Filter):
    """Drop the chatty, payload-bearing library records below WARNING."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        name = record.name
        return not any(name == p or name.startswith(p + ".") for p in PAYLOAD_LOGGERS)


def configure_logging(level: str = "INFO") -> None:
    """Send JSON lines to stdout; idempotent, so warm invocations add no handlers."""
    root = logging.getLogger()
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        for existing in root.handlers:
            if isinstance(existing.formatter, JsonFormatter) and not any(
                isinstance(f, PayloadLogFilter) for f in existing.filters
            ):
                existing.addFilter(PayloadLogFilter())
        root.setLevel(level)
        return
    # The Lambda runtime installs its own handler; replace it so lines stay JSON.
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(PayloadLogFilter())
    root.addHandler(handler)
    root.setLevel(level)
