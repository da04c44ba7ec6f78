"""The pipeline survives crashes and outages: a SIGKILLed worker, a database that goes
away during chunks, S3 errors during assembly. Each job ends succeeded with exactly
the requested rows, or failed with a clear reason after the receive limit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from lambda_events import (
    LambdaApi,
    chunk_rows,
    expected_result,
    generation_row,
    job_status,
    queue_depth,
    ready_dataset,
    result_bytes,
    run_until,
)

from tests.conftest import MAX_RECEIVES, ROOT, VISIBILITY_TIMEOUT, free_port, reset_app_state


def _parts(s3_keys: Any, job: dict[str, Any]) -> list[str]:
    return [k for k in s3_keys("generations/") if f"/{job['id']}/parts/" in k]


def test_worker_killed_mid_chunk_is_redelivered_and_the_job_completes_exactly(
    api: LambdaApi, worker: Any, app_env: Any, s3_keys: Any, monkeypatch: Any, tmp_path: Path
) -> None:
    from app import storage

    monkeypatch.setenv("SYNTHOS_GENERATION_CHUNK_ROWS", "300")
    reset_app_state()
    dataset = ready_dataset(api, worker)
    job = api.post(f"/datasets/{dataset['id']}/generations", json_body={"rows": 1000, "seed": 5})
    assert job.status == 202, job.body
    job_id = job.json()["id"]
    account = generation_row(job_id).account_id
    torn_key = storage.part_key(account, job_id, 1)

    env = dict(os.environ)
    env["SYNTHOS_TEST_CHUNK_PAUSE"] = "1:120"  # write half of chunk 1, then hang
    env["PYTHONPATH"] = str(ROOT / "backend")
    log = (tmp_path / "worker.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "local_stack.worker_process", app_env.jobs_url, app_env.jobs_arn],
        cwd=ROOT / "backend",
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while torn_key not in s3_keys(torn_key) and time.monotonic() < deadline:
            assert process.poll() is None, (tmp_path / "worker.log").read_text()
            time.sleep(0.1)
        assert torn_key in s3_keys(torn_key), (tmp_path / "worker.log").read_text()
        time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        log.close()
    assert process.returncode == -signal.SIGKILL

    # The killed worker left a torn part and a running job; nothing acknowledged chunk 1.
    chunks = chunk_rows(job_id)
    assert [c.status for c in chunks][:2] == ["done", "pending"]
    assert chunks[1].attempts == 1
    torn = storage.get_bytes(torn_key)
    assert job_status(api, job_id) == "running"

    time.sleep(VISIBILITY_TIMEOUT + 0.5)  # the messages it held become visible again
    run_until(worker, lambda: job_status(api, job_id) in ("succeeded", "failed"))
    done = api.get(f"/generations/{job_id}").json()
    assert done["status"] == "succeeded", done
    assert done["rows_done"] == 1000 and done["progress"] == 1.0

    content = result_bytes(job_id)
    assert content == expected_result(job_id)  # every chunk exactly once, in order
    lines = content.decode().splitlines()
    assert len(lines) == 1001  # header + exactly the requested rows
    assert 0 < len(torn) < len(content)
    assert not _parts(s3_keys, done)  # no orphan parts
    chunks = chunk_rows(job_id)
    assert all(c.status == "done" for c in chunks) and chunks[1].attempts == 2
    assert generation_row(job_id).chunks_done == len(chunks) == 4


def _dead_database_url(db_url: str, tmp_path: Path) -> str:
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'no-such-dir' / 'gone.db'}"
    return f"postgresql+pg8000://postgres@127.0.0.1:{free_port()}/gone"


def _database(monkeypatch: Any, url: str) -> None:
    monkeypatch.setenv("SYNTHOS_DATABASE_URL", url)
    reset_app_state()


def _fan_out(app_env: Any) -> None:
    """Run just the StartGeneration message (one batch)."""
    from local_stack.poller import poll_once

    from app.aws import client
    from workers import jobs

    received, failed = poll_once(
        client("sqs"), app_env.jobs_url, app_env.jobs_arn, "us-east-1", jobs.handler, 0
    )
    assert (received, failed) == (1, 0)


def test_database_outage_during_chunks_recovers_when_it_returns(
    api: LambdaApi, worker: Any, app_env: Any, db_url: str, monkeypatch: Any, tmp_path: Path
) -> None:
    from local_stack.poller import poll_once

    from app.aws import client
    from workers import jobs

    monkeypatch.setenv("SYNTHOS_GENERATION_CHUNK_ROWS", "200")
    reset_app_state()
    dataset = ready_dataset(api, worker)
    job_id = api.post(f"/datasets/{dataset['id']}/generations", json_body={"rows": 400}).json()[
        "id"
    ]
    _fan_out(app_env)

    _database(monkeypatch, _dead_database_url(db_url, tmp_path))
    received, failed = poll_once(
        client("sqs"), app_env.jobs_url, app_env.jobs_arn, "us-east-1", jobs.handler, 0
    )
    assert received == failed == 2  # both chunks failed (transient), none lost

    _database(monkeypatch, db_url)
    run_until(worker, lambda: job_status(api, job_id) in ("succeeded", "failed"))
    assert job_status(api, job_id) == "succeeded"
    assert result_bytes(job_id) == expected_result(job_id)
    assert len(result_bytes(job_id).splitlines()) == 401


def test_database_down_past_the_receive_limit_fails_the_job_with_the_reason(
    api: LambdaApi, worker: Any, app_env: Any, db_url: str, monkeypatch: Any, tmp_path: Path
) -> None:
    monkeypatch.setenv("SYNTHOS_GENERATION_CHUNK_ROWS", "200")
    reset_app_state()
    dataset = ready_dataset(api, worker)
    job_id = api.post(f"/datasets/{dataset['id']}/generations", json_body={"rows": 400}).json()[
        "id"
    ]
    _fan_out(app_env)

    _database(monkeypatch, _dead_database_url(db_url, tmp_path))
    deadline = time.monotonic() + 30
    while queue_depth(app_env.dlq_url) < 2 and time.monotonic() < deadline:
        worker.run(dead_letters=False)
        time.sleep(0.5)
    assert queue_depth(app_env.dlq_url) == 2  # both chunks gave up after the limit

    _database(monkeypatch, db_url)
    worker.run()  # the dead-letter consumer, with the database back
    failed = api.get(f"/generations/{job_id}").json()
    assert failed["status"] == "failed", failed
    assert failed["failure_reason"].startswith(
        f"Generation failed: gave up after {MAX_RECEIVES} attempts"
    ), failed
    assert "could not be recorded" in failed["failure_reason"]
    assert api.get("/me").json()["usage"]["rows_generated"] == 0
    assert queue_depth(app_env.jobs_url) == queue_depth(app_env.dlq_url) == 0


class _FailingCompletes:
    """Make CompleteMultipartUpload fail with S3 throttling ``times`` times."""

    def __init__(self, s3: Any, times: int) -> None:
        self.original = s3.complete_multipart_upload
        self.times = times
        self.calls = 0

    def __call__(self, **kwargs: Any) -> Any:
        from botocore.exceptions import ClientError

        self.calls += 1
        if self.calls <= self.times:
            raise ClientError(
                {"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."}},
                "CompleteMultipartUpload",
            )
        return self.original(**kwargs)


def _multipart_uploads() -> list[Any]:
    from app.aws import client
    from tests.conftest import BUCKET

    return list(client("s3").list_multipart_uploads(Bucket=BUCKET).get("Uploads", []))


@pytest.mark.parametrize("outage", ["brief", "lasting"])
def test_s3_errors_during_assembly(
    api: LambdaApi, worker: Any, s3_keys: Any, monkeypatch: Any, outage: str
) -> None:
    from app.aws import client

    monkeypatch.setenv("SYNTHOS_GENERATION_CHUNK_ROWS", "150")
    reset_app_state()
    dataset = ready_dataset(api, worker)
    s3 = client("s3")
    failing = _FailingCompletes(s3, 1 if outage == "brief" else 1000)
    monkeypatch.setattr(s3, "complete_multipart_upload", failing)
    job = api.post(f"/datasets/{dataset['id']}/generations", json_body={"rows": 500}).json()
    run_until(worker, lambda: job_status(api, job["id"]) in ("succeeded", "failed"))
    final = api.get(f"/generations/{job['id']}").json()
    assert not _multipart_uploads()  # every failed assembly aborted its upload
    if outage == "brief":
        assert final["status"] == "succeeded", final
        assert failing.calls == 2
        assert result_bytes(job["id"]) == expected_result(job["id"])
        assert not _parts(s3_keys, final)
    else:
        assert final["status"] == "failed", final
        assert failing.calls == MAX_RECEIVES
        assert final["failure_reason"] == (
            f"Generation failed: gave up after {MAX_RECEIVES} attempts: ClientError: An error "
            "occurred (SlowDown) when calling the CompleteMultipartUpload operation: Please "
            "reduce your request rate.."
        )
        assert not [k for k in s3_keys() if k.endswith("result.csv")]
        assert generation_row(job["id"]).finalizing_at is None  # the claim was released
