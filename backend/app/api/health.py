"""Liveness (no I/O) and, with ``?deep=true``, readiness of database, bucket and queue."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from app.api.deps import PUBLIC_ERRORS, error_responses
from app.schemas import HealthOut
from app.settings import get_settings

router = APIRouter(tags=["health"], responses=error_responses(*PUBLIC_ERRORS))


@router.get(
    "/health",
    response_model=HealthOut,
    response_model_exclude_none=True,
    summary="Service health",
    responses={503: {"model": HealthOut, "description": "A dependency is down (deep only)"}},
)
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
