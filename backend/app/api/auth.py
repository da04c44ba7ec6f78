"""Registration and bearer tokens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from app.api.deps import DB_ERRORS, DbRoute, DbSession, error_responses
from app.errors import ApiError
from app.schemas import Credentials, RegisterOut, TokenOut
from app.settings import get_settings

router = APIRouter(
    prefix="/auth",
    tags=["auth"],
    route_class=DbRoute,
    responses=error_responses(400, *DB_ERRORS),
)


@router.post(
    "/register",
    status_code=201,
    response_model=RegisterOut,
    summary="Create an account",
    responses=error_responses(403, 409),
)
def register(body: Credentials, session: DbSession) -> Any:
    """Create an account (if this stage accepts registrations) and return a first token."""
    settings = get_settings()
    if not settings.registration_open:
        raise ApiError(403, "registration_closed", "Registration is closed on this stage.")
    from sqlalchemy import select
    from sqlalchemy.exc import IntegrityError

    from app import auth
    from app.models import Account, new_id

    if session.scalars(select(Account.id).where(Account.email == body.email)).first():
        raise ApiError(409, "email_taken", "An account with this email already exists.")
    account = Account(
        id=new_id("acc"),
        email=body.email,
        password_hash=auth.hash_password(body.password),
        plan=settings.default_plan,
    )
    session.add(account)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise ApiError(409, "email_taken", "An account with this email already exists.") from None
    token, ttl = auth.issue_token(account.id)
    return {"account": account, "token": {"access_token": token, "expires_in": ttl}}


@router.post(
    "/token",
    response_model=TokenOut,
    summary="Exchange email and password for a token",
    responses=error_responses(401, 429),
)
def token(body: Credentials, session: DbSession, request: Request) -> Any:
    """A short-lived bearer token (``expires_in`` seconds) for ``Authorization: Bearer``.

    Failed attempts are throttled per account and per source address (429 with
    ``Retry-After``)."""
    from sqlalchemy import select

    from app import auth, throttle
    from app.models import Account

    address = request.client.host if request.client else None
    throttle.check(session, body.email, address)
    account = session.scalars(select(Account).where(Account.email == body.email)).first()
    if account is None:
        auth.dummy_verify(body.password)
        throttle.record_failure(session, body.email, address)
        raise ApiError(401, "invalid_credentials", "Wrong email or password.")
    if not auth.verify_password(body.password, account.password_hash):
        throttle.record_failure(session, body.email, address)
        raise ApiError(401, "invalid_credentials", "Wrong email or password.")
    throttle.clear_account(session, body.email)
    access_token, ttl = auth.issue_token(account.id)
    return {"access_token": access_token, "expires_in": ttl}
