"""Logging hygiene: over the whole flow, with every logger at DEBUG and the app's JSON
formatter, no password, token, API key or uploaded cell value appears in a log line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from lambda_events import LambdaApi

PASSWORD = "Pw-zebra-quartz-71923-unique"
# Distinctive cell values: a categorical column (which the synthetic rows reuse), a free
# text column and numbers nobody else would log by chance.
CITIES = ["Xylopolis", "Quarnbeck", "Vrelltown"]


def _csv() -> bytes:
    lines = ["id,city,note,amount"]
    for i in range(1, 121):
        lines.append(f"{i},{CITIES[i % 3]},secretnote{i:04d}zq,{918273 + i}.25")
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """What the app's own JSON log handler writes, with every logger at DEBUG."""
    from app.log import JsonFormatter, configure_logging

    configure_logging("DEBUG")
    root = logging.getLogger()
    handlers = [
        h
        for h in root.handlers
        if isinstance(h, logging.StreamHandler) and isinstance(h.formatter, JsonFormatter)
    ]
    assert handlers, "configure_logging installs a JSON handler on the root logger"
    stream = io.StringIO()
    saved_streams = [h.setStream(stream) for h in handlers]
    saved = {
        name: logger.level
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    saved_root = root.level
    for name in saved:
        logging.getLogger(name).setLevel(logging.DEBUG)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        for handler, old in zip(handlers, saved_streams, strict=True):
            handler.setStream(old)
        root.setLevel(saved_root)
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def test_no_secret_or_cell_value_in_logs(
    api: LambdaApi, worker: Any, captured_logs: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    email = "hygiene@example.com"
    r = api.post("/auth/register", json_body={"email": email, "password": PASSWORD})
    assert r.status == 201, r.body
    first_token = r.json()["token"]["access_token"]
    r = api.post("/auth/token", json_body={"email": email, "password": PASSWORD})
    assert r.status == 200
    token = r.json()["access_token"]
    api.token = token
    r = api.post("/auth/token", json_body={"email": email, "password": PASSWORD + "x"})
    assert r.status == 401
    created = api.post("/api-keys", json_body={"name": "ci"})
    assert created.status == 201
    key = created.json()["key"]
    api.token = key  # everything below authenticates with the API key
    assert api.get("/me").status == 200

    upload = api.upload(_csv(), filename="people.csv")
    assert upload.status == 201, upload.body
    dataset_id = upload.json()["id"]
    worker.run()
    assert api.get(f"/datasets/{dataset_id}").json()["status"] == "ready"
    gen = api.post(f"/datasets/{dataset_id}/generations", json_body={"rows": 500, "seed": 3})
    assert gen.status == 202, gen.body
    generation_id = gen.json()["id"]
    worker.run()
    done = api.get(f"/generations/{generation_id}")
    assert done.json()["status"] == "succeeded", done.body
    download = api.get(f"/generations/{generation_id}/download")
    assert download.status in (200, 307)
    if download.status == 307:
        import urllib.request

        with urllib.request.urlopen(download.headers["location"], timeout=10) as response:
            synthetic = response.read().decode()
        assert any(city in synthetic for city in CITIES)

    logs = captured_logs.getvalue()
    loggers = {json.loads(line)["logger"] for line in logs.splitlines()}
    # The capture saw the flow's DEBUG lines (and every line is JSON).
    assert any(line.startswith("{") for line in logs.splitlines()), logs[:2000]
    assert loggers, "no log line captured"

    from sqlalchemy import select

    from app.db import new_session
    from app.models import Account, Dataset

    with new_session() as session:
        password_hash = session.scalars(select(Account.password_hash)).one()
        profile = json.dumps(session.scalars(select(Dataset.profile)).one())
    assert any(city in profile for city in CITIES)  # the profile holds cell values
    forbidden = {
        "password": PASSWORD,
        "password hash": password_hash.rsplit("$", 1)[-1],
        "register token": first_token,
        "token": token,
        "token signature": token.rsplit(".", 1)[-1],
        "api key": key,
        "api key secret": key.split("_", 2)[2],
        **{f"cell {city}": city for city in CITIES},
        "cell note": "secretnote0042zq",
        "cell amount": "918315",
    }
    leaked = {label: value for label, value in forbidden.items() if value in logs}
    if leaked:
        lines = [line for line in logs.splitlines() if any(v in line for v in leaked.values())]
        pytest.fail(f"leaked {sorted(leaked)} in:\n" + "\n".join(line[:400] for line in lines[:8]))
