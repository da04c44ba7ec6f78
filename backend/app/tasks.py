"""What a worker does with each job message.

Unknown or deleted ids are acknowledged with a warning (a message can outlive
its row); a redelivered message finds its row already moved on and does
nothing (every state change is conditional, see app.jobs).
"""

from __future__ import annotations

import logging

from app.messages import (
    FinalizeGeneration,
    GenerateChunk,
    JobMessage,
    ProfileDataset,
    StartGeneration,
)

logger = logging.getLogger("synthos.tasks")


def run_task(message: JobMessage) -> None:
    """Carry out one validated message; raising makes SQS redeliver it."""
    logger.info("task received", extra={"kind": message.kind})
    if isinstance(message, ProfileDataset):
        profile_dataset(message.dataset_id)
    elif isinstance(message, StartGeneration):
        from app.generation import run_generation

        run_generation(message.generation_id)
    elif isinstance(message, GenerateChunk | FinalizeGeneration):
        # The single-worker loop (app.generation.run_generation) does chunks and the
        # final assembly itself; fan-out messages arrive with the job pipeline.
        logger.warning(
            "fan-out message not handled yet; acknowledged",
            extra={"kind": message.kind, "generation_id": message.generation_id},
        )


def profile_dataset(dataset_id: str) -> None:
    """Validate, profile and fit an uploaded dataset: ``processing -> ready | failed``."""
    from app import jobs, storage
    from app.db import new_session
    from app.models import Dataset
    from app.settings import get_settings

    session = new_session()
    try:
        dataset = session.get(Dataset, dataset_id)
        if dataset is None or dataset.status == "deleted":
            logger.warning(
                "dataset not found or deleted; message acknowledged",
                extra={"dataset_id": dataset_id},
            )
            return
        if dataset.status != "processing":
            logger.info(
                "dataset not processing; nothing to do",
                extra={"dataset_id": dataset_id, "status": dataset.status},
            )
            return

        def fail(reason: str) -> None:
            jobs.transition(
                session, Dataset, dataset_id, "processing", "failed", failure_reason=reason[:1000]
            )
            session.commit()
            logger.info("dataset failed", extra={"dataset_id": dataset_id, "reason": reason})

        if storage.object_size(dataset.source_key) is None:
            fail("The uploaded file is missing.")
            return
        from app.synth import CsvError, fit, profile_table, read_csv

        settings = get_settings()
        data = storage.get_bytes(dataset.source_key)
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
        key = storage.model_key(dataset.account_id, dataset_id, "json.z")
        storage.put_bytes(key, model.to_bytes(), content_type="application/octet-stream")
        if jobs.transition(
            session,
            Dataset,
            dataset_id,
            "processing",
            "ready",
            profile=profile,
            n_rows=table.n_rows,
            n_columns=table.n_columns,
            model_key=key,
        ):
            session.commit()
            logger.info("dataset ready", extra={"dataset_id": dataset_id})
        else:  # deleted meanwhile
            session.rollback()
            storage.delete_key(key)
    finally:
        session.close()


def give_up(body: str, *, reason: str) -> None:
    """A message reached the dead-letter queue: its job ends as failed, with the reason."""
    from app.messages import MalformedMessage, parse_message

    try:
        message = parse_message(body)
    except MalformedMessage as exc:
        logger.error(
            "malformed message dead-lettered",
            extra={"reason": reason, "error": str(exc), "body_bytes": len(body)},
        )
        return
    logger.error("message dead-lettered", extra={"reason": reason, "kind": message.kind})
    from app import jobs
    from app.db import new_session
    from app.models import Dataset, Generation

    session = new_session()
    try:
        if isinstance(message, ProfileDataset):
            jobs.transition(
                session,
                Dataset,
                message.dataset_id,
                ["uploading", "processing"],
                "failed",
                failure_reason=f"Processing failed: {reason}.",
            )
            session.commit()
            return
        generation = session.get(Generation, message.generation_id)
        if generation is not None:
            from app.generation import fail

            fail(session, generation, f"Generation failed: {reason}.")
    finally:
        session.close()
