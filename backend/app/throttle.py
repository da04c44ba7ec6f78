"""Login throttling, shared by every Lambda container: the counters live in the database.

Each failed ``POST /auth/token`` adds one row to ``login_attempts`` per scope: the
account (the email tried, whether or not it exists) and the source address. Before the
password is checked, a scope with too many failures inside the window answers 429 with
``Retry-After`` (the seconds until the oldest counted failure leaves the window). A
successful login clears the account's failures; the address's stay until they age out.
Rejected attempts are not recorded, so hammering does not extend a lockout.

Only SHA-256 digests of the email and address are stored, never the values themselves.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from app.errors import ApiError
from app.models import Base, UTCDateTime, utcnow
from app.settings import Settings, get_settings

login_attempts = sa.Table(
    "login_attempts",
    Base.metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("scope_key", sa.String(80), nullable=False),
    sa.Column("attempted_at", UTCDateTime(), nullable=False),
    sa.Index("ix_login_attempts_scope_key_attempted_at", "scope_key", "attempted_at"),
)


def _digest(kind: str, value: str) -> str:
    return f"{kind}:" + hashlib.sha256(value.encode("utf-8")).hexdigest()


def scope_keys(email: str, address: str | None) -> dict[str, str]:
    keys = {"account": _digest("acct", email.strip().lower())}
    if address:
        keys["address"] = _digest("addr", address)
    return keys


def _limits(settings: Settings) -> dict[str, int]:
    return {
        "account": settings.login_max_failures_per_account,
        "address": settings.login_max_failures_per_address,
    }


def check(session: Any, email: str, address: str | None, *, now: datetime | None = None) -> None:
    """Raise a 429 if the account or the address has used up its failures."""
    settings = get_settings()
    now = now or utcnow()
    window = timedelta(seconds=settings.login_window_seconds)
    limits = _limits(settings)
    retry_after = 0.0
    for scope, key in scope_keys(email, address).items():
        limit = limits[scope]
        times = list(
            session.scalars(
                sa.select(login_attempts.c.attempted_at)
                .where(
                    login_attempts.c.scope_key == key,
                    login_attempts.c.attempted_at > now - window,
                )
                .order_by(login_attempts.c.attempted_at)
            ).all()
        )
        if len(times) >= limit:
            frees_at = times[len(times) - limit] + window
            retry_after = max(retry_after, (frees_at - now).total_seconds())
    if retry_after > 0:
        seconds = max(1, math.ceil(retry_after))
        raise ApiError(
            429,
            "too_many_attempts",
            f"Too many failed sign-in attempts; retry in {seconds} seconds.",
            {"retry_after_seconds": seconds},
            headers={"Retry-After": str(seconds)},
        )


def record_failure(
    session: Any, email: str, address: str | None, *, now: datetime | None = None
) -> None:
    """Count one failed attempt for the account and the address (commits)."""
    settings = get_settings()
    now = now or utcnow()
    keys = list(scope_keys(email, address).values())
    # Forget failures that left the window, for these scopes only (cheap, indexed).
    session.execute(
        sa.delete(login_attempts).where(
            login_attempts.c.scope_key.in_(keys),
            login_attempts.c.attempted_at <= now - timedelta(seconds=settings.login_window_seconds),
        )
    )
    session.execute(
        sa.insert(login_attempts), [{"scope_key": key, "attempted_at": now} for key in keys]
    )
    session.commit()


def clear_account(session: Any, email: str) -> None:
    """A successful login forgets the account's failures (commits)."""
    key = scope_keys(email, None)["account"]
    session.execute(sa.delete(login_attempts).where(login_attempts.c.scope_key == key))
    session.commit()
