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
    # Rotation: tokens signed with the previous key stay valid until they expire.
    token_signing_key_previous: str | None = None
    token_signing_key_previous_param: str | None = None

    # Storage and queues (boto3; AWS_ENDPOINT_URL points them at an emulator locally).
    data_bucket: str = "synthos-local-data"
    jobs_queue_name: str = "synthos-local-jobs"
    jobs_queue_url: str | None = None
    result_ttl_days: int = Field(default=7, ge=1, le=365)
    # Uploads: direct (multipart through the API) must fit Lambda's 6 MB payload
    # after base64 (4/3); larger files go through a presigned S3 POST.
    direct_upload_max_bytes: int = Field(default=4_000_000, ge=1, le=4_500_000)
    upload_url_ttl_seconds: int = Field(default=900, ge=60, le=3600)
    download_url_ttl_seconds: int = Field(default=300, ge=30, le=3600)
    # CSV limits applied to every upload, whatever the plan.
    csv_max_columns: int = Field(default=200, ge=1, le=2000)
    csv_max_cells: int = Field(default=20_000_000, ge=1)
    # Plan given to new accounts (a key of app.plans.PLANS).
    default_plan: str = "free"
    # Rows sampled per chunk by the generation worker.
    generation_chunk_rows: int = Field(default=100_000, ge=1, le=1_000_000)
    # Job pipeline. Without SYNTHOS_GENERATION_CHUNK_ROWS, a chunk is sized by cells
    # (rows x columns), capped at generation_chunk_max_rows (see app.generation).
    generation_chunk_cells: int = Field(default=2_500_000, ge=1_000)
    generation_chunk_max_rows: int = Field(default=250_000, ge=1, le=1_000_000)
    # Transient failures: the record's visibility becomes base * 2**(receives-1), capped.
    retry_backoff_seconds: int = Field(default=30, ge=0, le=3600)
    retry_backoff_max_seconds: int = Field(default=600, ge=0, le=43_200)
    # An assembly claim older than this is taken over (a worker died while assembling).
    finalize_lease_seconds: int = Field(default=600, ge=1, le=43_200)
    # Profiling reads at most this much of a source for fitting (rows are all counted).
    profile_max_bytes: int = Field(default=50_000_000, ge=1_000)

    # HTTP surface.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    registration_open: bool = True
    # Login throttling (POST /auth/token): failures counted in the database per window.
    login_window_seconds: int = Field(default=900, ge=1, le=86400)
    login_max_failures_per_account: int = Field(default=5, ge=1, le=1000)
    login_max_failures_per_address: int = Field(default=30, ge=1, le=100_000)
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
