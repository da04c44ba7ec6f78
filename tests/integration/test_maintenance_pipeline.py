"""The maintenance schedule on a database seeded with stuck, orphaned and expired records:
each is fixed once; a second run changes nothing; two concurrent runs do not double-act."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

from lambda_events import LambdaApi, ready_dataset

EXPECTED = {
    "generations_resent": 2,  # queued never sent; running never fanned out
    "datasets_resent": 1,
    "generations_requeued": 1,
    "generations_timed_out": 1,
    "results_purged": 1,
    "generation_objects_purged": 1,
    "dataset_objects_purged": 1,
    "uploads_abandoned": 1,
    "usage_rows_dropped": 1,
}


def _seed(api: LambdaApi, worker: Any) -> dict[str, str]:
    """One record per housekeeping case, all old enough to be acted on."""
    from app import storage
    from app.db import new_session
    from app.maintenance import MAX_REQUEUES
    from app.models import Dataset, Generation, GenerationChunk, Usage, new_id, utcnow

    dataset = ready_dataset(api, worker)
    account = api.get("/me").json()["account"]["id"]
    old = utcnow() - timedelta(days=2)
    ids: dict[str, str] = {}

    def generation(name: str, **values: Any) -> Generation:
        fields: dict[str, Any] = {
            "status": "queued",
            "rows": 200,
            "seed": 1,
            "rows_done": 0,
            "progress": 0.0,
            "usage_month": old.strftime("%Y-%m"),
            "created_at": old,
            "updated_at": old,
        }
        row = Generation(
            id=new_id("gen"),
            account_id=account,
            dataset_id=dataset["id"],
            **{
                **fields,
                **values,
            },
        )
        ids[name] = row.id
        return row

    def ds(name: str, status: str, **values: Any) -> Dataset:
        dataset_id = new_id("ds")
        ids[name] = dataset_id
        return Dataset(
            id=dataset_id,
            account_id=account,
            name=name,
            filename=f"{name}.csv",
            status=status,
            source_key=storage.source_key(account, dataset_id),
            created_at=old,
            updated_at=old,
            **values,
        )

    with new_session() as session:
        rows: list[Any] = [
            generation("unsent"),
            generation(
                "stuck",
                status="running",
                chunk_count=2,
                chunks_done=1,
                rows_done=100,
                fanned_out_at=old,
                started_at=old,
            ),
            generation(
                "hopeless",
                status="running",
                chunk_count=1,
                fanned_out_at=old,
                started_at=old,
                requeues=MAX_REQUEUES,
            ),
            generation("unfanned", status="running", chunk_count=1, started_at=old),
            generation(
                "expired",
                status="succeeded",
                rows_done=200,
                result_key="set below",
                expires_at=old,
                finished_at=old,
            ),
            generation("failed_with_parts", status="failed", finished_at=old),
            ds("deleted_dataset", "deleted"),
            ds("abandoned_upload", "uploading"),
            ds("unsent_dataset", "processing"),
            Usage(account_id=account, month="2020-01", rows_generated=5),
        ]
        session.add_all(rows)
        session.flush()
        for index in range(2):
            session.add(
                GenerationChunk(
                    generation_id=ids["stuck"],
                    chunk_index=index,
                    row_offset=index * 100,
                    rows=100,
                    status="done" if index == 0 else "pending",
                    part_key=storage.part_key(account, ids["stuck"], index),
                    attempts=1,
                    updated_at=old,
                )
            )
        expired = session.get(Generation, ids["expired"])
        assert expired is not None
        expired.result_key = storage.result_key(account, ids["expired"])
        session.commit()
    storage.put_bytes(storage.result_key(account, ids["expired"]), b"a\n1\n")
    storage.put_bytes(storage.part_key(account, ids["failed_with_parts"], 0), b"1\n")
    storage.put_bytes(storage.source_key(account, ids["deleted_dataset"]), b"a\n1\n")
    storage.put_bytes(storage.source_key(account, ids["abandoned_upload"]), b"a\n1\n")
    ids["account"] = account
    return ids


def _drain(url: str) -> list[dict[str, Any]]:
    from app.aws import client

    sqs = client("sqs")
    bodies: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def _expected_messages(ids: dict[str, str]) -> list[tuple[str, str]]:
    return sorted(
        [
            ("start_generation", ids["unsent"]),
            ("start_generation", ids["unfanned"]),
            ("generate_chunk", ids["stuck"]),  # only its pending chunk (index 1)
            ("profile_dataset", ids["unsent_dataset"]),
        ]
    )


def _kinds(bodies: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((b["kind"], b.get("generation_id") or b.get("dataset_id", "")) for b in bodies)


def _check_fixed(api: LambdaApi, ids: dict[str, str], s3_keys: Any) -> None:
    from app.db import new_session
    from app.models import Dataset, Generation

    with new_session() as session:

        def status(model: Any, name: str) -> str:
            return str(session.get(model, ids[name]).status)

        assert status(Generation, "hopeless") == "failed"
        assert "stopped reporting progress" in str(
            session.get(Generation, ids["hopeless"]).failure_reason
        )
        stuck = session.get(Generation, ids["stuck"])
        assert stuck.status == "running" and stuck.requeues == 1
        assert status(Generation, "unsent") == "queued"
        assert session.get(Generation, ids["unsent"]).message_sent_at is not None
        assert session.get(Generation, ids["expired"]).result_key is None
        assert status(Dataset, "abandoned_upload") == "deleted"
    account = ids["account"]
    assert not s3_keys(f"generations/{account}/{ids['expired']}/")
    assert not s3_keys(f"generations/{account}/{ids['failed_with_parts']}/")
    assert not s3_keys(f"accounts/{account}/datasets/{ids['deleted_dataset']}/")
    assert not s3_keys(f"accounts/{account}/datasets/{ids['abandoned_upload']}/")


def test_maintenance_fixes_each_record_once_and_a_second_run_changes_nothing(
    api: LambdaApi, worker: Any, app_env: Any, s3_keys: Any
) -> None:
    from workers.maintenance import handler

    ids = _seed(api, worker)
    assert handler({}, None) == EXPECTED
    _check_fixed(api, ids, s3_keys)
    assert _kinds(_drain(app_env.jobs_url)) == _expected_messages(ids)
    second = handler({}, None)
    assert set(second.values()) == {0}, second
    assert _drain(app_env.jobs_url) == []


def test_two_concurrent_maintenance_runs_do_not_double_act(
    api: LambdaApi, worker: Any, app_env: Any, s3_keys: Any
) -> None:
    from app.maintenance import run_maintenance

    ids = _seed(api, worker)
    barrier = threading.Barrier(2)
    summaries: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=10)
            summaries.append(run_maintenance())
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    combined = {key: sum(s[key] for s in summaries) for key in EXPECTED}
    assert combined == EXPECTED  # each record acted on by exactly one of the two runs
    _check_fixed(api, ids, s3_keys)
    assert _kinds(_drain(app_env.jobs_url)) == _expected_messages(ids)  # no double sends
