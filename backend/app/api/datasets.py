"""Datasets: direct upload (small), presigned upload (large), list, read, delete."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import PurePosixPath
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from app.api.deps import (
    CALLER_ERRORS,
    CurrentAccount,
    DbRoute,
    DbSession,
    error_responses,
    page,
)
from app.errors import ApiError
from app.schemas import DatasetDetail, DatasetList, UploadIn, UploadOut
from app.settings import get_settings

logger = logging.getLogger("synthos.api.datasets")

router = APIRouter(
    prefix="/datasets",
    tags=["datasets"],
    route_class=DbRoute,
    responses=error_responses(*CALLER_ERRORS),
)

UPLOADS_PATH = "/api/v1/datasets/uploads"
# Room for the multipart envelope (boundaries, part headers, a name field).
_MULTIPART_OVERHEAD = 16 * 1024

_MULTIPART_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "name": {"type": "string", "maxLength": 200},
                    },
                }
            }
        },
    }
}


def quota_error(exc: Any) -> ApiError:
    code = "quota_exceeded" if exc.status == 429 else "plan_limit_exceeded"
    return ApiError(exc.status, code, exc.message, exc.details())


def _too_large(size: int | None, limit: int) -> ApiError:
    return ApiError(
        413,
        "payload_too_large",
        f"Direct uploads are limited to {limit:,} bytes. For larger files, request a "
        f"presigned upload with POST {UPLOADS_PATH}, upload the file to it, then call "
        "POST /api/v1/datasets/{id}/complete.",
        {"limit_bytes": limit, "size_bytes": size, "upload_endpoint": UPLOADS_PATH},
    )


def _display_name(name: str | None, filename: str) -> str:
    name = (name or "").strip()
    return (name or PurePosixPath(filename).stem or "dataset")[:200]


def _clean_filename(filename: str | None) -> str:
    base = PurePosixPath((filename or "").replace("\\", "/")).name.strip()
    return (base or "upload.csv")[:255]


def get_dataset(session: Any, account_id: str, dataset_id: str) -> Any:
    """The caller's dataset (not deleted), else 404: other accounts' ids look absent."""
    from app.models import Dataset

    dataset = session.get(Dataset, dataset_id)
    if dataset is None or dataset.account_id != account_id or dataset.status == "deleted":
        raise ApiError(404, "not_found", "No such dataset.")
    return dataset


def send_profile(session: Any, dataset: Any) -> None:
    """Queue profiling after the row is committed; a send failure is retried by maintenance."""
    from app import queue
    from app.messages import ProfileDataset
    from app.models import Dataset

    queue.send_recorded(session, Dataset, dataset.id, ProfileDataset(dataset_id=dataset.id))


def _create_direct(session: Any, account: Any, data: bytes, filename: str, name: str | None) -> Any:
    from app import plans, storage
    from app.models import Dataset, new_id
    from app.synth.table import CsvError, read_csv

    settings = get_settings()
    plan = plans.get_plan(account.plan)
    try:
        plans.check_datasets(session, account.id, plan)
        plans.check_upload_size(plan, len(data))
    except plans.QuotaExceeded as exc:
        raise quota_error(exc) from None
    try:
        table = read_csv(
            data, max_columns=settings.csv_max_columns, max_cells=settings.csv_max_cells
        )
    except CsvError as exc:
        raise ApiError(
            422, exc.code, exc.message, {"code": exc.code, "line": exc.line, "file": filename}
        ) from None
    dataset_id = new_id("ds")
    key = storage.source_key(account.id, dataset_id)
    storage.put_bytes(key, data)
    dataset = Dataset(
        id=dataset_id,
        account_id=account.id,
        name=_display_name(name, filename),
        filename=filename,
        status="processing",
        size_bytes=len(data),
        n_rows=table.n_rows,
        n_columns=table.n_columns,
        source_key=key,
    )
    session.add(dataset)
    try:
        session.commit()
    except Exception:
        session.rollback()
        storage.delete_key(key)  # no object without its row
        raise
    send_profile(session, dataset)
    return dataset


@router.post(
    "",
    status_code=201,
    response_model=DatasetDetail,
    summary="Upload a small CSV directly (multipart)",
    openapi_extra=_MULTIPART_DOC,
    responses=error_responses(400, 403, 415),
)
async def upload_dataset(request: Request, account: CurrentAccount, session: DbSession) -> Any:
    """Multipart field ``file`` (and optional ``name``). Files above the direct-upload
    limit get a 413 pointing to ``POST /datasets/uploads``."""
    from starlette.concurrency import run_in_threadpool

    limit = get_settings().direct_upload_max_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + _MULTIPART_OVERHEAD:
        raise _too_large(int(declared), limit)
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise ApiError(
            415,
            "unsupported_media_type",
            "Send the CSV as multipart/form-data with a field named 'file'.",
        )
    try:
        form = await request.form(max_files=1, max_fields=4)
    except Exception as exc:
        raise ApiError(400, "bad_request", f"The multipart body cannot be read: {exc}") from None
    try:
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise ApiError(
                422,
                "missing_file",
                "The multipart body has no file field named 'file'.",
                {"field": "file"},
            )
        data = await upload.read(limit + 1)
        if len(data) > limit:
            raise _too_large(None, limit)
        name_field = form.get("name")
        name = name_field if isinstance(name_field, str) else None
        filename = _clean_filename(upload.filename)
    finally:
        await form.close()
    return await run_in_threadpool(_create_direct, session, account, data, filename, name)


@router.post(
    "/uploads",
    status_code=201,
    response_model=UploadOut,
    summary="Start a presigned upload (large files)",
    responses=error_responses(400, 403),
)
def start_upload(body: UploadIn, account: CurrentAccount, session: DbSession) -> Any:
    """Returns a presigned S3 POST (form ``fields`` plus the ``file``) valid for about
    15 minutes; then call ``POST /datasets/{id}/complete``."""
    from app import plans, storage
    from app.models import Dataset, new_id, utcnow

    settings = get_settings()
    plan = plans.get_plan(account.plan)
    try:
        plans.check_upload_size(plan, body.size_bytes)
        plans.check_datasets(session, account.id, plan)
    except plans.QuotaExceeded as exc:
        raise quota_error(exc) from None
    filename = _clean_filename(body.filename)
    dataset_id = new_id("ds")
    key = storage.source_key(account.id, dataset_id)
    ttl = settings.upload_url_ttl_seconds
    upload = storage.presigned_upload(key, plan.upload_bytes, ttl)
    dataset = Dataset(
        id=dataset_id,
        account_id=account.id,
        name=_display_name(body.name, filename),
        filename=filename,
        status="uploading",
        size_bytes=body.size_bytes,
        source_key=key,
    )
    session.add(dataset)
    session.commit()
    return {
        "dataset": dataset,
        "upload": {
            **upload,
            "expires_at": utcnow() + timedelta(seconds=ttl),
            "max_bytes": plan.upload_bytes,
        },
        "complete_url": f"/api/v1/datasets/{dataset_id}/complete",
    }


@router.post(
    "/{dataset_id}/complete",
    status_code=202,
    response_model=DatasetDetail,
    summary="Finish a presigned upload and start profiling",
    responses=error_responses(403, 404, 409),
)
def complete_upload(dataset_id: str, account: CurrentAccount, session: DbSession) -> Any:
    from app import jobs, plans, storage
    from app.models import Dataset

    dataset = get_dataset(session, account.id, dataset_id)
    if dataset.status != "uploading":
        raise ApiError(
            409,
            "not_uploading",
            f"The dataset is {dataset.status}, not waiting for an upload.",
            {"status": dataset.status},
        )
    size = storage.object_size(dataset.source_key)
    if size is None:
        raise ApiError(
            409,
            "upload_missing",
            "No file has been uploaded to the presigned URL yet.",
        )
    plan = plans.get_plan(account.plan)
    try:
        plans.check_upload_size(plan, size)
    except plans.QuotaExceeded as exc:
        storage.delete_key(dataset.source_key)
        jobs.transition(
            session, Dataset, dataset.id, "uploading", "failed", failure_reason=exc.message
        )
        session.commit()
        raise quota_error(exc) from None
    if not jobs.transition(
        session, Dataset, dataset.id, "uploading", "processing", size_bytes=size
    ):
        session.rollback()
        raise ApiError(409, "not_uploading", "The upload was completed concurrently.")
    session.commit()
    session.refresh(dataset)
    send_profile(session, dataset)
    return dataset


@router.get("", response_model=DatasetList, summary="List datasets (newest first)")
def list_datasets(
    account: CurrentAccount,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> Any:
    from app.models import Dataset

    mine = [Dataset.account_id == account.id, Dataset.status != "deleted"]
    return page(session, Dataset, mine, limit, cursor)


@router.get(
    "/{dataset_id}",
    response_model=DatasetDetail,
    summary="A dataset and its profile",
    responses=error_responses(404),
)
def read_dataset(dataset_id: str, account: CurrentAccount, session: DbSession) -> Any:
    return get_dataset(session, account.id, dataset_id)


@router.delete(
    "/{dataset_id}",
    status_code=204,
    summary="Delete a dataset and its files",
    responses=error_responses(404),
)
def delete_dataset(dataset_id: str, account: CurrentAccount, session: DbSession) -> Response:
    """Active generations of the dataset are cancelled; their results stay until deleted."""
    from sqlalchemy import select

    from app import jobs, plans, storage
    from app.models import Dataset, Generation

    dataset = get_dataset(session, account.id, dataset_id)
    if not jobs.transition(
        session, Dataset, dataset.id, ["uploading", "processing", "ready", "failed"], "deleted"
    ):
        raise ApiError(404, "not_found", "No such dataset.")
    active = session.scalars(
        select(Generation).where(
            Generation.dataset_id == dataset.id, Generation.status.in_(["queued", "running"])
        )
    ).all()
    for generation in active:
        if jobs.transition(
            session,
            Generation,
            generation.id,
            ["queued", "running"],
            "cancelled",
            failure_reason="The dataset was deleted.",
        ):
            plans.release_rows(
                session, account.id, generation.usage_month, generation.rows - generation.rows_done
            )
    session.commit()
    try:
        storage.delete_prefix(storage.dataset_prefix(account.id, dataset.id))
    except Exception as exc:  # the row is gone for the user; the objects are orphaned
        logger.warning(
            "dataset objects not deleted",
            extra={"dataset_id": dataset.id, "error_type": type(exc).__name__},
        )
    return Response(status_code=204)
