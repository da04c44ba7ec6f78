"""Credentials: password hashes (scrypt), signed bearer tokens (JWT HS256), API keys.

* Passwords: ``hashlib.scrypt`` (memory-hard, stdlib), stored as
  ``scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>`` so parameters can be raised later.
* Tokens: HS256 with the signing key from settings/SSM; verification accepts the
  current key and an optional previous key (rotation without logging users out).
* API keys: ``sk_<prefix>_<secret>``; only the SHA-256 of the whole key is stored,
  the prefix is kept to list keys and look them up.

Pure functions only (no database); the request dependency lives in app.api.deps.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

from app.settings import Settings, get_settings, running_on_lambda

logger = logging.getLogger("synthos.auth")

SCRYPT_N = 2**14  # 16 MiB of memory per hash with r=8
SCRYPT_R = 8
SCRYPT_P = 1
_SCRYPT_DKLEN = 32
TOKEN_ISSUER = "synthos"  # noqa: S105  (a claim value, not a secret)
API_KEY_PREFIX = "sk"
_LOCAL_DEV_SIGNING_KEY = "synthos-local-development-signing-key-not-for-deployment"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, *, n: int = SCRYPT_N) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=n,
        r=SCRYPT_R,
        p=SCRYPT_P,
        maxmem=128 * n * SCRYPT_R * 2,
        dklen=_SCRYPT_DKLEN,
    )
    return f"scrypt${n}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n_s, r_s, p_s, salt_b64, hash_b64 = stored.split("$")
        if scheme != "scrypt":
            return False
        n, r, p = int(n_s), int(r_s), int(p_s)
        salt, expected = base64.b64decode(salt_b64), base64.b64decode(hash_b64)
    except (ValueError, TypeError):
        return False
    digest = hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=n,
        r=r,
        p=p,
        maxmem=128 * n * r * 2,
        dklen=len(expected),
    )
    return hmac.compare_digest(digest, expected)


# A hash to verify against when the account does not exist, so timing does not
# reveal which emails are registered.
_DUMMY_HASH: str | None = None


def dummy_verify(password: str) -> None:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password("not-a-real-password")
    verify_password(password, _DUMMY_HASH)


# --- bearer tokens -----------------------------------------------------------------


class InvalidToken(ValueError):
    """The token is malformed, expired, or not signed by a key we accept."""


def signing_keys(settings: Settings | None = None) -> list[str]:
    """[current, previous?]: the first signs, all verify."""
    from app.secrets import SecretUnavailable, resolve

    settings = settings or get_settings()
    try:
        current = resolve(
            settings.token_signing_key, settings.token_signing_key_param, what="token signing key"
        )
    except SecretUnavailable:
        if running_on_lambda() or settings.stage != "local":
            raise
        logger.warning("no token signing key configured; using the local development key")
        current = _LOCAL_DEV_SIGNING_KEY
    keys = [current]
    if settings.token_signing_key_previous or settings.token_signing_key_previous_param:
        keys.append(
            resolve(
                settings.token_signing_key_previous,
                settings.token_signing_key_previous_param,
                what="previous token signing key",
            )
        )
    return keys


def issue_token(account_id: str, *, now: float | None = None) -> tuple[str, int]:
    """A signed access token for ``account_id`` and its lifetime in seconds."""
    import jwt

    settings = get_settings()
    issued = int(now if now is not None else time.time())
    ttl = settings.token_ttl_seconds
    claims = {
        "sub": account_id,
        "iss": TOKEN_ISSUER,
        "iat": issued,
        "exp": issued + ttl,
        "typ": "access",
    }
    return jwt.encode(claims, signing_keys(settings)[0], algorithm="HS256"), ttl


def verify_token(token: str) -> str:
    """The account id of a valid token, else :class:`InvalidToken`."""
    import jwt

    last: Exception | None = None
    for key in signing_keys():
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=["HS256"],
                issuer=TOKEN_ISSUER,
                options={"require": ["exp", "iat", "sub", "iss"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("The token has expired.") from exc
        except jwt.InvalidSignatureError as exc:
            last = exc
            continue
        except jwt.InvalidTokenError as exc:
            raise InvalidToken("The token is not valid.") from exc
        if claims.get("typ") != "access" or not isinstance(claims.get("sub"), str):
            raise InvalidToken("The token is not an access token.")
        return str(claims["sub"])
    raise InvalidToken("The token is not valid.") from last


# --- API keys -----------------------------------------------------------------------


@dataclass(frozen=True)
class NewApiKey:
    key: str  # shown once to the user
    prefix: str
    key_hash: str


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def generate_api_key() -> NewApiKey:
    prefix = secrets.token_hex(4)
    key = f"{API_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    return NewApiKey(key=key, prefix=prefix, key_hash=hash_api_key(key))


def looks_like_api_key(credential: str) -> bool:
    parts = credential.split("_", 2)
    return len(parts) == 3 and parts[0] == API_KEY_PREFIX and len(parts[1]) == 8
