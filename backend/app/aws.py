"""boto3 clients, one per service per container, created on first use.

boto3 honours ``AWS_ENDPOINT_URL`` by itself, so the same code talks to AWS on
Lambda and to the local emulator under ``make run`` and in tests.
"""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def client(service: str) -> Any:
    """A shared client with short timeouts and standard retries (never a hang)."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=3,
        read_timeout=20,
        retries={"mode": "standard", "max_attempts": 4},
        signature_version="s3v4" if service == "s3" else None,
    )
    return boto3.client(service, config=config)


def reset_clients() -> None:
    """Drop cached clients (tests that switch endpoints or credentials)."""
    client.cache_clear()
