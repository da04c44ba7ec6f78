"""Liveness (no I/O) and, with ``?deep=true``, readiness of database, bucket and queue."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from app.settings import get_settings

router = APIRouter(tags=["health"])


@router.get("/health", summary="Service health")
def health(deep: bool = Query(False, description="Also check database, bucket and queue")) -> Any:
    """Shallow by default so load balancers and warmers never touch the database."""
    settings = get_settings()
    body: dict[str, Any] = {"status": "ok", "stage": settings.stage}
    if not deep:
        return body
    from app.health_checks import run_checks

    checks = run_checks()
    body["checks"] = checks
    if any(check["status"] != "ok" for check in checks.values()):
        body["status"] = "unavailable"
        return JSONResponse(body, status_code=503)
    return body
