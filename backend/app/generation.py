"""Generating a job's rows: chunks written as parts, then one result file.

The boundaries are the ones the job pipeline fans out over: :func:`generate_chunk`
is one chunk (idempotent by generation, chunk index and seed: re-running it
writes the same bytes to the same key) and :func:`finalize` assembles the parts
and scores quality. :func:`run_generation` is the single-worker loop used until
chunks are separate queue messages.
"""

from __future__ import annotations

import io
import logging
import tempfile
from datetime import timedelta
from typing import Any

from app import jobs, storage
from app.settings import get_settings

logger = logging.getLogger("synthos.generation")

QUALITY_SAMPLE_BYTES = 5_000_000  # of the source, for the quality report
QUALITY_MAX_ROWS = 5_000


def plan_chunks(rows: int, chunk_rows: int) -> list[tuple[int, int, int]]:
    """``(index, row_offset, rows)`` of each chunk."""
    return [
        (i, start, min(chunk_rows, rows - start))
        for i, start in enumerate(range(0, rows, chunk_rows))
    ]


def load_model(dataset: Any) -> Any:
    from app.synth import SynthModel

    if not dataset.model_key:
        raise RuntimeError("the dataset has no fitted model")
    return SynthModel.from_bytes(storage.get_bytes(dataset.model_key))


def generate_chunk(
    account_id: str,
    generation_id: str,
    model: Any,
    seed: int,
    index: int,
    offset: int,
    rows: int,
) -> Any:
    """Sample one chunk and store it as a header-less CSV part; returns the sample."""
    from app.synth import sample, write_csv

    part = sample(model, rows, seed, index, row_offset=offset)
    buffer = io.BytesIO()
    write_csv(part, buffer, header=False)
    storage.put_bytes(storage.part_key(account_id, generation_id, index), buffer.getvalue())
    return part


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


def finalize(
    generation: Any, dataset: Any, model: Any, n_chunks: int, first: Any
) -> dict[str, Any]:
    """Concatenate the parts under one header into ``result.csv``; score quality.

    Returns the columns to set on the generation row.
    """
    from app.synth import Table, quality_report, write_csv

    key = storage.result_key(generation.account_id, generation.id)
    with tempfile.TemporaryFile() as out:
        write_csv(Table(model.names, [[] for _ in model.names]), out, header=True)
        for index in range(n_chunks):
            for chunk in storage.iter_chunks(
                storage.part_key(generation.account_id, generation.id, index)
            ):
                out.write(chunk)
        size = out.tell()
        out.seek(0)
        storage.upload_file(key, out)
    storage.delete_prefix(
        storage.generation_prefix(generation.account_id, generation.id) + "parts/"
    )
    quality: dict[str, Any] | None
    try:
        quality = quality_report(
            _real_sample(dataset), first, max_rows=QUALITY_MAX_ROWS, seed=generation.seed
        )
    except Exception as exc:  # a report that cannot be computed does not fail the job
        logger.warning("quality report failed", extra={"error_type": type(exc).__name__})
        quality = {"error": f"quality report unavailable: {type(exc).__name__}"}
    return {"result_key": key, "result_bytes": size, "quality": quality}


def _status(session: Any, generation_id: str) -> str | None:
    from sqlalchemy import select

    from app.models import Generation

    return session.scalar(select(Generation.status).where(Generation.id == generation_id))


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
        return True
    session.commit()
    return False


def run_generation(generation_id: str) -> None:
    """Carry a queued generation to a terminal state (or stop if cancelled)."""
    from sqlalchemy import update

    from app.db import new_session
    from app.models import Dataset, Generation, utcnow

    session = new_session()
    try:
        generation = session.get(Generation, generation_id)
        if generation is None:
            logger.warning(
                "generation not found; message acknowledged", extra={"generation_id": generation_id}
            )
            return
        if not jobs.transition(
            session, Generation, generation_id, "queued", "running", started_at=utcnow()
        ):
            session.rollback()
            logger.info(
                "generation not queued; nothing to do",
                extra={"generation_id": generation_id, "status": generation.status},
            )
            return
        session.commit()
        try:
            dataset = session.get(Dataset, generation.dataset_id)
            if dataset is None or dataset.status != "ready":
                raise RuntimeError("the dataset is no longer available")
            model = load_model(dataset)
            chunks = plan_chunks(generation.rows, get_settings().generation_chunk_rows)
            first = None
            for index, offset, rows in chunks:
                if _status(session, generation_id) != "running":
                    logger.info(
                        "generation stopped (cancelled)", extra={"generation_id": generation_id}
                    )
                    storage.delete_prefix(
                        storage.generation_prefix(generation.account_id, generation_id)
                    )
                    return
                part = generate_chunk(
                    generation.account_id,
                    generation_id,
                    model,
                    generation.seed,
                    index,
                    offset,
                    rows,
                )
                if first is None:
                    first = part
                done = offset + rows
                session.execute(
                    update(Generation)
                    .where(Generation.id == generation_id, Generation.status == "running")
                    .values(
                        rows_done=done,
                        progress=round(done / generation.rows * 0.95, 4),
                        updated_at=utcnow(),
                    )
                )
                session.commit()
            result = finalize(generation, dataset, model, len(chunks), first)
            ttl = timedelta(days=get_settings().result_ttl_days)
            now = utcnow()
            if not jobs.transition(
                session,
                Generation,
                generation_id,
                "running",
                "succeeded",
                rows_done=generation.rows,
                progress=1.0,
                finished_at=now,
                expires_at=now + ttl,
                **result,
            ):
                session.rollback()
                storage.delete_prefix(
                    storage.generation_prefix(generation.account_id, generation_id)
                )
                logger.info(
                    "generation cancelled while finishing", extra={"generation_id": generation_id}
                )
                return
            session.commit()
            logger.info(
                "generation succeeded",
                extra={"generation_id": generation_id, "rows": generation.rows},
            )
        except Exception as exc:
            logger.exception("generation failed", extra={"generation_id": generation_id})
            fail(session, generation, f"{type(exc).__name__}: {exc}")
    finally:
        session.close()
