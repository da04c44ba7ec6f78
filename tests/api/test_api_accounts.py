"""Accounts, tokens, API keys, /me and the error shape, through the Lambda handler."""

from __future__ import annotations

import time

import jwt
import pytest
from lambda_events import LambdaApi


def test_register_token_and_me(api: LambdaApi) -> None:
    email = api.register("Ada@Example.com")
    assert email == "Ada@Example.com"
    me = api.get("/me")
    assert me.status == 200, me.body
    body = me.json()
    assert body["account"]["email"] == "ada@example.com"
    assert body["plan"]["name"] == "free"
    assert body["usage"]["rows_generated"] == 0
    assert body["usage"]["datasets"] == 0
    assert body["usage"]["month"] == time.strftime("%Y-%m", time.gmtime())

    token = api.post(
        "/auth/token", json_body={"email": "ada@example.com", "password": "correct horse battery"}
    )
    assert token.status == 200
    claims = jwt.decode(token.json()["access_token"], options={"verify_signature": False})
    assert claims["sub"] == body["account"]["id"]
    assert claims["exp"] - claims["iat"] == token.json()["expires_in"] == 3600
    assert api.get("/me", token=token.json()["access_token"]).status == 200


def test_register_rejects_duplicates_and_bad_input(api: LambdaApi, row_counts) -> None:
    api.register("bob@example.com")
    dup = api.post(
        "/auth/register", json_body={"email": "BOB@example.com", "password": "another password"}
    )
    assert dup.status == 409 and dup.error["code"] == "email_taken"
    bad_email = api.post("/auth/register", json_body={"email": "nope", "password": "long enough"})
    assert bad_email.status == 422 and bad_email.error["code"] == "invalid_input"
    assert "email" in bad_email.error["message"]
    short = api.post("/auth/register", json_body={"email": "c@example.com", "password": "short"})
    assert short.status == 422 and short.error["details"][0]["location"] == ["body", "password"]
    extra = api.post(
        "/auth/register", json_body={"email": "d@example.com", "password": "long enough", "x": 1}
    )
    assert extra.status == 422
    not_json = api.post(
        "/auth/register", raw_body=b"{", headers={"content-type": "application/json"}
    )
    assert not_json.status == 422 and not_json.error["code"] == "invalid_input"
    assert row_counts()["accounts"] == 1


def test_wrong_password_and_unknown_email(api: LambdaApi) -> None:
    api.register("eve@example.com")
    for email, password in (("eve@example.com", "wrong password"), ("x@example.com", "whatever1")):
        r = api.post("/auth/token", json_body={"email": email, "password": password})
        assert r.status == 401 and r.error["code"] == "invalid_credentials"


def test_registration_closed(api: LambdaApi, monkeypatch, row_counts) -> None:
    from app.settings import get_settings

    monkeypatch.setenv("SYNTHOS_REGISTRATION_OPEN", "false")
    get_settings.cache_clear()
    r = api.post("/auth/register", json_body={"email": "f@example.com", "password": "long enough"})
    assert r.status == 403 and r.error["code"] == "registration_closed"
    assert row_counts()["accounts"] == 0


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Basic Zm9vOmJhcg==", "Bearer not-a-jwt", "Bearer sk_00000000_nope"],
)
def test_requests_without_valid_credentials_get_401(api: LambdaApi, authorization) -> None:
    headers = {"authorization": authorization} if authorization else {}
    r = api.get("/me", headers=headers, token="")
    assert r.status == 401, r.body
    assert r.error["code"] == "unauthorized"
    assert r.headers.get("www-authenticate") == "Bearer"


def test_expired_forged_and_rotated_tokens(api: LambdaApi, monkeypatch) -> None:
    from app import auth
    from app.settings import get_settings

    api.register()
    account_id = api.get("/me").json()["account"]["id"]
    old, _ = auth.issue_token(account_id, now=time.time() - 7200)
    r = api.get("/me", token=old)
    assert r.status == 401 and "expired" in r.error["message"]
    forged = jwt.encode(
        {
            "sub": account_id,
            "iss": "synthos",
            "iat": int(time.time()),
            "exp": int(time.time()) + 60,
            "typ": "access",
        },
        "some-other-key-0123456789abcdef0123456789",
        algorithm="HS256",
    )
    assert api.get("/me", token=forged).status == 401
    # Rotation: a token signed with the previous key stays valid.
    signed_before, _ = auth.issue_token(account_id)
    monkeypatch.setenv("SYNTHOS_TOKEN_SIGNING_KEY", "rotated-key-0123456789abcdef0123456789abc")
    monkeypatch.setenv("SYNTHOS_TOKEN_SIGNING_KEY_PREVIOUS", get_settings().token_signing_key)
    get_settings.cache_clear()
    assert api.get("/me", token=signed_before).status == 200
    monkeypatch.delenv("SYNTHOS_TOKEN_SIGNING_KEY_PREVIOUS")
    get_settings.cache_clear()
    assert api.get("/me", token=signed_before).status == 401


def test_api_keys_lifecycle(api: LambdaApi) -> None:
    api.register()
    created = api.post("/api-keys", json_body={"name": "ci"})
    assert created.status == 201, created.body
    key = created.json()
    assert key["key"].startswith(f"sk_{key['prefix']}_")
    assert key["last_used_at"] is None

    listed = api.get("/api-keys").json()["items"]
    assert [k["id"] for k in listed] == [key["id"]]
    assert "key" not in listed[0] and listed[0]["prefix"] == key["prefix"]

    by_key = api.get("/me", token=key["key"])
    assert by_key.status == 200
    assert api.get("/api-keys").json()["items"][0]["last_used_at"] is not None

    from sqlalchemy import select

    from app.db import new_session
    from app.models import ApiKey

    with new_session() as session:
        stored = session.scalars(select(ApiKey)).one()
        assert key["key"] not in (stored.key_hash, stored.prefix)
        assert len(stored.key_hash) == 64

    assert api.delete(f"/api-keys/{key['id']}").status == 204
    revoked = api.get("/me", token=key["key"])
    assert revoked.status == 401 and "revoked" in revoked.error["message"]
    assert api.get("/api-keys").json()["items"] == []
    again = api.delete(f"/api-keys/{key['id']}")
    assert again.status == 404 and again.error["code"] == "not_found"


def test_api_key_name_is_validated(api: LambdaApi, row_counts) -> None:
    api.register()
    r = api.post("/api-keys", json_body={"name": ""})
    assert r.status == 422 and r.error["code"] == "invalid_input"
    assert row_counts()["api_keys"] == 0


def test_unknown_route_and_wrong_method_use_the_error_shape(api: LambdaApi) -> None:
    missing = api.get("/no-such-thing")
    assert missing.status == 404 and missing.error["code"] == "not_found"
    wrong = api.request("PUT", "/me")
    assert wrong.status == 405 and wrong.error["code"] == "method_not_allowed"
    bad_query = api.get("/datasets", query={"limit": "0"})
    # auth is checked first: without credentials this is 401, with them 422
    assert bad_query.status == 401
    api.register()
    bad_query = api.get("/datasets", query={"limit": "0"})
    assert bad_query.status == 422 and bad_query.error["details"][0]["location"] == [
        "query",
        "limit",
    ]
