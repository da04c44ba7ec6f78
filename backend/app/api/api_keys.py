"""API keys: created (shown once), listed, revoked."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from app.api.deps import CALLER_ERRORS, CurrentAccount, DbRoute, DbSession, error_responses
from app.errors import ApiError
from app.schemas import ApiKeyCreated, ApiKeyIn, ApiKeyList

router = APIRouter(
    prefix="/api-keys",
    tags=["api keys"],
    route_class=DbRoute,
    responses=error_responses(*CALLER_ERRORS),
)

MAX_KEYS_PER_ACCOUNT = 50


@router.post(
    "",
    status_code=201,
    response_model=ApiKeyCreated,
    summary="Create an API key",
    responses=error_responses(400, 403),
)
def create_key(body: ApiKeyIn, account: CurrentAccount, session: DbSession) -> Any:
    """The response holds the key itself; it is stored only as a hash and never shown again."""
    from sqlalchemy import func, select

    from app import auth
    from app.models import ApiKey, new_id

    active = session.scalar(
        select(func.count())
        .select_from(ApiKey)
        .where(ApiKey.account_id == account.id, ApiKey.revoked_at.is_(None))
    )
    if (active or 0) >= MAX_KEYS_PER_ACCOUNT:
        raise ApiError(
            403,
            "too_many_keys",
            f"An account holds at most {MAX_KEYS_PER_ACCOUNT} active keys.",
            {"limit": MAX_KEYS_PER_ACCOUNT, "used": active},
        )
    new = auth.generate_api_key()
    key = ApiKey(
        id=new_id("key"),
        account_id=account.id,
        name=body.name,
        prefix=new.prefix,
        key_hash=new.key_hash,
    )
    session.add(key)
    session.commit()
    return {**_fields(key), "key": new.key}


def _fields(key: Any) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "created_at": key.created_at,
        "last_used_at": key.last_used_at,
    }


@router.get("", response_model=ApiKeyList, summary="List active API keys")
def list_keys(account: CurrentAccount, session: DbSession) -> Any:
    from sqlalchemy import select

    from app.models import ApiKey

    keys = session.scalars(
        select(ApiKey)
        .where(ApiKey.account_id == account.id, ApiKey.revoked_at.is_(None))
        .order_by(ApiKey.id.desc())
    ).all()
    return {"items": list(keys)}


@router.delete(
    "/{key_id}", status_code=204, summary="Revoke an API key", responses=error_responses(404)
)
def revoke_key(key_id: str, account: CurrentAccount, session: DbSession) -> Response:
    from sqlalchemy import update

    from app.models import ApiKey, utcnow

    result = session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.account_id == account.id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    if result.rowcount != 1:
        raise ApiError(404, "not_found", "No such API key.")
    session.commit()
    return Response(status_code=204)
