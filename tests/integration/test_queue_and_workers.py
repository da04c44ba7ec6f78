"""Worker side over the emulator: redelivery, dead letters, failure states, maintenance."""

from __future__ import annotations

import time
from datetime import timedelta

from lambda_events import CSV_SMALL, LambdaApi
from sqlalchemy import update


def _ready_dataset(api: LambdaApi, worker) -> dict:
    api.register()
    dataset = api.upload(CSV_SMALL).json()
    worker.run()
    return api.get(f"/datasets/{dataset['id']}").json()


def test_failing_message_is_redelivered_then_dead_lettered(
    api: LambdaApi, worker, monkeypatch
) -> None:
    from app import generation
    from tests.conftest import MAX_RECEIVES, VISIBILITY_TIMEOUT

    dataset = _ready_dataset(api, worker)
    attempts = []

    def crash(generation_id: str) -> None:
        attempts.append(generation_id)
        raise RuntimeError("worker crashed")

    monkeypatch.setattr(generation, "start_generation", crash)
    job = api.post(f"/datasets/{dataset['id']}/generations", json_body={"rows": 10}).json()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        worker.run()
        if api.get(f"/generations/{job['id']}").json()["status"] == "failed":
            break
        time.sleep(VISIBILITY_TIMEOUT / 2)
    failed = api.get(f"/generations/{job['id']}").json()
    assert failed["status"] == "failed", failed
    # The DLQ record's receive count includes the DLQ receive itself (max + 1), which
    # workers/dead_letter.py reports as attempts; the worker really ran MAX_RECEIVES times.
    assert failed["failure_reason"].startswith("Generation failed: gave up after ")
    assert len(attempts) == MAX_RECEIVES
    assert api.get("/me").json()["usage"]["rows_generated"] == 0  # rows given back


def test_malformed_and_unknown_messages(app_env, worker, caplog) -> None:
    from app.aws import client
    from workers import jobs

    sqs = client("sqs")
    sqs.send_message(QueueUrl=app_env.jobs_url, MessageBody='{"kind": "nope"}')
    sqs.send_message(
        QueueUrl=app_env.jobs_url,
        MessageBody='{"kind": "start_generation", "generation_id": "gen_unknown"}',
    )
    from local_stack.poller import poll_once

    received, failed = poll_once(
        sqs, app_env.jobs_url, app_env.jobs_arn, "us-east-1", jobs.handler, wait_seconds=0
    )
    assert (received, failed) == (2, 1)  # unknown id acknowledged, malformed failed


def test_generation_without_a_model_fails_with_a_reason(api: LambdaApi, worker) -> None:
    from app.db import new_session
    from app.models import Dataset

    dataset = _ready_dataset(api, worker)
    with new_session() as session:
        session.execute(update(Dataset).values(model_key="accounts/x/missing-model"))
        session.commit()
    job = api.post(f"/datasets/{dataset['id']}/generations", json_body={"rows": 10}).json()
    worker.run()
    failed = api.get(f"/generations/{job['id']}").json()
    assert failed["status"] == "failed" and "NoSuchKey" in failed["failure_reason"]
    assert api.get("/me").json()["usage"]["rows_generated"] == 0


def test_maintenance_reaps_stuck_jobs_purges_results_and_abandoned_uploads(
    api: LambdaApi, worker, s3_keys
) -> None:
    from app.db import new_session
    from app.maintenance import run_maintenance
    from app.models import Dataset, Generation, utcnow
    from workers.maintenance import handler

    dataset = _ready_dataset(api, worker)
    done = api.post(f"/datasets/{dataset['id']}/generations", json_body={"rows": 10}).json()
    worker.run()
    stuck = api.post(f"/datasets/{dataset['id']}/generations", json_body={"rows": 10}).json()
    upload = api.post("/datasets/uploads", json_body={"filename": "u.csv", "size_bytes": 9}).json()
    long_ago = utcnow() - timedelta(days=2)
    with new_session() as session:
        session.execute(
            update(Generation)
            .where(Generation.id == stuck["id"])
            .values(status="running", updated_at=long_ago)
        )
        session.execute(
            update(Generation).where(Generation.id == done["id"]).values(expires_at=long_ago)
        )
        session.execute(
            update(Dataset).where(Dataset.id == upload["dataset"]["id"]).values(created_at=long_ago)
        )
        session.commit()
    summary = handler({}, None)
    assert summary == {
        "generations_resent": 0,
        "datasets_resent": 0,
        "generations_requeued": 0,
        "generations_timed_out": 1,  # never fanned out: nothing to re-queue
        "results_purged": 1,
        "generation_objects_purged": 0,
        "dataset_objects_purged": 0,
        "uploads_abandoned": 1,
        "usage_rows_dropped": 0,
    }
    assert api.get(f"/generations/{stuck['id']}").json()["status"] == "failed"
    gone = api.get(f"/generations/{done['id']}/download")
    assert gone.status == 410 and gone.error["code"] == "expired"
    assert not [k for k in s3_keys() if "/generations/" in k]
    assert api.get(f"/datasets/{upload['dataset']['id']}").status == 404
    assert set(run_maintenance().values()) == {0}
