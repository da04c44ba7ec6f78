"""Pipeline pieces against the emulator: multipart assembly, streamed profiling,
retry backoff, job ids on log lines, EMF metric lines."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest
from lambda_events import LambdaApi

from tests.conftest import reset_app_state

MIB = 1024 * 1024


def _blob(size: int, tag: int) -> bytes:
    line = f"{tag},".encode() + b"x" * 60 + b"\n"
    return (line * (size // len(line) + 1))[:size]


@pytest.mark.parametrize(
    "sizes",
    [
        [6 * MIB, 3 * MIB, 7 * MIB, 2 * MIB],  # big after a pending buffer: ranged copies
        [1000, 2000, 3000],  # all small: one buffered part
        [5 * MIB + 10, 5 * MIB + 20],  # the last big part after a top-up
        [4 * MIB, 6 * MIB, 100],
    ],
)
def test_concatenate_copies_big_parts_server_side(
    app_env: Any, monkeypatch: pytest.MonkeyPatch, sizes: list[int]
) -> None:
    from app import storage
    from app.aws import client

    s3 = client("s3")
    calls = {"copy": 0, "upload": 0}
    real_copy, real_upload = s3.upload_part_copy, s3.upload_part

    def copy(**kwargs: Any) -> Any:
        calls["copy"] += 1
        return real_copy(**kwargs)

    def upload(**kwargs: Any) -> Any:
        calls["upload"] += 1
        assert len(kwargs["Body"]) <= storage.MIN_PART_BYTES + MIB  # bounded buffer
        return real_upload(**kwargs)

    monkeypatch.setattr(s3, "upload_part_copy", copy)
    monkeypatch.setattr(s3, "upload_part", upload)
    sources = []
    expected = bytearray(b"h1,h2\n")
    for index, size in enumerate(sizes):
        data = _blob(size, index)
        key = f"generations/a/g/parts/{index:06d}.csv"
        storage.put_bytes(key, data)
        sources.append((key, size))
        expected += data
    total = storage.concatenate("generations/a/g/result.csv", b"h1,h2\n", sources)
    assert total == len(expected)
    assert storage.get_bytes("generations/a/g/result.csv") == bytes(expected)
    if max(sizes) >= storage.MIN_PART_BYTES:
        assert calls["copy"] >= 1  # the big parts never went through this process whole
    else:
        assert calls == {"copy": 0, "upload": 1}


def test_large_source_is_profiled_from_a_bounded_prefix_and_every_row_counted(
    api: LambdaApi, worker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNTHOS_PROFILE_MAX_BYTES", "2000")
    monkeypatch.setattr("app.tasks.STREAM_CHUNK", 512)  # many reads, boundaries mid-record
    reset_app_state()
    api.register()
    rows = ["id,note,amount"] + [
        f'{i},"line one\nline ""two"" of {i}",{i * 1.5}' if i % 7 == 0 else f"{i},plain,{i}.5"
        for i in range(1, 301)
    ]
    data = ("\n".join(rows) + "\n").encode()
    assert len(data) > 2000
    created = api.upload(data).json()
    worker.run()
    dataset = api.get(f"/datasets/{created['id']}").json()
    assert dataset["status"] == "ready", dataset
    assert dataset["n_rows"] == 300  # counted by streaming, quoted newlines included
    sampling = dataset["profile"]["sampling"]
    assert sampling["rows_total"] == 300 and 0 < sampling["rows_profiled"] < 300
    assert sampling["bytes_total"] == len(data)


def test_backoff_grows_with_the_receive_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNTHOS_RETRY_BACKOFF_SECONDS", "30")
    monkeypatch.setenv("SYNTHOS_RETRY_BACKOFF_MAX_SECONDS", "600")
    reset_app_state()
    from workers.jobs import backoff_seconds

    assert [backoff_seconds(n) for n in (1, 2, 3, 4, 5, 6, 50)] == [30, 60, 120, 240, 480, 600, 600]
    monkeypatch.setenv("SYNTHOS_RETRY_BACKOFF_SECONDS", "0")
    reset_app_state()
    assert backoff_seconds(3) == 0
    reset_app_state()


def test_transient_failure_sets_the_records_visibility(
    app_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.aws import client
    from workers import jobs

    monkeypatch.setenv("SYNTHOS_RETRY_BACKOFF_SECONDS", "7")
    reset_app_state()
    seen: list[dict[str, Any]] = []
    monkeypatch.setattr(client("sqs"), "change_message_visibility", lambda **kw: seen.append(kw))

    def boom(message: Any) -> None:
        raise ConnectionError("database went away")

    monkeypatch.setattr("app.tasks._dispatch", boom)
    monkeypatch.setattr("app.tasks._record_error", lambda message, error: None)
    record = {
        "messageId": "m1",
        "receiptHandle": "rh-1",
        "body": '{"kind": "start_generation", "generation_id": "gen_x"}',
        "attributes": {"ApproximateReceiveCount": "3"},
    }
    result = jobs.handler({"Records": [record]}, None)
    assert result == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert seen == [
        {"QueueUrl": app_env.jobs_url, "ReceiptHandle": "rh-1", "VisibilityTimeout": 28}
    ]


def test_log_lines_carry_the_message_and_job_ids() -> None:
    from app.log import JsonFormatter, bind_job, correlation_id

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("synthos.test.bind")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    token = correlation_id.set("msg-1")
    try:
        with bind_job(kind="generate_chunk", generation_id="gen_1", chunk_index=3):
            log.info("inside")
        log.info("outside")
    finally:
        correlation_id.reset(token)
        log.removeHandler(handler)
    inside, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert inside["correlation_id"] == "msg-1" and inside["generation_id"] == "gen_1"
    assert inside["chunk_index"] == 3 and inside["kind"] == "generate_chunk"
    assert "generation_id" not in outside and outside["correlation_id"] == "msg-1"


def test_emf_line_shape() -> None:
    from app.metrics import emit

    stream = io.StringIO()
    emit(
        {"RowsGenerated": (1000, "Count"), "GenerationSeconds": (2.5, "Seconds")},
        dimensions={"Operation": "Generation"},
        properties={"generation_id": "gen_1"},
        stream=stream,
    )
    doc = json.loads(stream.getvalue())
    directive = doc["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "Synthos"
    assert directive["Dimensions"] == [["Operation", "Stage"]]
    assert {m["Name"]: m["Unit"] for m in directive["Metrics"]} == {
        "RowsGenerated": "Count",
        "GenerationSeconds": "Seconds",
    }
    assert doc["RowsGenerated"] == 1000 and doc["Operation"] == "Generation"
    assert doc["generation_id"] == "gen_1" and isinstance(doc["_aws"]["Timestamp"], int)
