"""Request and response bodies of the v1 API (pydantic only: cheap to import)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.plans import MAX_ROWS_PER_REQUEST


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- errors ----------------------------------------------------------------------------------


class ErrorBody(BaseModel):
    code: str = Field(examples=["not_found"])
    message: str
    details: Any = None


class ErrorOut(BaseModel):
    """Every error: ``{"error": {"code", "message", "details"}}``."""

    error: ErrorBody


class HealthOut(BaseModel):
    status: Literal["ok", "unavailable"]
    stage: str
    checks: dict[str, dict[str, Any]] | None = None


# --- accounts and tokens ---------------------------------------------------------------


class Credentials(_In):
    email: str = Field(min_length=3, max_length=320, examples=["ada@example.com"])
    password: str = Field(min_length=8, max_length=256, examples=["correct horse battery"])

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        value = value.lower()
        local, _, domain = value.partition("@")
        if not local or "." not in domain or " " in value or domain.startswith("."):
            raise ValueError("not a valid email address")
        return value


class AccountOut(_Out):
    id: str
    email: str
    plan: str
    created_at: datetime


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_in: int


class RegisterOut(BaseModel):
    account: AccountOut
    token: TokenOut


class PlanOut(BaseModel):
    name: str
    rows_per_month: int
    datasets: int
    upload_bytes: int
    rows_per_request: int


class UsageOut(BaseModel):
    month: str
    rows_generated: int
    rows_remaining: int
    datasets: int


class MeOut(BaseModel):
    account: AccountOut
    plan: PlanOut
    usage: UsageOut


# --- API keys ----------------------------------------------------------------------------


class ApiKeyIn(_In):
    name: str = Field(min_length=1, max_length=100, examples=["ci"])


class ApiKeyOut(_Out):
    id: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None = None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The secret key. It is shown only once.")


class ApiKeyList(BaseModel):
    items: list[ApiKeyOut]


# --- datasets ------------------------------------------------------------------------------


class DatasetOut(_Out):
    id: str
    name: str
    filename: str
    status: Literal["uploading", "processing", "ready", "failed", "deleted"]
    size_bytes: int | None = None
    n_rows: int | None = None
    n_columns: int | None = None
    failure_reason: str | None = None
    created_at: datetime
    updated_at: datetime


class DatasetDetail(DatasetOut):
    profile: dict[str, Any] | None = None


class DatasetList(BaseModel):
    items: list[DatasetOut]
    next_cursor: str | None = None


class UploadIn(_In):
    filename: str = Field(min_length=1, max_length=255, examples=["customers.csv"])
    size_bytes: int = Field(gt=0, examples=[52_000_000])
    name: str | None = Field(default=None, max_length=200)


class PresignedUpload(BaseModel):
    method: Literal["POST"]
    url: str
    fields: dict[str, str]
    expires_at: datetime
    max_bytes: int


class UploadOut(BaseModel):
    dataset: DatasetOut
    upload: PresignedUpload
    complete_url: str


# --- generations ---------------------------------------------------------------------------


class GenerationIn(_In):
    rows: int = Field(gt=0, le=MAX_ROWS_PER_REQUEST, examples=[10_000])
    seed: int | None = Field(default=None, ge=0, le=2**63 - 1)


class GenerationOut(_Out):
    id: str
    dataset_id: str
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    rows: int
    seed: int
    rows_done: int
    progress: float
    failure_reason: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    expires_at: datetime | None = None


class GenerationDetail(GenerationOut):
    quality: dict[str, Any] | None = None
    result_bytes: int | None = None
    download_url: str | None = Field(
        default=None, description="Short-lived link to the CSV (when succeeded)."
    )
    download_expires_at: datetime | None = None


class GenerationList(BaseModel):
    items: list[GenerationOut]
    next_cursor: str | None = None
