"""Real Lambda event shapes for the API handler, and a worker driver for the queue.

``LambdaApi`` builds HTTP API (payload 2.0, ``$default`` or a named stage) and
function URL events, with bodies base64-encoded as API Gateway does for
multipart, calls ``lambda_handler.handler`` and decodes the response.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    event: dict[str, Any] = field(repr=False)

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    @property
    def error(self) -> dict[str, Any]:
        body = self.json()
        assert set(body) == {"error"}, body
        assert set(body["error"]) == {"code", "message", "details"}, body
        return body["error"]


def multipart(
    fields: dict[str, str], files: dict[str, tuple[str, bytes, str]]
) -> tuple[bytes, str]:
    boundary = f"----synthos{secrets.token_hex(8)}"
    out = bytearray()
    for name, value in fields.items():
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value.encode() + b"\r\n"
    for name, (filename, data, content_type) in files.items():
        out += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'
        ).encode()
        out += data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


SHAPES = ("function_url", "http_api", "http_api_stage")


def build_event(
    method: str,
    path: str,
    *,
    shape: str = "function_url",
    stage: str = "dev",
    query: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    binary: bool = False,
) -> dict[str, Any]:
    """A payload-2.0 event as a function URL or an HTTP API (``$default`` or named stage)."""
    assert shape in SHAPES, shape
    query = {k: str(v) for k, v in (query or {}).items() if v is not None}
    raw_query = urlencode(query)
    if shape == "function_url":
        domain, route_key, stage_name, raw_path = (
            "abcdefghij.lambda-url.us-east-1.on.aws",
            "$default",
            "$default",
            path,
        )
    elif shape == "http_api":
        domain, route_key, stage_name, raw_path = (
            "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
            "$default",
            "$default",
            path,
        )
    else:
        domain, route_key, stage_name, raw_path = (
            "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
            "ANY /{proxy+}",
            stage,
            f"/{stage}{path}",
        )
    all_headers = {
        "host": domain,
        "user-agent": "synthos-tests",
        "x-forwarded-proto": "https",
        "x-forwarded-port": "443",
        "accept": "*/*",
    }
    all_headers.update({k.lower(): v for k, v in (headers or {}).items()})
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": all_headers,
        "requestContext": {
            "accountId": "anonymous" if shape == "function_url" else "123456789012",
            "apiId": domain.split(".")[0],
            "domainName": domain,
            "domainPrefix": domain.split(".")[0],
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "synthos-tests",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": stage_name,
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if shape == "http_api_stage":
        event["pathParameters"] = {"proxy": path.lstrip("/")}
    if query:
        event["queryStringParameters"] = query
    if body is not None:
        if binary:
            event["body"] = base64.b64encode(body).decode("ascii")
            event["isBase64Encoded"] = True
        else:
            event["body"] = body.decode("utf-8")
        all_headers.setdefault("content-length", str(len(body)))
    return event


class LambdaApi:
    """Calls ``lambda_handler.handler`` the way API Gateway / a function URL would."""

    def __init__(self, shape: str = "function_url", stage: str = "dev") -> None:
        self.shape = shape
        self.stage = stage
        self.token: str | None = None

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
        fields: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        query: dict[str, Any] | None = None,
        token: str | None = None,
        raw_body: bytes | None = None,
    ) -> ApiResponse:
        import lambda_handler

        all_headers = dict(headers or {})
        credential = token if token is not None else self.token
        if credential:
            all_headers.setdefault("authorization", f"Bearer {credential}")
        body, binary = raw_body, raw_body is not None
        if files is not None or fields is not None:
            body, content_type = multipart(fields or {}, files or {})
            all_headers["content-type"] = content_type
            binary = True
        elif json_body is not None:
            body = json.dumps(json_body).encode()
            all_headers["content-type"] = "application/json"
        if not path.startswith("/api/") and not path.startswith("/docs") and path != "/":
            path = "/api/v1" + path
        event = build_event(
            method,
            path,
            shape=self.shape,
            stage=self.stage,
            query=query,
            headers=all_headers,
            body=body,
            binary=binary,
        )
        result = lambda_handler.handler(event, None)
        raw = result.get("body") or ""
        data = base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode("utf-8")
        response_headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
        for k, values in (result.get("multiValueHeaders") or {}).items():
            response_headers[k.lower()] = ",".join(values)
        return ApiResponse(result["statusCode"], response_headers, data, event)

    def get(self, path: str, **kw: Any) -> ApiResponse:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> ApiResponse:
        return self.request("POST", path, **kw)

    def delete(self, path: str, **kw: Any) -> ApiResponse:
        return self.request("DELETE", path, **kw)

    # --- conveniences -------------------------------------------------------------------

    def register(self, email: str | None = None, password: str = "correct horse battery") -> str:
        email = email or f"user-{secrets.token_hex(4)}@example.com"
        response = self.post("/auth/register", json_body={"email": email, "password": password})
        assert response.status == 201, response.body
        self.token = response.json()["token"]["access_token"]
        return email

    def upload(self, data: bytes, filename: str = "table.csv", **kw: Any) -> ApiResponse:
        return self.post("/datasets", files={"file": (filename, data, "text/csv")}, **kw)


class Worker:
    """Feeds queued messages to the worker handlers, like the SQS event source."""

    def __init__(self, queues: Any) -> None:
        self.queues = queues

    def run(self, *, max_batches: int = 50, dead_letters: bool = True) -> int:
        """Process batches until the queue is empty; returns the records handled."""
        from local_stack.poller import poll_once

        from app.aws import client
        from workers import dead_letter, jobs

        sqs = client("sqs")
        handled = 0
        for _ in range(max_batches):
            received, _failed = poll_once(
                sqs,
                self.queues.jobs_url,
                self.queues.jobs_arn,
                "us-east-1",
                jobs.handler,
                wait_seconds=0,
            )
            dead = 0
            if dead_letters:
                dead, _ = poll_once(
                    sqs,
                    self.queues.dlq_url,
                    self.queues.dlq_arn,
                    "us-east-1",
                    dead_letter.handler,
                    wait_seconds=0,
                )
            handled += received + dead
            if not received and not dead:
                break
        return handled


CSV_SMALL = (
    "id,age,city,income,signup\n"
    + "".join(
        f"{i},{20 + i % 50},{['Paris', 'Lyon', 'Nice'][i % 3]},{1000 + 37 * i % 900}.5,"
        f"2024-01-{1 + i % 28:02d}\n"
        for i in range(1, 121)
    )
).encode()


# --- job pipeline helpers ---------------------------------------------------------------


def ready_dataset(api: LambdaApi, worker: Worker, data: bytes = CSV_SMALL) -> dict[str, Any]:
    """Register (if needed), upload ``data`` and profile it; the ready dataset."""
    if api.token is None:
        api.register()
    response = api.upload(data)
    assert response.status == 201, response.body
    worker.run()
    dataset = api.get(f"/datasets/{response.json()['id']}").json()
    assert dataset["status"] == "ready", dataset
    return dataset


def job_status(api: LambdaApi, job_id: str) -> str:
    """A generation's status as the API reports it."""
    return str(api.get(f"/generations/{job_id}").json()["status"])


