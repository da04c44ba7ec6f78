"""Generating a job's rows, fanned out over the jobs queue.

* :func:`start_generation` (``StartGeneration``): ``queued -> running``, records one
  ``generation_chunks`` row per chunk in the same transaction, then sends one
  ``GenerateChunk`` message per pending chunk and stamps ``fanned_out_at``.
* :func:`run_chunk` (``GenerateChunk``): samples one chunk and writes it as a
  header-less CSV part. Idempotent by (generation, chunk index, seed): a re-run
  writes the same bytes to the same key. Marking it done is one conditional update
  (``pending -> done``) with the generation's counters, so a duplicate or late
  message changes nothing; the chunk whose update makes ``chunks_done ==
  chunk_count`` sends ``FinalizeGeneration``.
* :func:`finalize_generation` (``FinalizeGeneration``): takes the assembly claim
  (``finalizing_at``, a lease), concatenates the parts under one header into
  ``result.csv`` with an S3 multipart upload (server-side copies for parts of
  5 MiB and more), scores quality, then ``running -> succeeded``.

A generation that is not ``running`` (cancelled, failed) makes every remaining
message a no-op: no sampling, no writes.
"""

from __future__ import annotations

import io
import logging
import os
import threading
import time
from datetime import timedelta
from typing import Any

from app import jobs, storage
from app.jobs import PermanentError
from app.settings import get_settings

logger = logging.getLogger("synthos.generation")

QUALITY_SAMPLE_BYTES = 5_000_000  # of the source, for the quality report
QUALITY_MAX_ROWS = 5_000
#: Test hook: ``"<chunk index>:<seconds>"`` writes half the part then sleeps (a worker
#: killed meanwhile leaves a torn part behind, which the re-run overwrites).
PAUSE_ENV = "SYNTHOS_TEST_CHUNK_PAUSE"

_models: dict[str, Any] = {}
_models_lock = threading.Lock()


def _changed(result: Any) -> int:
    """Rows matched by an UPDATE (``CursorResult.rowcount``)."""
    return int(result.rowcount)


def plan_chunks(rows: int, chunk_rows: int) -> list[tuple[int, int, int]]:
    """``(index, row_offset, rows)`` of each chunk."""
    return [
        (i, start, min(chunk_rows, rows - start))
        for i, start in enumerate(range(0, rows, chunk_rows))
    ]


def chunk_rows_for(n_columns: int) -> int:
    """Rows per chunk: ``SYNTHOS_GENERATION_CHUNK_ROWS`` if set, else sized by cells.

    Measured on one core: ~220k rows/s for a 10-column table (sample + CSV), ~430 MB
    peak at 500k rows. A 250k-row chunk of 10 columns takes ~1.2 s here (a few seconds
    on a 2048 MB Lambda, well inside 20% of the 120 s timeout), peaks ~230 MB and
    writes a ~14 MB part, large enough to be copied server-side at assembly.
    """
    settings = get_settings()
    if "generation_chunk_rows" in settings.model_fields_set:
        return settings.generation_chunk_rows
    by_cells = settings.generation_chunk_cells // max(1, n_columns)
    return max(1_000, min(settings.generation_chunk_max_rows, by_cells))


def load_model(dataset: Any) -> Any:
    """The dataset's fitted model (cached per container); PermanentError if unusable."""
    from botocore.exceptions import ClientError

    from app.synth import SynthModel

    key = dataset.model_key
    if not key:
        raise PermanentError("the dataset has no fitted model")
    with _models_lock:
        if key in _models:
            return _models[key]
    try:
        data = storage.get_bytes(key)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in ("NoSuchKey", "404", "NotFound"):
            raise PermanentError(
                f"the dataset's fitted model is missing (NoSuchKey: {key})"
            ) from exc
        raise
    try:
        model = SynthModel.from_bytes(data)
    except Exception as exc:
        raise PermanentError(
            f"the dataset's fitted model is unreadable ({type(exc).__name__}); upload it again"
        ) from exc
    with _models_lock:
        while len(_models) >= 2:
            _models.pop(next(iter(_models)))
        _models[key] = model
    return model


def render_chunk(model: Any, seed: int, index: int, offset: int, rows: int) -> bytes:
    """The header-less CSV bytes of one chunk (deterministic)."""
    from app.synth import sample, write_csv

    part = sample(model, rows, seed, index, row_offset=offset)
    buffer = io.BytesIO()
    write_csv(part, buffer, header=False)
    return buffer.getvalue()


