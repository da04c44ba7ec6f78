"""Login throttling per account and per source address, with the counters in the database
(so every Lambda container sees the same counts), and token signing-key rotation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from lambda_events import LambdaApi

PASSWORD = "correct horse battery"


def _login(api: LambdaApi, email: str, password: str, ip: str = "203.0.113.7") -> Any:
    """POST /auth/token from ``ip`` (the event's sourceIp), through the Lambda handler."""
    from lambda_events import build_event

    import lambda_handler

    event = build_event(
        "POST",
        "/api/v1/auth/token",
        body=f'{{"email": "{email}", "password": "{password}"}}'.encode(),
        headers={"content-type": "application/json"},
    )
    event["requestContext"]["http"]["sourceIp"] = ip
    result = lambda_handler.handler(event, None)

    class R:
        status = result["statusCode"]
        headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
        body = result.get("body")

    return R


def _settings(monkeypatch: pytest.MonkeyPatch, **values: int) -> None:
    from app.settings import get_settings

    for name, value in values.items():
        monkeypatch.setenv(f"SYNTHOS_{name.upper()}", str(value))
    get_settings.cache_clear()


def test_account_is_throttled_after_failures_then_freed(
    api: LambdaApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    email = api.register("throttle@example.com")
    _settings(monkeypatch, login_max_failures_per_account=3, login_window_seconds=600)
    for _ in range(3):
        assert _login(api, email, "wrong password!").status == 401
    # The right password is refused too while the account is throttled: guessing is blocked.
    blocked = _login(api, email, PASSWORD)
    assert blocked.status == 429
    body = json.loads(blocked.body)
    assert body["error"]["code"] == "too_many_attempts"
    retry_after = int(blocked.headers["retry-after"])
    assert 1 <= retry_after <= 600
    assert body["error"]["details"]["retry_after_seconds"] == retry_after
    # Another account from the same address is not affected.
    other = LambdaApi()
    other_email = other.register("other@example.com")
    assert _login(other, other_email, PASSWORD).status == 200

    # The window passes (the failures age out): the account can sign in again.
    from app import throttle

    later = throttle.utcnow() + timedelta(seconds=601)
    monkeypatch.setattr(throttle, "utcnow", lambda: later)
    assert _login(api, email, PASSWORD).status == 200


def test_unknown_email_is_throttled_like_a_real_one(
    api: LambdaApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    _settings(monkeypatch, login_max_failures_per_account=2)
    for _ in range(2):
        assert _login(api, "ghost@example.com", "wrong password!").status == 401
    assert _login(api, "ghost@example.com", "wrong password!").status == 429


def test_success_clears_the_account_failures(
    api: LambdaApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    email = api.register("clear@example.com")
    _settings(monkeypatch, login_max_failures_per_account=3)
    for _ in range(2):
        assert _login(api, email, "wrong password!").status == 401
    assert _login(api, email, PASSWORD).status == 200
    for _ in range(2):
        assert _login(api, email, "wrong password!").status == 401
    assert _login(api, email, PASSWORD).status == 200


def test_source_address_is_throttled_across_accounts(
    api: LambdaApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    _settings(monkeypatch, login_max_failures_per_account=100, login_max_failures_per_address=4)
    for i in range(4):
        assert (
            _login(api, f"spray{i}@example.com", "wrong password!", ip="198.51.100.9").status == 401
        )
    r = _login(api, "spray9@example.com", "wrong password!", ip="198.51.100.9")
    assert r.status == 429 and int(r.headers["retry-after"]) >= 1
    # Another address is fine.
    assert _login(api, "spray9@example.com", "wrong password!", ip="198.51.100.10").status == 401


def test_counters_are_shared_through_the_database(
    api: LambdaApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two "containers" (fresh app state, so nothing in memory is shared) see one count."""

    def reset_app_state() -> None:  # what a new container starts from
        from app import db, secrets
        from app.settings import get_settings

        get_settings.cache_clear()
        db.reset_engine()
        secrets.clear_cache()

    email = api.register("shared@example.com")
    _settings(monkeypatch, login_max_failures_per_account=2)
    assert _login(api, email, "wrong password!").status == 401
    reset_app_state()  # a new container: settings, engine and caches are rebuilt
    assert _login(api, email, "wrong password!").status == 401
    reset_app_state()
    assert _login(api, email, PASSWORD).status == 429

    from sqlalchemy import func, select

    from app.db import new_session
    from app.throttle import login_attempts

    with new_session() as session:
        stored = session.scalars(select(login_attempts.c.scope_key)).all()
        count = session.scalar(select(func.count()).select_from(login_attempts))
    assert count == 4  # two failures x (account, address)
    assert all(email not in key and "203.0.113.7" not in key for key in stored)


def test_previous_signing_key_accepted_only_while_configured(
    api: LambdaApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rotation procedure in docs/security.md: old tokens keep working while the
    previous key is configured, and stop once it is removed."""
    from app import auth
    from app.settings import get_settings

    api.register()
    account_id = api.get("/me").json()["account"]["id"]
    old_key = get_settings().token_signing_key
    signed_with_old, _ = auth.issue_token(account_id)

    monkeypatch.setenv("SYNTHOS_TOKEN_SIGNING_KEY", "rotated-key-fedcba9876543210fedcba9876543210")
    monkeypatch.setenv("SYNTHOS_TOKEN_SIGNING_KEY_PREVIOUS", old_key or "")
    get_settings.cache_clear()
    assert api.get("/me", token=signed_with_old).status == 200
    signed_with_new, _ = auth.issue_token(account_id)
    assert api.get("/me", token=signed_with_new).status == 200
    # New tokens are signed with the new key only.
    import jwt

    jwt.decode(
        signed_with_new,
        "rotated-key-fedcba9876543210fedcba9876543210",
        algorithms=["HS256"],
        options={"verify_aud": False},
    )
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(signed_with_new, old_key, algorithms=["HS256"])

    monkeypatch.delenv("SYNTHOS_TOKEN_SIGNING_KEY_PREVIOUS")
    get_settings.cache_clear()
    rejected = api.get("/me", token=signed_with_old)
    assert rejected.status == 401 and rejected.error["code"] == "unauthorized"
    assert api.get("/me", token=signed_with_new).status == 200
