"""Generations: request (202 + job), list, read (with download link), download, cancel/delete."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from app.api.datasets import get_dataset, quota_error
from app.api.deps import (
    CALLER_ERRORS,
    CurrentAccount,
    DbRoute,
    DbSession,
    error_responses,
    page,
)
from app.errors import ApiError
from app.schemas import GenerationDetail, GenerationIn, GenerationList
from app.settings import get_settings

logger = logging.getLogger("synthos.api.generations")

router = APIRouter(
    tags=["generations"], route_class=DbRoute, responses=error_responses(*CALLER_ERRORS)
)

_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")


def get_generation(session: Any, account_id: str, generation_id: str) -> Any:
    from app.models import Generation

    generation = session.get(Generation, generation_id)
    if generation is None or generation.account_id != account_id:
        raise ApiError(404, "not_found", "No such generation.")
    return generation


def send_start(session: Any, generation: Any) -> None:
    """Queue the job after its row is committed; on failure maintenance re-sends it."""
    from app import queue
    from app.messages import StartGeneration
    from app.models import Generation

    queue.send_recorded(
        session, Generation, generation.id, StartGeneration(generation_id=generation.id)
    )


def detail(generation: Any) -> dict[str, Any]:
    from app import storage

    body = GenerationDetail.model_validate(generation).model_dump()
    if generation.status == "succeeded" and generation.result_key:
        from app.models import utcnow

        ttl = get_settings().download_url_ttl_seconds
        body["download_url"] = storage.presigned_download(
            generation.result_key, f"{generation.id}.csv", ttl
        )
        body["download_expires_at"] = utcnow() + timedelta(seconds=ttl)
    return body


@router.post(
    "/datasets/{dataset_id}/generations",
    status_code=202,
    response_model=GenerationDetail,
    summary="Request synthetic rows (asynchronous job)",
    responses=error_responses(400, 403, 404, 409, 429),
)
def create_generation(
    dataset_id: str,
    body: GenerationIn,
    account: CurrentAccount,
    session: DbSession,
    response: Response,
) -> Any:
    """Answers at once with the queued job; poll ``GET /generations/{id}``."""
    from app import plans
    from app.models import Generation, current_month, new_id

    dataset = get_dataset(session, account.id, dataset_id)
    if dataset.status != "ready":
        raise ApiError(
            409,
            "dataset_not_ready",
            f"The dataset is {dataset.status}; generations need a ready dataset.",
            {"status": dataset.status, "failure_reason": dataset.failure_reason},
        )
    plan = plans.get_plan(account.plan)
    month = current_month()
    try:
        plans.check_rows_per_request(plan, body.rows)
        plans.reserve_rows(session, account.id, plan, month, body.rows)
    except plans.QuotaExceeded as exc:
        session.rollback()
        raise quota_error(exc) from None
    generation = Generation(
        id=new_id("gen"),
        account_id=account.id,
        dataset_id=dataset.id,
        status="queued",
        rows=body.rows,
        seed=body.seed if body.seed is not None else secrets.randbelow(2**31),
        rows_done=0,
        progress=0.0,
        usage_month=month,
    )
    session.add(generation)
    session.commit()
    send_start(session, generation)
    response.headers["Location"] = f"/api/v1/generations/{generation.id}"
    return detail(generation)


@router.get("/generations", response_model=GenerationList, summary="List generations")
def list_generations(
    account: CurrentAccount,
    session: DbSession,
    dataset_id: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(pattern="^(" + "|".join(_STATUSES) + ")$")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> Any:
    from app.models import Generation

    conditions = [Generation.account_id == account.id]
    if dataset_id:
        conditions.append(Generation.dataset_id == dataset_id)
    if status:
        conditions.append(Generation.status == status)
    return page(session, Generation, conditions, limit, cursor)


@router.get(
    "/generations/{generation_id}",
    response_model=GenerationDetail,
    summary="Status, progress, quality report and download link",
    responses=error_responses(404),
)
def read_generation(generation_id: str, account: CurrentAccount, session: DbSession) -> Any:
    return detail(get_generation(session, account.id, generation_id))


@router.get(
    "/generations/{generation_id}/download",
    status_code=307,
    summary="Download the CSV (redirect to a short-lived link; streamed in local mode)",
    responses={
        307: {"description": "Redirect to the file"},
        200: {"description": "The CSV (local mode)", "content": {"text/csv": {}}},
        **error_responses(404, 409, 410),
    },
)
def download(generation_id: str, account: CurrentAccount, session: DbSession) -> Response:
    from fastapi.responses import RedirectResponse, StreamingResponse

    from app import storage

    generation = get_generation(session, account.id, generation_id)
    if generation.status != "succeeded":
        raise ApiError(
            409,
            "not_ready",
            f"The generation is {generation.status}; nothing to download.",
            {"status": generation.status},
        )
    if not generation.result_key:
        raise ApiError(410, "expired", "The result has expired and was deleted.")
    filename = f"{generation.id}.csv"
    settings = get_settings()
    if settings.local_mode:
        return StreamingResponse(
            storage.iter_chunks(generation.result_key),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    url = storage.presigned_download(
        generation.result_key, filename, settings.download_url_ttl_seconds
    )
    return RedirectResponse(url, status_code=307, headers={"Cache-Control": "no-store"})


@router.delete(
    "/generations/{generation_id}",
    summary="Cancel an active generation, or delete a finished one",
    responses={
        200: {"model": GenerationDetail, "description": "Cancelled"},
        204: {"description": "Deleted"},
        **error_responses(404),
    },
)
def delete_generation(generation_id: str, account: CurrentAccount, session: DbSession) -> Any:
    """Queued or running: cancelled (200, unused rows are given back to the quota).
    Finished: the job and its files are deleted (204)."""
    from sqlalchemy import delete

    from app import jobs, plans, storage
    from app.models import Generation

    generation = get_generation(session, account.id, generation_id)
    if generation.status in jobs.GENERATION_ACTIVE:
        if jobs.transition(
            session,
            Generation,
            generation.id,
            ["queued", "running"],
            "cancelled",
            failure_reason="Cancelled by the user.",
            finished_at=_now(),
        ):
            plans.release_rows(
                session, account.id, generation.usage_month, generation.rows - generation.rows_done
            )
            session.commit()
            session.refresh(generation)
            return detail(generation)
        session.rollback()
        session.refresh(generation)  # finished meanwhile: fall through to delete
    session.execute(delete(Generation).where(Generation.id == generation.id))
    session.commit()
    try:
        storage.delete_prefix(storage.generation_prefix(account.id, generation.id))
    except Exception as exc:
        logger.warning(
            "generation objects not deleted",
            extra={"generation_id": generation.id, "error_type": type(exc).__name__},
        )
    return Response(status_code=204)


def _now() -> Any:
    from app.models import utcnow

    return utcnow()
