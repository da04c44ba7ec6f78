"""app.auth: scrypt hashes, JWT issue/verify with rotation, API key format."""

from __future__ import annotations

import time

import jwt
import pytest

from app import auth
from app.settings import get_settings


@pytest.fixture(autouse=True)
def _settings(monkeypatch):
    monkeypatch.setenv("SYNTHOS_STAGE", "unit")
    monkeypatch.setenv("SYNTHOS_TOKEN_SIGNING_KEY", "unit-key-0123456789abcdef0123456789abcdef")
    monkeypatch.delenv("SYNTHOS_TOKEN_SIGNING_KEY_PREVIOUS", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_password_hash_round_trip_and_salting() -> None:
    first = auth.hash_password("correct horse battery")
    second = auth.hash_password("correct horse battery")
    assert first != second  # salted
    assert first.startswith(f"scrypt${auth.SCRYPT_N}$8$1$")
    assert auth.verify_password("correct horse battery", first)
    assert not auth.verify_password("correct horse batterz", first)
    assert not auth.verify_password("x", "not-a-hash")
    assert not auth.verify_password("x", "bcrypt$1$2$3$4$5")


def test_token_round_trip_and_claims() -> None:
    token, ttl = auth.issue_token("acc_1")
    assert ttl == 3600
    assert auth.verify_token(token) == "acc_1"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == "synthos" and claims["typ"] == "access"


def test_expired_and_tampered_tokens_are_rejected() -> None:
    old, _ = auth.issue_token("acc_1", now=time.time() - 3601)
    with pytest.raises(auth.InvalidToken, match="expired"):
        auth.verify_token(old)
    token, _ = auth.issue_token("acc_1")
    header, payload, signature = token.split(".")
    with pytest.raises(auth.InvalidToken):
        auth.verify_token(f"{header}.{payload}.{signature[:-2]}xx")
    none_alg = jwt.encode({"sub": "acc_1"}, key=None, algorithm="none")
    with pytest.raises(auth.InvalidToken):
        auth.verify_token(none_alg)


def test_rotation_accepts_the_previous_key_only_while_configured(monkeypatch) -> None:
    token, _ = auth.issue_token("acc_1")
    monkeypatch.setenv("SYNTHOS_TOKEN_SIGNING_KEY", "new-key-0123456789abcdef0123456789abcdef")
    get_settings.cache_clear()
    with pytest.raises(auth.InvalidToken):
        auth.verify_token(token)
    monkeypatch.setenv(
        "SYNTHOS_TOKEN_SIGNING_KEY_PREVIOUS", "unit-key-0123456789abcdef0123456789abcdef"
    )
    get_settings.cache_clear()
    assert auth.verify_token(token) == "acc_1"
    new_token, _ = auth.issue_token("acc_2")
    claims = jwt.decode(new_token, "new-key-0123456789abcdef0123456789abcdef", algorithms=["HS256"])
    assert claims["sub"] == "acc_2"  # signs with the current key


def test_missing_signing_key_outside_local_raises(monkeypatch) -> None:
    from app.secrets import SecretUnavailable

    monkeypatch.delenv("SYNTHOS_TOKEN_SIGNING_KEY")
    get_settings.cache_clear()
    with pytest.raises(SecretUnavailable):
        auth.issue_token("acc_1")


def test_api_keys() -> None:
    new = auth.generate_api_key()
    scheme, prefix, secret = new.key.split("_", 2)
    assert scheme == "sk" and prefix == new.prefix and len(prefix) == 8
    assert len(secret) >= 40
    assert new.key_hash == auth.hash_api_key(new.key) and len(new.key_hash) == 64
    assert new.key not in new.key_hash
    assert auth.looks_like_api_key(new.key)
    assert not auth.looks_like_api_key("eyJhbGciOi.x.y")
    assert auth.generate_api_key().key != new.key
