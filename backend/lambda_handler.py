"""Lambda entry for the API: the FastAPI app behind Mangum, built once per container.

One handler serves a function URL, an HTTP API (``$default`` or a named stage)
and a REST API (v1). Named-stage prefixes are moved from the path into the ASGI
``root_path``, so routes match and ``/docs`` links to the right OpenAPI URL.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from mangum import Mangum

from app.main import create_app

logger = logging.getLogger("synthos.api")

ASGIApp = Any


class StagePathMiddleware:
    """Strip an API Gateway stage prefix from the path and expose it as ``root_path``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") == "http":
            prefix = stage_prefix(scope.get("aws.event") or {})
            if prefix:
                path: str = scope["path"]
                if path == prefix or path.startswith(prefix + "/"):
                    path = path[len(prefix) :] or "/"
                scope = {**scope, "path": path, "raw_path": path.encode(), "root_path": prefix}
        await self.app(scope, receive, send)


def stage_prefix(event: dict[str, Any]) -> str:
    """The public path prefix a named API Gateway stage adds, or '' (function URL, $default)."""
    context = event.get("requestContext") or {}
    stage = context.get("stage")
    if not stage or stage == "$default":
        return ""
    prefix = f"/{stage}"
    if event.get("version") == "2.0":
        raw_path = event.get("rawPath") or ""
        return prefix if raw_path == prefix or raw_path.startswith(prefix + "/") else ""
    # REST API: `path` lacks the stage, but the public URL (requestContext.path) has it.
    public_path = context.get("path") or ""
    return prefix if public_path.startswith(prefix + "/") or public_path == prefix else ""


app = create_app()
_asgi = Mangum(StagePathMiddleware(app), lifespan="off")

_INTERNAL_ERROR = {
    "statusCode": 500,
    "headers": {"content-type": "application/json"},
    "body": json.dumps(
        {"error": {"code": "internal_error", "message": "Internal server error.", "details": None}}
    ),
    "isBase64Encoded": False,
}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Answer one API event; an error escaping the app becomes a JSON 500, never a trace."""
    try:
        return _asgi(event, context)
    except Exception:
        logger.exception("request failed outside the app")
        return dict(_INTERNAL_ERROR)
