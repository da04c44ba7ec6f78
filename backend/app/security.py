"""HTTP hardening as pure ASGI middlewares (stdlib only: they are on the cold-start path).

* :class:`BodyLimitMiddleware` rejects a request body above the cap with a JSON 413
  before the app parses it: at once when ``Content-Length`` is above the cap, and by
  counting the received bytes when the length is not declared (chunked) or lies.
* :class:`SecurityHeadersMiddleware` adds the security headers to every response,
  errors included: ``X-Content-Type-Options``, ``Referrer-Policy``, ``X-Frame-Options``,
  ``Strict-Transport-Security``, a ``Content-Security-Policy`` (relaxed only for the
  Swagger UI page, which loads its script and styles from a CDN) and
  ``Cache-Control: no-store`` unless the route set its own.

The app factory wraps the whole Starlette stack with both (outside the error
middleware), so even an unhandled 500 carries the headers.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Room above the direct-upload limit for the multipart envelope (boundary lines, part
# headers, the optional name field). The dataset route checks the file itself.
MULTIPART_OVERHEAD_BYTES = 64 * 1024

# The API serves JSON only: nothing may be loaded, framed or submitted from it.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# FastAPI's Swagger UI page: script and CSS from cdn.jsdelivr.net, an inline bootstrap
# script, the favicon from fastapi.tiangolo.com, and the OpenAPI document from us.
DOCS_CSP = (
    "default-src 'none'; "
    "script-src 'self' https://cdn.jsdelivr.net 'unsafe-inline'; "
    "style-src 'self' https://cdn.jsdelivr.net 'unsafe-inline'; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.jsdelivr.net; "
    "connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect"})

_STATIC_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"strict-transport-security", b"max-age=63072000; includeSubDomains"),
)


def _error_body(status: int, code: str, message: str, details: Any) -> bytes:
    return json.dumps({"error": {"code": code, "message": message, "details": details}}).encode()


class SecurityHeadersMiddleware:
    """Add the security headers to every HTTP response (headers the app set win)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = DOCS_CSP if scope.get("path") in DOCS_PATHS else API_CSP

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {name.lower() for name, _ in headers}
                for name, value in (
                    *_STATIC_HEADERS,
                    (b"content-security-policy", csp.encode()),
                    (b"cache-control", b"no-store"),
                ):
                    if name not in present:
                        headers.append((name, value))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _BodyTooLarge(Exception):
    """Raised from ``receive`` once the body passes the cap."""


class BodyLimitMiddleware:
    """Reject request bodies above ``max_bytes`` with a JSON 413, before parsing."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _reject(self, send: Send, size: int | None) -> None:
        body = _error_body(
            413,
            "payload_too_large",
            f"The request body is limited to {self.max_bytes:,} bytes. For larger files, "
            "request a presigned upload with POST /api/v1/datasets/uploads.",
            {"limit_bytes": self.max_bytes, "size_bytes": size},
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared: int | None = None
        for name, value in scope.get("headers") or ():
            if name.lower() == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = None
                break
        if declared is not None and declared > self.max_bytes:
            await self._reject(send, declared)
            return

        received = 0
        too_large = False
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body") or b"")
                if received > self.max_bytes:
                    too_large = True
                    raise _BodyTooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if too_large:
                # The app turned the aborted read into its own error: answer 413 instead.
                if message["type"] == "http.response.start" and not response_started:
                    response_started = True
                    await self._reject(send, None)
                return
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _BodyTooLarge:
            if not response_started:
                response_started = True
                await self._reject(send, None)
        except Exception:
            if too_large:
                if not response_started:
                    await self._reject(send, None)
                return
            raise
