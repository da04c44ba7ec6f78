"""Secrets from SSM Parameter Store, read by name once per container.

The stack passes parameter *names* in the environment (``SYNTHOS_*_PARAM``), so
no secret value sits in the CloudFormation template or the function
configuration. boto3 is imported here, on first use, not at cold start.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_cache: dict[str, str] = {}


class SecretUnavailable(RuntimeError):
    """A secret could not be read; the message names the parameter, never its value."""


def read_parameter(name: str) -> str:
    """Return the decrypted value of SSM parameter ``name``, cached for this container."""
    with _lock:
        if name in _cache:
            return _cache[name]
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        client: Any = boto3.client("ssm")
        value = client.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    except (BotoCoreError, ClientError) as exc:
        reason = type(exc).__name__
        raise SecretUnavailable(f"cannot read SSM parameter {name!r}: {reason}") from None
    with _lock:
        _cache[name] = value
    return value


def resolve(literal: str | None, parameter_name: str | None, *, what: str) -> str:
    """A configured value: the literal if given (local use), else the SSM parameter."""
    if literal:
        return literal
    if parameter_name:
        return read_parameter(parameter_name)
    raise SecretUnavailable(f"{what} is not configured (set it or the name of its SSM parameter)")


def clear_cache() -> None:
    """Forget cached values (tests, and rotation without a redeploy)."""
    with _lock:
        _cache.clear()
