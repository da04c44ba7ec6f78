"""Generations through the Lambda handler: validation, quotas, worker, download, cancel."""

from __future__ import annotations

import csv
import io
from urllib.parse import urlparse

import httpx
import pytest
from lambda_events import CSV_SMALL, LambdaApi


@pytest.fixture
def ready(api: LambdaApi, worker) -> dict:
    api.register()
    r = api.upload(CSV_SMALL)
    assert r.status == 201, r.body
    worker.run()
    dataset = api.get(f"/datasets/{r.json()['id']}").json()
    assert dataset["status"] == "ready", dataset
    return dataset


def test_generation_runs_to_success_and_downloads(
    api: LambdaApi, worker, ready: dict, s3_keys, monkeypatch
) -> None:
    from app.settings import get_settings

    monkeypatch.setenv("SYNTHOS_GENERATION_CHUNK_ROWS", "400")  # several chunks
    get_settings.cache_clear()
    r = api.post(f"/datasets/{ready['id']}/generations", json_body={"rows": 1000, "seed": 7})
    assert r.status == 202, r.body
    job = r.json()
    assert job["status"] == "queued" and job["rows"] == 1000 and job["seed"] == 7
    assert r.headers["location"] == f"/api/v1/generations/{job['id']}"
    assert job["download_url"] is None
    assert api.get("/me").json()["usage"]["rows_generated"] == 1000

    worker.run()
    done = api.get(f"/generations/{job['id']}").json()
    assert done["status"] == "succeeded", done
    assert done["progress"] == 1.0 and done["rows_done"] == 1000
    assert 0 < done["quality"]["overall"] <= 1
    assert done["result_bytes"] > 0 and done["expires_at"] is not None
    account = api.get("/me").json()["account"]["id"]
    assert s3_keys(f"generations/{account}/") == [f"generations/{account}/{job['id']}/result.csv"]

    link = urlparse(done["download_url"])
    assert link.hostname == "127.0.0.1" and "X-Amz-Signature" in link.query
    content = httpx.get(done["download_url"]).content
    rows = list(csv.reader(io.StringIO(content.decode())))
    assert rows[0] == ["id", "age", "city", "income", "signup"]
    assert len(rows) == 1001 and len(content) == done["result_bytes"]

    redirect = api.get(f"/generations/{job['id']}/download")
    assert redirect.status == 307
    assert httpx.get(redirect.headers["location"]).content == content

    monkeypatch.setenv("SYNTHOS_LOCAL_MODE", "true")
    get_settings.cache_clear()
    streamed = api.get(f"/generations/{job['id']}/download")
    assert streamed.status == 200 and streamed.body == content
    assert streamed.headers["content-type"].startswith("text/csv")

    listed = api.get("/generations", query={"dataset_id": ready["id"]}).json()["items"]
    assert [g["id"] for g in listed] == [job["id"]]
    assert api.get("/generations", query={"status": "failed"}).json()["items"] == []


def test_same_seed_gives_the_same_file(api: LambdaApi, worker, ready: dict) -> None:
    files = []
    for _ in range(2):
        job = api.post(f"/datasets/{ready['id']}/generations", json_body={"rows": 50, "seed": 3})
        worker.run()
        detail = api.get(f"/generations/{job.json()['id']}").json()
        files.append(httpx.get(detail["download_url"]).content)
    assert files[0] == files[1]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"rows": 0}, 422, "invalid_input"),
        ({"rows": -5}, 422, "invalid_input"),
        ({"rows": 100_000_001}, 422, "invalid_input"),
        ({"rows": "many"}, 422, "invalid_input"),
        ({"rows": 10, "seed": -1}, 422, "invalid_input"),
        ({}, 422, "invalid_input"),
        ({"rows": 100_001}, 403, "plan_limit_exceeded"),
    ],
)
def test_invalid_requests_are_rejected_and_record_nothing(
    api: LambdaApi, ready: dict, row_counts, body: dict, status: int, code: str
) -> None:
    r = api.post(f"/datasets/{ready['id']}/generations", json_body=body)
    assert r.status == status, r.body
    assert r.error["code"] == code
    assert row_counts()["generations"] == 0
    assert api.get("/me").json()["usage"]["rows_generated"] == 0


