"""Scheduled housekeeping (the pipeline fills this in)."""

from __future__ import annotations

from typing import Any


def run_maintenance() -> dict[str, Any]:
    """Run every housekeeping step; returns counts of what changed."""
    return {}
