"""What a worker does with each job message, and how its failures are classified.

Unknown or deleted ids are acknowledged with a warning (a message can outlive
its row); a redelivered message finds its row already moved on and does
nothing (every state change is conditional, see app.jobs).

Failures: :class:`app.jobs.PermanentError` (bad input) fails the job at once and
acknowledges the message; any other exception is transient: its text is stored
as the job's ``last_error`` and it is raised, so the event source redelivers the
message with backoff and, after the receive limit, the dead-letter consumer
(:func:`give_up`) fails the job with that last error.
"""

from __future__ import annotations

import logging
from typing import Any

from app.jobs import PermanentError
from app.log import bind_job
from app.messages import (
    FinalizeGeneration,
    GenerateChunk,
    JobMessage,
    ProfileDataset,
    StartGeneration,
)

logger = logging.getLogger("synthos.tasks")

#: Bytes read per request while streaming a source object.
STREAM_CHUNK = 1024 * 1024


def job_fields(message: JobMessage) -> dict[str, Any]:
    if isinstance(message, ProfileDataset):
        return {"dataset_id": message.dataset_id}
    fields: dict[str, Any] = {"generation_id": message.generation_id}
    if isinstance(message, GenerateChunk):
        fields["chunk_index"] = message.chunk_index
    return fields


def run_task(message: JobMessage) -> None:
    """Carry out one validated message; raising makes SQS redeliver it."""
    with bind_job(kind=message.kind, **job_fields(message)):
        logger.info("task received")
        try:
            _dispatch(message)
        except PermanentError as exc:
            logger.warning("permanent failure; job failed", extra={"reason": str(exc)})
            _fail_job(message, str(exc))
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            logger.warning("transient failure; will retry", extra={"reason": error[:500]})
            _record_error(message, error)
            raise


def _dispatch(message: JobMessage) -> None:
    from app import generation

    if isinstance(message, ProfileDataset):
        profile_dataset(message.dataset_id)
    elif isinstance(message, StartGeneration):
        generation.start_generation(message.generation_id)
    elif isinstance(message, GenerateChunk):
        generation.run_chunk(message.generation_id, message.chunk_index)
    elif isinstance(message, FinalizeGeneration):
        generation.finalize_generation(message.generation_id)


def _fail_job(message: JobMessage, reason: str) -> None:
    if isinstance(message, ProfileDataset):
        _fail_dataset(message.dataset_id, f"Processing failed: {reason}.")
        return
    from app.generation import fail_by_id

    fail_by_id(message.generation_id, f"Generation failed: {reason}.")


def _fail_dataset(dataset_id: str, reason: str) -> bool:
    from app import jobs
    from app.db import new_session
    from app.models import Dataset

    session = new_session()
    try:
        changed = jobs.transition(
            session,
            Dataset,
            dataset_id,
            ["uploading", "processing"],
            "failed",
            failure_reason=reason[:1000],
        )
        session.commit()
        return changed
    finally:
        session.close()


def _record_error(message: JobMessage, error: str) -> None:
    if isinstance(message, ProfileDataset):
        from sqlalchemy import update

        from app.db import new_session
        from app.models import Dataset

        session = new_session()
        try:
            session.execute(
                update(Dataset)
                .where(Dataset.id == message.dataset_id)
                .values(last_error=error[:1000])
            )
            session.commit()
        except Exception:  # the database may be what failed
            logger.warning("could not record the error")
        finally:
            session.close()
        return
    from app.generation import record_error

    index = message.chunk_index if isinstance(message, GenerateChunk) else None
    record_error(message.generation_id, index, error)


def scan_source(key: str, limit: int) -> tuple[bytes, int, int, bool]:
    """Stream an object once: ``(prefix, data_rows, total_bytes, truncated)``.

    ``prefix`` is at most ``limit`` bytes and ends on a record boundary (a newline
    outside quotes, RFC 4180); ``data_rows`` counts every record after the header.
    Memory is bounded by ``limit`` plus one read.
    """
    from app import storage

    body = storage.open_stream(key)
    prefix = bytearray()
    records = 0
    position = 0
    boundary = 0  # end of the last whole record within the limit
    in_quotes = False
    last_byte = b"\n"
    try:
        for chunk in body.iter_chunks(STREAM_CHUNK):
            if not chunk:
                continue
            if len(prefix) < limit:
                prefix.extend(chunk[: limit - len(prefix)])
            if not in_quotes and b'"' not in chunk:
                records += chunk.count(b"\n")
                end = chunk.rfind(b"\n")
                if end >= 0 and position + end + 1 <= limit:
                    boundary = position + end + 1
            else:
                offset = 0
                pieces = chunk.split(b"\n")
                for piece in pieces[:-1]:
                    offset += len(piece) + 1
                    if piece.count(b'"') % 2:
                        in_quotes = not in_quotes
                    if not in_quotes:
                        records += 1
                        if position + offset <= limit:
                            boundary = position + offset
                if pieces[-1].count(b'"') % 2:
                    in_quotes = not in_quotes
            position += len(chunk)
            last_byte = chunk[-1:]
    finally:
        body.close()
    if last_byte != b"\n" and position:
        records += 1  # a last record without a newline
        if position <= limit:
            boundary = position
    truncated = position > limit
    data = bytes(prefix[:boundary]) if truncated else bytes(prefix)
    return data, max(0, records - 1), position, truncated