def test_dataset_must_be_ready(api: LambdaApi, row_counts) -> None:
    api.register()
    dataset = api.upload(CSV_SMALL).json()  # processing: no worker has run
    r = api.post(f"/datasets/{dataset['id']}/generations", json_body={"rows": 10})
    assert r.status == 409 and r.error["code"] == "dataset_not_ready"
    assert r.error["details"]["status"] == "processing"
    assert row_counts()["generations"] == 0


def test_monthly_quota_gives_429_with_limit_and_use(api: LambdaApi, ready: dict) -> None:
    from sqlalchemy import update

    from app.db import new_session
    from app.models import Usage

    assert api.post(f"/datasets/{ready['id']}/generations", json_body={"rows": 100}).status == 202
    with new_session() as session:
        session.execute(update(Usage).values(rows_generated=999_950))
        session.commit()
    r = api.post(f"/datasets/{ready['id']}/generations", json_body={"rows": 51})
    assert r.status == 429, r.body
    assert r.error["code"] == "quota_exceeded"
    assert r.error["details"] == {
        "plan": "free",
        "limit_name": "rows_per_month",
        "limit": 1_000_000,
        "used": 999_950,
        "requested": 51,
    }
    assert api.post(f"/datasets/{ready['id']}/generations", json_body={"rows": 50}).status == 202
    usage = api.get("/me").json()["usage"]
    assert usage["rows_generated"] == 1_000_000 and usage["rows_remaining"] == 0


def test_cancel_queued_then_delete(api: LambdaApi, worker, ready: dict, s3_keys) -> None:
    job = api.post(f"/datasets/{ready['id']}/generations", json_body={"rows": 500}).json()
    cancelled = api.delete(f"/generations/{job['id']}")
    assert cancelled.status == 200, cancelled.body
    assert cancelled.json()["status"] == "cancelled"
    assert api.get("/me").json()["usage"]["rows_generated"] == 0
    worker.run()  # the queued message finds the job cancelled and does nothing
    assert api.get(f"/generations/{job['id']}").json()["status"] == "cancelled"
    assert api.get(f"/generations/{job['id']}/download").status == 409
    assert api.delete(f"/generations/{job['id']}").status == 204
    assert api.get(f"/generations/{job['id']}").status == 404
    assert not [k for k in s3_keys() if "/generations/" in k]


def test_delete_succeeded_generation_removes_its_files(
    api: LambdaApi, worker, ready: dict, s3_keys
) -> None:
    job = api.post(f"/datasets/{ready['id']}/generations", json_body={"rows": 20}).json()
    worker.run()
    assert any(job["id"] in k for k in s3_keys())
    assert api.delete(f"/generations/{job['id']}").status == 204
    assert not any(job["id"] in k for k in s3_keys())
    assert api.get(f"/generations/{job['id']}/download").status == 404


def test_unsent_message_is_recovered_by_maintenance(
    api: LambdaApi, worker, ready: dict, monkeypatch
) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from app import queue
    from app.db import new_session
    from app.maintenance import run_maintenance
    from app.models import Generation, utcnow

    def broken_send(*args, **kwargs):
        raise ConnectionError("SQS is unreachable")

    monkeypatch.setattr(queue, "send", broken_send)
    r = api.post(f"/datasets/{ready['id']}/generations", json_body={"rows": 30})
    assert r.status == 202, r.body  # the job is recorded even though the send failed
    job_id = r.json()["id"]
    monkeypatch.undo()
    assert worker.run() == 0
    assert run_maintenance()["generations_resent"] == 0  # within the grace period
    with new_session() as session:
        row = session.get(Generation, job_id)
        assert row.status == "queued" and row.message_sent_at is None
        session.execute(update(Generation).values(created_at=utcnow() - timedelta(minutes=5)))
        session.commit()
    assert run_maintenance()["generations_resent"] == 1
    assert run_maintenance()["generations_resent"] == 0
    worker.run()
    assert api.get(f"/generations/{job_id}").json()["status"] == "succeeded"


def test_deleting_the_dataset_cancels_its_queued_generations(
    api: LambdaApi, worker, ready: dict
) -> None:
    job = api.post(f"/datasets/{ready['id']}/generations", json_body={"rows": 40}).json()
    assert api.delete(f"/datasets/{ready['id']}").status == 204
    assert api.get(f"/generations/{job['id']}").json()["status"] == "cancelled"
    assert api.get("/me").json()["usage"]["rows_generated"] == 0
    worker.run()
    assert api.get(f"/generations/{job['id']}").json()["status"] == "cancelled"
