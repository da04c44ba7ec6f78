"""Exactly-once effect on at-least-once delivery: duplicates, races, poison, cancel."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

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

from tests.conftest import MAX_RECEIVES, reset_app_state


def _queued_bodies(url: str) -> list[dict[str, Any]]:
    """Receive (and leave to reappear) what is on a queue; for counting kinds."""
    from app.aws import client

    sqs = client("sqs")
    bodies: list[dict[str, Any]] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = got.get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def test_every_message_delivered_twice_changes_nothing(
    api: LambdaApi, worker: Any, app_env: Any, s3_keys: Any, monkeypatch: Any
) -> None:
    from app import queue
    from app.messages import FinalizeGeneration, GenerateChunk, StartGeneration

    monkeypatch.setenv("SYNTHOS_GENERATION_CHUNK_ROWS", "200")
    reset_app_state()
    dataset = ready_dataset(api, worker)
    job_id = api.post(f"/datasets/{dataset['id']}/generations", json_body={"rows": 600}).json()[
        "id"
    ]
    duplicates = [
        StartGeneration(generation_id=job_id),
        FinalizeGeneration(generation_id=job_id),  # early: ignored
        *[GenerateChunk(generation_id=job_id, chunk_index=i, rows=200) for i in range(3)],
    ]
    queue.send_many(duplicates)  # each message now travels at least twice
    run_until(worker, lambda: job_status(api, job_id) == "succeeded")
    first = generation_row(job_id)
    assert (first.rows_done, first.chunks_done, first.chunk_count) == (600, 3, 3)
    assert result_bytes(job_id) == expected_result(job_id)
    assert [c.attempts for c in chunk_rows(job_id)] == [1, 1, 1]  # duplicates did no work
    assert api.get("/me").json()["usage"]["rows_generated"] == 600

    queue.send_many(duplicates)  # late duplicates of everything, after success
    worker.run()
    again = generation_row(job_id)
    assert (again.status, again.finished_at, again.result_bytes) == (
        "succeeded",
        first.finished_at,
        first.result_bytes,
    )
    assert not [k for k in s3_keys("generations/") if "/parts/" in k]  # nothing regenerated
    assert api.get("/me").json()["usage"]["rows_generated"] == 600


def test_workers_racing_on_one_chunk_and_on_assembly(
    api: LambdaApi, worker: Any, app_env: Any, monkeypatch: Any, capsys: Any
) -> None:
    from app import generation

    monkeypatch.setenv("SYNTHOS_GENERATION_CHUNK_ROWS", "250")
    reset_app_state()
    dataset = ready_dataset(api, worker)
    job_id = api.post(f"/datasets/{dataset['id']}/generations", json_body={"rows": 500}).json()[
        "id"
    ]
    generation.start_generation(job_id)  # fan out by hand; the queue is then emptied
    _queued_bodies(app_env.jobs_url)

    racers = 4
    barrier = threading.Barrier(racers)
    real_render = generation.render_chunk

    def render_together(*args: Any) -> bytes:
        data = real_render(*args)
        barrier.wait(timeout=10)  # everyone has its bytes: now race to record them
        return data

    monkeypatch.setattr(generation, "render_chunk", render_together)
    errors: list[BaseException] = []

    def race(target: Any, *args: Any) -> None:
        def run() -> None:
            try:
                target(*args)
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=run) for _ in range(racers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not errors, errors

    race(generation.run_chunk, job_id, 0)
    row = generation_row(job_id)
    assert (row.chunks_done, row.rows_done) == (1, 250)  # one count, not four
    assert chunk_rows(job_id)[0].attempts == racers
    assert _queued_bodies(app_env.jobs_url) == []  # not the last chunk: no assembly yet

    race(generation.run_chunk, job_id, 1)
    row = generation_row(job_id)
    assert (row.chunks_done, row.rows_done) == (2, 500)
    kinds = [body["kind"] for body in _queued_bodies(app_env.jobs_url)]
    assert kinds == ["finalize_generation"]  # exactly one worker saw itself last

    monkeypatch.setattr(generation, "render_chunk", real_render)
    capsys.readouterr()
    race(generation.finalize_generation, job_id)
    assert generation_row(job_id).status == "succeeded"
    assert result_bytes(job_id) == expected_result(job_id)
    metric_lines = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line
    ]
    assert len(metric_lines) == 1  # assembled once
    assert metric_lines[0]["RowsGenerated"] == 500 and metric_lines[0]["Chunks"] == 2
    assert metric_lines[0]["ChunkRetries"] == 2 * (racers - 1)


def test_poison_message_dead_letters_while_the_rest_of_its_batches_succeed(
    api: LambdaApi, worker: Any, app_env: Any, monkeypatch: Any
) -> None:
    from app import generation
    from app.aws import client
    from workers import jobs

    monkeypatch.setenv("SYNTHOS_GENERATION_CHUNK_ROWS", "100")
    reset_app_state()
    dataset = ready_dataset(api, worker)
    real_render = generation.render_chunk

    def render(model: Any, seed: int, index: int, offset: int, rows: int) -> bytes:
        if seed == 666 and index == 1:
            raise RuntimeError("chunk 1 of the poisoned job always breaks")
        return real_render(model, seed, index, offset, rows)

    monkeypatch.setattr(generation, "render_chunk", render)
    batches: list[tuple[list[str], set[str]]] = []  # (bodies, bodies that failed)
    real_handler = jobs.handler

    def recording_handler(event: dict[str, Any], context: Any = None) -> Any:
        result = real_handler(event, context)
        failed_ids = {f["itemIdentifier"] for f in result["batchItemFailures"]}
        records = event["Records"]
        bodies = [r["body"] for r in records]
        batches.append((bodies, {r["body"] for r in records if r["messageId"] in failed_ids}))
        return result

    monkeypatch.setattr(jobs, "handler", recording_handler)
    poisoned = api.post(
        f"/datasets/{dataset['id']}/generations", json_body={"rows": 300, "seed": 666}
    ).json()["id"]
    healthy = api.post(
        f"/datasets/{dataset['id']}/generations", json_body={"rows": 300, "seed": 7}
    ).json()["id"]
    client("sqs").send_message(QueueUrl=app_env.jobs_url, MessageBody="not json at all")

    def settled() -> bool:
        return (
            job_status(api, poisoned) == "failed"
            and job_status(api, healthy) == "succeeded"
            and queue_depth(app_env.jobs_url) == queue_depth(app_env.dlq_url) == 0
        )

    run_until(worker, settled, timeout=40)
    failed = api.get(f"/generations/{poisoned}").json()
    assert failed["failure_reason"] == (
        f"Generation failed: gave up after {MAX_RECEIVES} attempts: RuntimeError: "
        "chunk 1 of the poisoned job always breaks."
    )
    assert chunk_rows(poisoned)[1].attempts == MAX_RECEIVES
    assert result_bytes(healthy) == expected_result(healthy)
    # The poisoned job's unused rows were given back; the healthy job's stay counted.
    assert api.get("/me").json()["usage"]["rows_generated"] == 300 + failed["rows_done"]
    poison = {
        json.dumps(
            {"kind": "generate_chunk", "generation_id": poisoned, "chunk_index": 1, "rows": 100},
            separators=(",", ":"),
        ),
        "not json at all",
    }
    mixed = [(bodies, bad) for bodies, bad in batches if poison & set(bodies) and len(bodies) > 1]
    assert mixed, "no batch held a poison message next to good ones"
    assert all(bad <= poison for _bodies, bad in batches)  # only poison records ever failed


def test_cancel_during_a_run_stops_the_remaining_chunks(
    api: LambdaApi, worker: Any, app_env: Any, s3_keys: Any, monkeypatch: Any
) -> None:
    from app import generation

    monkeypatch.setenv("SYNTHOS_GENERATION_CHUNK_ROWS", "100")
    reset_app_state()
    dataset = ready_dataset(api, worker)
    job_id = api.post(f"/datasets/{dataset['id']}/generations", json_body={"rows": 500}).json()[
        "id"
    ]
    real_render = generation.render_chunk
    rendered: list[int] = []

    def render(model: Any, seed: int, index: int, offset: int, rows: int) -> bytes:
        rendered.append(index)
        if index == 1:  # the user cancels while chunk 1 is being generated
            cancelled = api.delete(f"/generations/{job_id}")
            assert cancelled.status == 200 and cancelled.json()["status"] == "cancelled"
        return real_render(model, seed, index, offset, rows)

    monkeypatch.setattr(generation, "render_chunk", render)
    worker.run()
    time.sleep(1.2)
    worker.run()
    assert rendered == [0, 1]  # nothing after the cancel
    job = generation_row(job_id)
    assert job.status == "cancelled" and job.chunks_done == 1 and job.rows_done == 100
    chunks = chunk_rows(job_id)
    assert [c.status for c in chunks] == ["done", "pending", "pending", "pending", "pending"]
    assert [c.attempts for c in chunks] == [1, 1, 0, 0, 0]  # the rest dropped without work
    keys = [k for k in s3_keys("generations/") if job_id in k]
    assert keys == [chunks[0].part_key]  # chunk 1's late part was discarded; no result
    assert queue_depth(app_env.jobs_url) == queue_depth(app_env.dlq_url) == 0
    assert api.get("/me").json()["usage"]["rows_generated"] == 100
