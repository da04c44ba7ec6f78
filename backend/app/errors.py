"""The one JSON error shape: ``{"error": {"code", "message", "details"}}``.

Every failure the API reports, including FastAPI's validation errors, unknown
routes and wrong methods, goes through the handlers registered here.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)

_CODES_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "too_many_requests",
    500: "internal_error",
    503: "service_unavailable",
}


class ApiError(Exception):
    """An error the client can act on; raised anywhere, rendered as JSON."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The JSON body of an error response."""
    return {"error": {"code": code, "message": message, "details": details}}


def error_response(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _CODES_BY_STATUS.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    if exc.status_code == 404 and exc.detail == "Not Found":
        message = "No such resource."
    elif exc.status_code == 405:
        message = "This method is not allowed on this resource."
    return error_response(exc.status_code, code, message, None, getattr(exc, "headers", None))


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        {
            "location": [str(part) for part in err.get("loc", ())],
            "message": err.get("msg", ""),
            "type": err.get("type", ""),
        }
        for err in exc.errors()
    ]
    first = details[0] if details else None
    message = "The request is not valid."
    if first:
        message = f"{'.'.join(first['location'])}: {first['message']}"
    return error_response(422, "invalid_input", message, details)


def is_database_unavailable(exc: BaseException) -> bool:
    """True for SQLAlchemy's "cannot reach / lost the database" errors (and secrets
    that cannot be read, which leave the database unreachable too).

    Checked without importing SQLAlchemy (it is not on the cold-start path): if
    it was never imported, the exception cannot be one of its classes.
    """
    secrets_module = sys.modules.get("app.secrets")
    if secrets_module is not None and isinstance(exc, secrets_module.SecretUnavailable):
        return True  # the database URL (or another secret) cannot be read from SSM now
    sa_exc = sys.modules.get("sqlalchemy.exc")
    if sa_exc is None:
        return False
    # pg8000 reports a refused or lost connection as InterfaceError.
    kinds = (
        sa_exc.OperationalError,
        sa_exc.InterfaceError,
        sa_exc.DisconnectionError,
        sa_exc.TimeoutError,
    )
    if isinstance(exc, kinds):
        return True
    # A connection dropped mid-query: the driver raises InterfaceError/OperationalError.
    return isinstance(exc, sa_exc.DBAPIError) and bool(exc.connection_invalidated)


def database_unavailable_error(exc: BaseException) -> ApiError:
    logger.warning(
        "database unavailable",
        extra={"error_type": type(exc).__name__, "reason": str(exc).splitlines()[0][:300]},
    )
    return ApiError(
        503,
        "service_unavailable",
        "The database is unavailable; retry in a few seconds.",
        headers={"Retry-After": "5"},
    )


async def _unhandled_error(_: Request, exc: Exception) -> JSONResponse:
    if is_database_unavailable(exc):
        err = database_unavailable_error(exc)
        return error_response(err.status, err.code, err.message, err.details, err.headers)
    logger.exception("unhandled error", extra={"error_type": type(exc).__name__})
    return error_response(500, "internal_error", "Internal server error.")


def install_error_handlers(app: FastAPI) -> None:
    """Route every kind of failure to the one error shape."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unhandled_error)
