"""``make run``'s stack driven over HTTP as a user would: the real process, real ports.

Starts ``python -m local_stack`` (from backend/, with the repo's interpreter) on
free loopback ports with a temporary SQLite file, then: register, create a key,
upload a CSV, request a generation, poll to a terminal state, download, and
stop it with SIGINT.
"""

from __future__ import annotations

import csv
import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def stack(tmp_path):
    port, aws_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SYNTHOS_", "AWS_"))}
    env.update(
        SYNTHOS_LOCAL_PORT=str(port),
        SYNTHOS_LOCAL_AWS_PORT=str(aws_port),
        SYNTHOS_LOCAL_VISIBILITY_TIMEOUT="5",
        SYNTHOS_DATABASE_URL=f"sqlite:///{tmp_path / 'local.db'}",
        PYTHONUNBUFFERED="1",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "local_stack"],
        cwd=ROOT / "backend",
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    ready = threading.Event()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if "Press Ctrl-C to stop." in line:
                ready.set()

    threading.Thread(target=pump, daemon=True).start()
    if not ready.wait(60):
        process.kill()
        pytest.fail("local stack did not start:\n" + "".join(lines))
    output = "".join(lines)
    key = re.search(r"API key:\s+(sk_\S+)", output)
    assert key, output
    base = f"http://127.0.0.1:{port}"
    assert f"API:       {base}/api/v1" in output and f"Docs:      {base}/docs" in output
    yield {"base": base, "key": key.group(1), "process": process, "lines": lines}
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail("local stack did not stop on SIGINT")


def test_user_journey_over_http(stack) -> None:
    base, process = stack["base"], stack["process"]
    with httpx.Client(base_url=base, timeout=30) as http:
        assert http.get("/api/v1/health").json()["status"] == "ok"
        assert http.get("/docs").status_code == 200
        assert http.get("/api/v1/openapi.json").json()["info"]["title"] == "Synthos API"
        dev = http.get("/api/v1/me", headers={"Authorization": f"Bearer {stack['key']}"})
        assert dev.status_code == 200 and dev.json()["account"]["email"] == "dev@synthos.local"

        reg = http.post(
            "/api/v1/auth/register",
            json={"email": "user@example.com", "password": "correct horse battery"},
        )
        assert reg.status_code == 201, reg.text
        token = http.post(
            "/api/v1/auth/token",
            json={"email": "user@example.com", "password": "correct horse battery"},
        ).json()["access_token"]
        created = http.post(
            "/api/v1/api-keys",
            json={"name": "laptop"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert created.status_code == 201
        auth = {"Authorization": f"Bearer {created.json()['key']}"}

        table = "name;age;city\n" + "".join(
            f"person {i};{18 + i % 60};{['Oslo', 'Rome', 'Lima'][i % 3]}\n" for i in range(200)
        )
        up = http.post(
            "/api/v1/datasets",
            headers=auth,
            files={"file": ("people.csv", table.encode("utf-8"), "text/csv")},
        )
        assert up.status_code == 201, up.text
        dataset_id = up.json()["id"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            dataset = http.get(f"/api/v1/datasets/{dataset_id}", headers=auth).json()
            if dataset["status"] in ("ready", "failed"):
                break
            time.sleep(0.3)
        assert dataset["status"] == "ready", dataset

        job = http.post(
            f"/api/v1/datasets/{dataset_id}/generations",
            headers=auth,
            json={"rows": 2500, "seed": 42},
        )
        assert job.status_code == 202, job.text
        job_id = job.json()["id"]
        while time.monotonic() < deadline:
            status = http.get(f"/api/v1/generations/{job_id}", headers=auth).json()
            if status["status"] in ("succeeded", "failed", "cancelled"):
                break
            time.sleep(0.3)
        assert status["status"] == "succeeded", status
        assert status["quality"]["overall"] > 0

        download = http.get(f"/api/v1/generations/{job_id}/download", headers=auth)
        assert download.status_code == 200  # local mode streams the file
        rows = list(csv.reader(io.StringIO(download.text)))
        assert rows[0] == ["name", "age", "city"] and len(rows) == 2501
        usage = http.get("/api/v1/me", headers=auth).json()["usage"]
        assert usage["rows_generated"] == 2500

    process.send_signal(signal.SIGINT)
    assert process.wait(20) == 0
    time.sleep(0.2)
    assert "Synthos stopped." in "".join(stack["lines"])
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base}/api/v1/health", timeout=2)
