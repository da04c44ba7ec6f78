"""Request dependencies shared by the routers: database session, caller, errors.

Nothing heavy is imported at module level: SQLAlchemy, the models and the
engine load on the first request that needs them, not at cold start (the
shallow health check never does).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.errors import ApiError, database_unavailable_error, is_database_unavailable


def _skip_unimported_pydantic_v1() -> None:
    """Cold start: stop FastAPI importing ``pydantic.v1`` (~60 ms) for every route.

    FastAPI 0.165 imports ``pydantic.v1`` on each route definition only to check
    that no annotation is a v1 model. A class cannot be a v1 model if
    ``pydantic.v1`` was never imported, so the check can answer False without
    importing it (and delegates to FastAPI once something did import it). If the
    private names move in a later FastAPI, this does nothing.
    """
    import sys

    try:
        from fastapi import encoders
        from fastapi._compat import shared
    except ImportError:  # pragma: no cover
        return
    if getattr(shared, "_synthos_patched", False) or not hasattr(
        shared, "is_pydantic_v1_model_class"
    ):
        return
    is_class = shared.is_pydantic_v1_model_class
    is_instance = shared.is_pydantic_v1_model_instance

    def is_v1_class(cls: Any) -> bool:
        return "pydantic.v1" in sys.modules and is_class(cls)

    def is_v1_instance(obj: Any) -> bool:
        return "pydantic.v1" in sys.modules and is_instance(obj)

    shared.is_pydantic_v1_model_class = is_v1_class
    shared.is_pydantic_v1_model_instance = is_v1_instance
    if getattr(encoders, "is_pydantic_v1_model_instance", None) is is_instance:
        encoders.is_pydantic_v1_model_instance = is_v1_instance
    shared._synthos_patched = True  # type: ignore[attr-defined]


_skip_unimported_pydantic_v1()


class DbRoute(APIRoute):
    """A route whose database connection errors become a JSON 503, not a 500."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                if is_database_unavailable(exc):
                    raise database_unavailable_error(exc) from exc
                raise

        return route_handler


_ERROR_DESCRIPTIONS = {
    400: "The body cannot be read (malformed JSON or multipart).",
    401: "Missing, invalid or expired credentials.",
    403: "Not allowed (plan limit, registration closed, key limit).",
    404: "No such resource (or it belongs to another account).",
    409: "The resource is not in a state that allows this.",
    410: "The result has expired and was deleted.",
    413: "The request body is too large.",
    415: "Unsupported media type.",
    422: "The request is not valid.",
    429: "Too many attempts, or the monthly quota is used up (see Retry-After).",
    503: "A dependency (the database) is unavailable; retry shortly.",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses, all with the one error schema."""
    from app.schemas import ErrorOut

    return {
        status: {"model": ErrorOut, "description": _ERROR_DESCRIPTIONS[status]}
        for status in statuses
    }


# Any request may be too large (the body cap) or invalid; routes with a database may
# find it unavailable, and routes with a caller need credentials.
PUBLIC_ERRORS = (413, 422)
DB_ERRORS = (*PUBLIC_ERRORS, 503)
CALLER_ERRORS = (*DB_ERRORS, 401)


def get_session() -> Iterator[Any]:
    """A SQLAlchemy session for this request (the route commits what it changes)."""
    from app.db import session_scope

    yield from session_scope()


DbSession = Annotated[Any, Depends(get_session)]

_bearer = HTTPBearer(
    auto_error=False,
    description="A token from POST /api/v1/auth/token, or an API key (sk_...).",
)

_LAST_USED_RESOLUTION = timedelta(seconds=60)


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


def current_account(
    session: DbSession,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Any:
    """The account behind ``Authorization: Bearer <token or API key>``, else 401."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("Send Authorization: Bearer <token or API key>.")
    credential = credentials.credentials.strip()
    from app import auth
    from app.models import Account, ApiKey, utcnow

    if auth.looks_like_api_key(credential):
        from sqlalchemy import select, update

        key = session.scalars(
            select(ApiKey).where(ApiKey.key_hash == auth.hash_api_key(credential))
        ).first()
        if key is None or key.revoked_at is not None:
            raise _unauthorized("The API key is not valid or has been revoked.")
        now = utcnow()
        if key.last_used_at is None or now - key.last_used_at > _LAST_USED_RESOLUTION:
            session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
            session.commit()
        account = session.get(Account, key.account_id)
    else:
        try:
            account_id = auth.verify_token(credential)
        except auth.InvalidToken as exc:
            raise _unauthorized(str(exc)) from None
        account = session.get(Account, account_id)
    if account is None:
        raise _unauthorized("The account no longer exists.")
    return account


CurrentAccount = Annotated[Any, Depends(current_account)]


def page(
    session: Any, model: Any, conditions: list[Any], limit: int, cursor: str | None
) -> dict[str, Any]:
    """One page of ``model`` rows, newest first (ids sort by creation), after ``cursor``."""
    from sqlalchemy import select

    query = select(model).where(*conditions).order_by(model.id.desc()).limit(limit + 1)
    if cursor:
        query = query.where(model.id < cursor)
    items = list(session.scalars(query).all())
    if len(items) > limit:
        items = items[:limit]
        return {"items": items, "next_cursor": items[-1].id}
    return {"items": items, "next_cursor": None}
