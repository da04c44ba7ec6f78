"""Load: many generations of many chunks at once through the local stack.

Concurrent pollers (standing in for concurrent Lambda invocations, batch size 5 as in
the stack) feed the real jobs handler from the emulator's queue, against PostgreSQL.
Every job must end succeeded with exactly its rows; the figures are printed.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from lambda_events import LambdaApi, expected_result, generation_row, ready_dataset, result_bytes

from tests.conftest import BUCKET, reset_app_state

JOBS = 20
CHUNKS = 10
CHUNK_ROWS = 500
WORKERS = 4
LOAD_QUEUE = "synthos-test-load-jobs"

CSV_10_COLUMNS = (
    "id,age,city,income,score,signup,member,height,dept,visits\n"
    + "".join(
        f"{i},{18 + i % 60},{['Paris', 'Lyon', 'Nice', 'Lille'][i % 4]},{1500 + 37 * i % 2100}.25,"
        f"{(i * 7919) % 1000 / 1000:.3f},2024-{1 + i % 12:02d}-{1 + i % 28:02d},"
        f"{'yes' if i % 3 else 'no'},{150 + i % 45}.5,D{i % 9},{i % 31}\n"
        for i in range(1, 401)
    )
).encode()


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_many_generations_of_many_chunks_at_once(
    api: LambdaApi, worker: Any, app_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from local_stack.aws_env import create_resources
    from local_stack.poller import Poller

    from workers import dead_letter, jobs

    dataset = ready_dataset(api, worker, CSV_10_COLUMNS)
    # A queue like the stack's: a visibility timeout well above a chunk's run time.
    queues = create_resources(BUCKET, LOAD_QUEUE, visibility_timeout=30, max_receive_count=5)
    monkeypatch.setenv("SYNTHOS_JOBS_QUEUE_NAME", LOAD_QUEUE)
    monkeypatch.setenv("SYNTHOS_GENERATION_CHUNK_ROWS", str(CHUNK_ROWS))
    reset_app_state()
    pollers = [
        Poller(f"load-{n}", queues.jobs_url, queues.jobs_arn, "us-east-1", jobs.handler, 5)
        for n in range(WORKERS)
    ]
    pollers.append(
        Poller("load-dlq", queues.dlq_url, queues.dlq_arn, "us-east-1", dead_letter.handler)
    )
    rows = CHUNKS * CHUNK_ROWS
    started = time.perf_counter()
    for poller in pollers:
        poller.start()
    try:
        job_ids = []
        for n in range(JOBS):
            response = api.post(
                f"/datasets/{dataset['id']}/generations", json_body={"rows": rows, "seed": n}
            )
            assert response.status == 202, response.body
            job_ids.append(response.json()["id"])
        deadline = time.monotonic() + 60
        pending = set(job_ids)
        while pending and time.monotonic() < deadline:
            pending = {j for j in pending if generation_row(j).status in ("queued", "running")}
            time.sleep(0.2)
        wall = time.perf_counter() - started
    finally:
        for poller in pollers:
            poller.stop()
        for poller in pollers:
            poller.join(timeout=10)
    assert not pending, f"{len(pending)} jobs unfinished after 60 s"
    finals = [generation_row(j) for j in job_ids]
    assert [g.status for g in finals] == ["succeeded"] * JOBS, [g.failure_reason for g in finals]
    for job_id in job_ids:
        content = result_bytes(job_id)
        assert content.count(b"\n") == rows + 1  # header + exactly the requested rows
    for job_id in job_ids[:3]:  # byte-exact for a sample (each chunk once, in order)
        assert result_bytes(job_id) == expected_result(job_id)
    assert all(g.chunk_count == CHUNKS and g.chunks_done == CHUNKS for g in finals)
    received = sum(p.received for p in pollers[:-1])
    failed = sum(p.failed for p in pollers)
    total_rows = JOBS * rows
    print(
        f"\nload: {JOBS} jobs x {CHUNKS} chunks x {CHUNK_ROWS} rows (10 columns) = "
        f"{total_rows:,} rows; {WORKERS} concurrent workers; {received} messages handled "
        f"({failed} failed); wall {wall:.1f} s; {total_rows / wall:,.0f} rows/s overall, "
        f"{total_rows / wall / WORKERS:,.0f} rows/s per worker (end to end, incl. API, "
        "queue, database, emulator and assembly)"
    )
    assert wall < 60
