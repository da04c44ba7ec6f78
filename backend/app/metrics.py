"""CloudWatch embedded metric format (EMF): one JSON line per metric set, stdlib only.

CloudWatch Logs turns each line into metrics (no API call, no agent, no dependency)
and keeps the other keys as searchable properties. Lines go to stdout directly, not
through logging, so the log level never drops a metric.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

NAMESPACE = "Synthos"

#: Units CloudWatch accepts that we use.
Unit = str  # "Count" | "Seconds" | "Bytes" | "Count/Second" | "None"


def emf_record(
    metrics: dict[str, tuple[float, Unit]],
    *,
    dimensions: dict[str, str] | None = None,
    properties: dict[str, Any] | None = None,
    namespace: str = NAMESPACE,
    timestamp_ms: int | None = None,
) -> dict[str, Any]:
    """The EMF document for ``metrics`` (name -> (value, unit))."""
    dims = dict(dimensions or {})
    record: dict[str, Any] = {
        "_aws": {
            "Timestamp": timestamp_ms if timestamp_ms is not None else int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace,
                    "Dimensions": [sorted(dims)],
                    "Metrics": [
                        {"Name": name, "Unit": unit} for name, (_, unit) in metrics.items()
                    ],
                }
            ],
        },
    }
    record.update(properties or {})
    record.update(dims)
    for name, (value, _) in metrics.items():
        record[name] = value
    return record


def emit(
    metrics: dict[str, tuple[float, Unit]],
    *,
    dimensions: dict[str, str] | None = None,
    properties: dict[str, Any] | None = None,
    stream: TextIO | None = None,
) -> dict[str, Any]:
    """Write one EMF line; returns the document (tests read it back)."""
    from app.settings import get_settings

    dims = {"Stage": get_settings().stage, **(dimensions or {})}
    record = emf_record(metrics, dimensions=dims, properties=properties)
    out = stream or sys.stdout
    out.write(json.dumps(record, default=str, separators=(",", ":")) + "\n")
    out.flush()
    return record
