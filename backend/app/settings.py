"""One settings object for the whole backend, read from the environment.

Everything is configured through ``SYNTHOS_*`` environment variables. Secrets are
never given here as literals on Lambda: the stack passes the *names* of SSM
Parameter Store parameters (``*_PARAM``) and :mod:`app.secrets` reads them at run
time. Locally (``make run``) the embedded defaults need no AWS account.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def running_on_lambda() -> bool:
    """True inside a Lambda execution environment (not under `invoke local`'s venv)."""
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME")) and not os.environ.get("IS_LOCAL")


class Settings(BaseSettings):
    """Configuration of one deployment stage."""

    model_config = SettingsConfigDict(env_prefix="SYNTHOS_", extra="ignore")

    stage: str = "local"
    log_level: str = "INFO"

    # Database: a literal URL is fine for local SQLite; on Lambda use the SSM name.
    database_url: str | None = None
    database_url_param: str | None = None
    db_pool: Literal["null", "small"] = "null"
    db_connect_timeout: int = Field(default=5, ge=1, le=60)

    # Bearer tokens: the signing key comes from SSM on Lambda.
    token_signing_key: str | None = None
    token_signing_key_param: str | None = None
    token_ttl_seconds: int = Field(default=3600, ge=60, le=86400)

    # Storage and queues (boto3; AWS_ENDPOINT_URL points them at an emulator locally).
    data_bucket: str = "synthos-local-data"
    jobs_queue_name: str = "synthos-local-jobs"
    jobs_queue_url: str | None = None
    result_ttl_days: int = Field(default=7, ge=1, le=365)

    # HTTP surface.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    registration_open: bool = True
    local_mode: bool = False

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        """Accept a comma-separated string, which is what an environment variable holds."""
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once (per Lambda container)."""
    return Settings()