def profile_dataset(dataset_id: str) -> None:
    """Validate, profile and fit an uploaded dataset: ``processing -> ready | failed``.

    The source is streamed: every row is counted, but at most
    ``SYNTHOS_PROFILE_MAX_BYTES`` (from the top, cut on a record boundary) is parsed
    for the profile and the fit; the profile then says so under ``sampling``.
    """
    from app import jobs, storage
    from app.db import new_session
    from app.models import Dataset
    from app.settings import get_settings

    session = new_session()
    try:
        dataset = session.get(Dataset, dataset_id)
        if dataset is None or dataset.status == "deleted":
            logger.warning("dataset not found or deleted; message acknowledged")
            return
        if dataset.status != "processing":
            logger.info("dataset not processing; nothing to do", extra={"status": dataset.status})
            return

        def fail(reason: str) -> None:
            jobs.transition(
                session, Dataset, dataset_id, "processing", "failed", failure_reason=reason[:1000]
            )
            session.commit()
            logger.info("dataset failed", extra={"reason": reason})

        if storage.object_size(dataset.source_key) is None:
            fail("The uploaded file is missing; upload it again.")
            return
        from app.synth import CsvError, fit, profile_table, read_csv

        settings = get_settings()
        data, total_rows, total_bytes, truncated = scan_source(
            dataset.source_key, settings.profile_max_bytes
        )
        try:
            table = read_csv(
                data, max_columns=settings.csv_max_columns, max_cells=settings.csv_max_cells
            )
        except CsvError as exc:
            where = f" (line {exc.line})" if exc.line else ""
            fail(f"{exc.message}{where} [{exc.code}]")
            return
        del data
        try:
            profile = profile_table(table)
            model = fit(table)
        except ValueError as exc:
            fail(f"The table cannot be modelled: {exc}")
            return
        n_rows = table.n_rows
        if truncated:
            n_rows = max(total_rows, table.n_rows)
            profile = {
                **profile,
                "sampling": {
                    "rows_profiled": table.n_rows,
                    "rows_total": n_rows,
                    "bytes_profiled": settings.profile_max_bytes,
                    "bytes_total": total_bytes,
                    "note": "profiled and fitted on the first rows of the file (bounded memory)",
                },
            }
        key = storage.model_key(dataset.account_id, dataset_id, "json.z")
        storage.put_bytes(key, model.to_bytes(), content_type="application/octet-stream")
        if jobs.transition(
            session,
            Dataset,
            dataset_id,
            "processing",
            "ready",
            profile=profile,
            n_rows=n_rows,
            n_columns=table.n_columns,
            model_key=key,
            last_error=None,
        ):
            session.commit()
            logger.info("dataset ready", extra={"rows": n_rows, "truncated": truncated})
        else:  # deleted meanwhile
            session.rollback()
            storage.delete_key(key)
    finally:
        session.close()


def give_up(body: str, *, attempts: int | None = None, reason: str | None = None) -> None:
    """A message reached the dead-letter queue: its job ends as failed, with the reason.

    The reason reads ``gave up after N attempts: <last transient error>``.
    """
    from app.messages import MalformedMessage, parse_message

    try:
        message = parse_message(body)
    except MalformedMessage as exc:
        logger.error(
            "malformed message dead-lettered",
            extra={"error": str(exc), "body_bytes": len(body), "attempts": attempts},
        )
        return
    with bind_job(kind=message.kind, **job_fields(message)):
        last = _last_error(message)
        why = reason or f"gave up after {attempts if attempts is not None else '?'} attempts"
        why = f"{why}: {last}" if last else f"{why} (the last error could not be recorded)"
        logger.error("message dead-lettered", extra={"reason": why})
        _fail_job(message, why)


def _last_error(message: JobMessage) -> str | None:
    from app.db import new_session
    from app.models import Dataset, Generation, GenerationChunk

    session = new_session()
    try:
        if isinstance(message, ProfileDataset):
            dataset = session.get(Dataset, message.dataset_id)
            return dataset.last_error if dataset else None
        if isinstance(message, GenerateChunk):
            chunk = session.get(GenerationChunk, (message.generation_id, message.chunk_index))
            if chunk is not None and chunk.last_error:
                return chunk.last_error
        generation = session.get(Generation, message.generation_id)
        return generation.last_error if generation else None
    finally:
        session.close()