def header_bytes(model: Any) -> bytes:
    from app.synth import Table, write_csv

    buffer = io.BytesIO()
    write_csv(Table(model.names, [[] for _ in model.names]), buffer, header=True)
    return buffer.getvalue()


def _pause_for_tests(index: int, key: str, data: bytes) -> None:
    spec = os.environ.get(PAUSE_ENV)
    if not spec:
        return
    target, _, seconds = spec.partition(":")
    if int(target) != index:
        return
    storage.put_bytes(key, data[: len(data) // 2])
    logger.warning("test hook: paused mid-chunk", extra={"chunk_index": index})
    time.sleep(float(seconds or 60))


def _real_sample(dataset: Any) -> Any:
    """The first few MB of the source, parsed (bounded memory for the quality report)."""
    from app.synth import read_csv

    body = storage.open_stream(dataset.source_key)
    try:
        data = body.read(QUALITY_SAMPLE_BYTES + 1)
    finally:
        body.close()
    if len(data) > QUALITY_SAMPLE_BYTES:
        data = data[: data.rfind(b"\n", 0, QUALITY_SAMPLE_BYTES) + 1]
    settings = get_settings()
    return read_csv(data, max_columns=settings.csv_max_columns, max_cells=settings.csv_max_cells)


def _usable_dataset(session: Any, generation: Any) -> Any:
    from app.models import Dataset

    dataset = session.get(Dataset, generation.dataset_id)
    if dataset is None or dataset.status != "ready":
        raise PermanentError("the dataset is no longer available")
    return dataset


def fail(session: Any, generation: Any, reason: str) -> bool:
    """Record a failure (from queued or running) and give back the unused rows."""
    from app import plans
    from app.models import Generation, utcnow

    session.rollback()
    done = session.get(Generation, generation.id)
    rows_done = done.rows_done if done else 0
    if jobs.transition(
        session,
        Generation,
        generation.id,
        ["queued", "running"],
        "failed",
        failure_reason=reason[:500],
        finished_at=utcnow(),
    ):
        plans.release_rows(
            session, generation.account_id, generation.usage_month, generation.rows - rows_done
        )
        session.commit()
        logger.info("generation failed", extra={"generation_id": generation.id, "reason": reason})
        return True
    session.commit()
    return False


def fail_by_id(generation_id: str, reason: str) -> bool:
    from app.db import new_session
    from app.models import Generation

    session = new_session()
    try:
        generation = session.get(Generation, generation_id)
        return generation is not None and fail(session, generation, reason)
    finally:
        session.close()


def record_error(generation_id: str, chunk_index: int | None, error: str) -> None:
    """Remember a transient error (the dead-letter consumer reports the last one)."""
    from sqlalchemy import update

    from app.db import new_session
    from app.models import Generation, GenerationChunk, utcnow

    session = new_session()
    try:
        session.execute(
            update(Generation).where(Generation.id == generation_id).values(last_error=error[:1000])
        )
        if chunk_index is not None:
            session.execute(
                update(GenerationChunk)
                .where(
                    GenerationChunk.generation_id == generation_id,
                    GenerationChunk.chunk_index == chunk_index,
                )
                .values(last_error=error[:1000], updated_at=utcnow())
            )
        session.commit()
    except Exception:  # the database may be what failed; the retry matters more
        logger.warning("could not record the error", extra={"generation_id": generation_id})
    finally:
        session.close()


def send_pending_chunks(session: Any, generation: Any) -> int:
    """Send a GenerateChunk message for every pending chunk (duplicates are harmless)."""
    from sqlalchemy import select

    from app import queue
    from app.messages import FinalizeGeneration, GenerateChunk, JobMessage
    from app.models import GenerationChunk

    pending = session.execute(
        select(GenerationChunk.chunk_index, GenerationChunk.rows)
        .where(GenerationChunk.generation_id == generation.id, GenerationChunk.status == "pending")
        .order_by(GenerationChunk.chunk_index)
    ).all()
    messages: list[JobMessage] = [
        GenerateChunk(generation_id=generation.id, chunk_index=index, rows=rows)
        for index, rows in pending
    ]
    if not messages:
        messages = [FinalizeGeneration(generation_id=generation.id)]
    queue.send_many(messages)
    return len(messages)


def start_generation(generation_id: str) -> None:
    """``queued -> running``, one chunk row per chunk, then the chunk messages."""
    from sqlalchemy import update

    from app.db import new_session
    from app.models import Generation, GenerationChunk, utcnow

    session = new_session()
    try:
        generation = session.get(Generation, generation_id)
        if generation is None:
            logger.warning("generation not found; message acknowledged")
            return
        if generation.status == "queued":
            dataset = _usable_dataset(session, generation)
            load_model(dataset)  # fail now, once, if the model is unusable
            chunks = plan_chunks(generation.rows, chunk_rows_for(dataset.n_columns or 1))
            now = utcnow()
            if not jobs.transition(
                session,
                Generation,
                generation_id,
                "queued",
                "running",
                started_at=now,
                chunk_count=len(chunks),
                chunks_done=0,
            ):
                session.rollback()
                logger.info("generation no longer queued; nothing to do")
                return
            session.add_all(
                GenerationChunk(
                    generation_id=generation_id,
                    chunk_index=index,
                    row_offset=offset,
                    rows=rows,
                    status="pending",
                    part_key=storage.part_key(generation.account_id, generation_id, index),
                    attempts=0,
                    updated_at=now,
                )
                for index, offset, rows in chunks
            )
            session.commit()
            logger.info("generation fanned out", extra={"chunks": len(chunks)})
        elif generation.status != "running" or generation.fanned_out_at is not None:
            logger.info("generation already started; nothing to do")
            return
        sent = send_pending_chunks(session, generation)
        session.execute(
            update(Generation)
            .where(Generation.id == generation_id, Generation.fanned_out_at.is_(None))
            .values(fanned_out_at=utcnow())
        )
        session.commit()
        logger.info("chunk messages sent", extra={"messages": sent})
    finally:
        session.close()


def run_chunk(generation_id: str, index: int) -> None:
    """Generate one chunk exactly once in effect; the last one triggers assembly."""
    from sqlalchemy import select, update

    from app import queue
    from app.db import new_session
    from app.messages import FinalizeGeneration
    from app.models import Generation, GenerationChunk, utcnow

    session = new_session()
    try:
        generation = session.get(Generation, generation_id)
        if generation is None or generation.status != "running":
            logger.info(
                "generation not running; chunk dropped",
                extra={"status": generation.status if generation else None},
            )
            return
        chunk = session.get(GenerationChunk, (generation_id, index))
        if chunk is None:
            logger.warning("unknown chunk; message acknowledged")
            return
        if chunk.status == "done":
            all_done = generation.chunks_done >= (generation.chunk_count or 0)
            if all_done and generation.finalizing_at is None:
                # Maybe the assembly message was lost: send it again (claims dedupe).
                queue.send(FinalizeGeneration(generation_id=generation_id))
            logger.info("chunk already done; duplicate message dropped")
            return
        now = utcnow()
        session.execute(
            update(GenerationChunk)
            .where(
                GenerationChunk.generation_id == generation_id, GenerationChunk.chunk_index == index
            )
            .values(attempts=GenerationChunk.attempts + 1, updated_at=now)
        )
        session.execute(  # heartbeat
            update(Generation)
            .where(Generation.id == generation_id, Generation.status == "running")
            .values(updated_at=now)
        )
        session.commit()
        started = time.perf_counter()
        model = load_model(_usable_dataset(session, generation))
        data = render_chunk(model, generation.seed, index, chunk.row_offset, chunk.rows)
        _pause_for_tests(index, chunk.part_key, data)
        storage.put_bytes(chunk.part_key, data)
        now = utcnow()
        marked = session.execute(
            update(GenerationChunk)
            .where(
                GenerationChunk.generation_id == generation_id,
                GenerationChunk.chunk_index == index,
                GenerationChunk.status == "pending",
            )
            .values(status="done", part_bytes=len(data), last_error=None, updated_at=now)
        )
        if _changed(marked) != 1:
            session.rollback()
            logger.info("chunk finished by another worker; nothing recorded")
            return
        counted = session.execute(
            update(Generation)
            .where(Generation.id == generation_id, Generation.status == "running")
            .values(
                chunks_done=Generation.chunks_done + 1,
                rows_done=Generation.rows_done + chunk.rows,
                progress=(Generation.rows_done + chunk.rows) * 0.95 / Generation.rows,
                updated_at=now,
            )
        )
        if _changed(counted) != 1:
            session.rollback()
            storage.delete_key(chunk.part_key)
            logger.info("generation stopped meanwhile; chunk discarded")
            return
        done, count = session.execute(
            select(Generation.chunks_done, Generation.chunk_count).where(
                Generation.id == generation_id
            )
        ).one()
        session.commit()
        logger.info(
            "chunk done",
            extra={
                "chunk_index": index,
                "rows": chunk.rows,
                "seconds": round(time.perf_counter() - started, 3),
                "chunks_done": done,
                "chunk_count": count,
            },
        )
        if done == count:
            queue.send(FinalizeGeneration(generation_id=generation_id))
    finally:
        session.close()


def finalize_generation(generation_id: str) -> None:
    """Assemble the parts into one CSV (once, under a lease) and finish the job."""
    from sqlalchemy import or_, update

    from app.db import new_session
    from app.models import Generation, utcnow

    settings = get_settings()
    session = new_session()
    try:
        generation = session.get(Generation, generation_id)
        if generation is None or generation.status != "running":
            logger.info("generation not running; assembly skipped")
            return
        if generation.chunk_count is None or generation.chunks_done < generation.chunk_count:
            logger.warning("assembly requested before every chunk is done; ignored")
            return
        claimed_at = utcnow()
        lease_over = claimed_at - timedelta(seconds=settings.finalize_lease_seconds)
        if not jobs.claim(
            session,
            Generation,
            generation_id,
            Generation.status == "running",
            or_(Generation.finalizing_at.is_(None), Generation.finalizing_at < lease_over),
            finalizing_at=claimed_at,
            updated_at=claimed_at,
        ):
            logger.info("assembly already claimed by another worker")
            return
        try:
            _assemble(session, generation)
        except PermanentError:
            raise
        except Exception:
            session.rollback()
            session.execute(  # release the claim so the retry can take it at once
                update(Generation)
                .where(Generation.id == generation_id, Generation.finalizing_at == claimed_at)
                .values(finalizing_at=None)
            )
            session.commit()
            raise
    finally:
        session.close()


def _assemble(session: Any, generation: Any) -> None:
    from sqlalchemy import func, select

    from app import metrics
    from app.models import Generation, GenerationChunk, utcnow
    from app.synth import quality_report, sample

    started = time.perf_counter()
    dataset = _usable_dataset(session, generation)
    model = load_model(dataset)
    parts = session.execute(
        select(GenerationChunk.part_key, GenerationChunk.part_bytes)
        .where(GenerationChunk.generation_id == generation.id)
        .order_by(GenerationChunk.chunk_index)
    ).all()
    sources = [
        (key, size if size is not None else storage.object_size(key) or 0) for key, size in parts
    ]
    key = storage.result_key(generation.account_id, generation.id)
    size = storage.concatenate(key, header_bytes(model), sources)
    quality: dict[str, Any] | None
    try:
        first = sample(model, min(QUALITY_MAX_ROWS, generation.rows), generation.seed, 0)
        quality = quality_report(
            _real_sample(dataset), first, max_rows=QUALITY_MAX_ROWS, seed=generation.seed
        )
    except Exception as exc:  # a report that cannot be computed does not fail the job
        logger.warning("quality report failed", extra={"error_type": type(exc).__name__})
        quality = {"error": f"quality report unavailable: {type(exc).__name__}"}
    now = utcnow()
    if not jobs.transition(
        session,
        Generation,
        generation.id,
        "running",
        "succeeded",
        rows_done=generation.rows,
        progress=1.0,
        finished_at=now,
        expires_at=now + timedelta(days=get_settings().result_ttl_days),
        result_key=key,
        result_bytes=size,
        quality=quality,
    ):
        session.rollback()
        storage.delete_prefix(storage.generation_prefix(generation.account_id, generation.id))
        logger.info("generation cancelled while assembling; objects removed")
        return
    attempts = session.scalar(
        select(func.coalesce(func.sum(GenerationChunk.attempts), 0)).where(
            GenerationChunk.generation_id == generation.id
        )
    )
    session.commit()
    try:
        storage.delete_prefix(
            storage.generation_prefix(generation.account_id, generation.id) + "parts/"
        )
    except Exception as exc:  # maintenance and the lifecycle rule clean up later
        logger.warning("parts not deleted", extra={"error_type": type(exc).__name__})
    chunk_count = len(parts)
    seconds = (now - generation.started_at).total_seconds() if generation.started_at else 0.0
    retries = max(0, int(attempts or 0) - chunk_count)
    metrics.emit(
        {
            "RowsGenerated": (generation.rows, "Count"),
            "GenerationSeconds": (round(seconds, 3), "Seconds"),
            "Chunks": (chunk_count, "Count"),
            "ChunkRetries": (retries, "Count"),
            "ResultBytes": (size, "Bytes"),
            "AssemblySeconds": (round(time.perf_counter() - started, 3), "Seconds"),
        },
        dimensions={"Operation": "Generation"},
        properties={"generation_id": generation.id, "account_id": generation.account_id},
    )
    logger.info(
        "generation succeeded",
        extra={"rows": generation.rows, "chunks": chunk_count, "chunk_retries": retries},
    )