def generation_row(generation_id: str) -> Any:
    from app.db import new_session
    from app.models import Generation

    with new_session() as session:
        return session.get(Generation, generation_id)


def chunk_rows(generation_id: str) -> list[Any]:
    from sqlalchemy import select

    from app.db import new_session
    from app.models import GenerationChunk

    with new_session() as session:
        return list(
            session.scalars(
                select(GenerationChunk)
                .where(GenerationChunk.generation_id == generation_id)
                .order_by(GenerationChunk.chunk_index)
            ).all()
        )


def expected_result(generation_id: str) -> bytes:
    """The one right ``result.csv``: the header, then every chunk once, in order."""
    from app import generation as pipeline
    from app.db import new_session
    from app.models import Dataset, Generation

    with new_session() as session:
        job = session.get(Generation, generation_id)
        dataset = session.get(Dataset, job.dataset_id)
        model = pipeline.load_model(dataset)
        out = bytearray(pipeline.header_bytes(model))
        for chunk in chunk_rows(generation_id):
            out += pipeline.render_chunk(
                model, job.seed, chunk.chunk_index, chunk.row_offset, chunk.rows
            )
        return bytes(out)


def result_bytes(generation_id: str) -> bytes:
    from app import storage

    job = generation_row(generation_id)
    assert job.result_key, job.status
    return storage.get_bytes(job.result_key)


def queue_depth(url: str) -> int:
    """Visible plus in-flight messages of a queue."""
    from app.aws import client

    attributes = client("sqs").get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def run_until(
    worker: Worker,
    done: Any,
    *,
    timeout: float = 30.0,
    pause: float = 0.5,
    dead_letters: bool = True,
) -> None:
    """Feed the worker (waiting out visibility timeouts) until ``done()`` is true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        worker.run(dead_letters=dead_letters)
        if done():
            return
        time.sleep(pause)
    raise AssertionError(f"not done after {timeout} s")
