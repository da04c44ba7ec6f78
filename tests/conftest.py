"""Shared fixtures: a real PostgreSQL server, an S3/SQS emulator, a clean app per test.

* ``postgres_url``: ``SYNTHOS_TEST_DATABASE_URL`` if set, else a throwaway server
  started here (``initdb`` + ``pg_ctl`` on a free loopback port, as the
  ``postgres`` user when running as root) and stopped at the end of the session.
  Missing PostgreSQL binaries FAIL the postgres tests (set
  ``SYNTHOS_SKIP_POSTGRES=1`` to skip them instead).
* ``aws_endpoint``: a moto server on a free loopback port; every boto3 client in
  the tests goes there (dummy credentials, ``AWS_ENDPOINT_URL``), never to AWS.
* ``db_url``: parametrized over SQLite and PostgreSQL, migrated with
  ``app.migrate.upgrade`` once per session and database.
* ``app_env``: settings, engine and clients reset; tables truncated; the bucket
  and queues recreated empty. ``api`` calls ``lambda_handler.handler`` with real
  Lambda events (see tests/api/lambda_events.py).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "api"))

# Before anything imports boto3: no real credentials, no real endpoint, ever.
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL"):
    os.environ.pop(_name, None)
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
    AWS_ENDPOINT_URL="http://127.0.0.1:9",  # replaced by the emulator fixture
)
for _name in [n for n in os.environ if n.startswith("SYNTHOS_") and n != "SYNTHOS_SKIP_POSTGRES"]:
    if _name not in ("SYNTHOS_TEST_DATABASE_URL",):
        os.environ.pop(_name)

BUCKET = "synthos-test-data"
QUEUE = "synthos-test-jobs"
SIGNING_KEY = "test-signing-key-0123456789abcdef0123456789abcdef"
VISIBILITY_TIMEOUT = 1
MAX_RECEIVES = 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- PostgreSQL -------------------------------------------------------------------------


def _pg_bindir() -> Path | None:
    candidates: list[str] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        candidates.append(out.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for found in (shutil.which("initdb"), shutil.which("pg_ctl")):
        if found:
            candidates.append(str(Path(found).parent))
    for candidate in candidates:
        if (
            candidate
            and (Path(candidate) / "initdb").exists()
            and (Path(candidate) / "pg_ctl").exists()
        ):
            return Path(candidate)
    return None


class PostgresServer:
    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.tmp = Path(tempfile.mkdtemp(prefix="synthos-pg-"))
        self.data = self.tmp / "data"
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.tmp, "postgres", "postgres")
            self.tmp.chmod(0o700)

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}")

    def start(self) -> str:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8")
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.tmp / "log"),
            "-w",
            "-t",
            "60",
            "-o",
            f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories="
            f"{self.tmp} -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            "start",
        )
        return f"postgresql+pg8000://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    given = os.environ.get("SYNTHOS_TEST_DATABASE_URL")
    if given:
        yield given
        return
    bindir = _pg_bindir()
    if bindir is None:
        if os.environ.get("SYNTHOS_SKIP_POSTGRES") == "1":
            pytest.skip("PostgreSQL binaries not found and SYNTHOS_SKIP_POSTGRES=1")
        pytest.fail(
            "PostgreSQL server binaries (initdb, pg_ctl) were not found: install "
            "postgresql (Debian: apt-get install postgresql), set SYNTHOS_TEST_DATABASE_URL, "
            "or set SYNTHOS_SKIP_POSTGRES=1 to skip the PostgreSQL half of the suite.",
            pytrace=False,
        )
    server = PostgresServer(bindir)
    try:
        admin_url = server.start()
    except Exception:
        server.stop()
        raise
    try:
        yield _fresh_database(admin_url, "synthos_test")
    finally:
        server.stop()


def _fresh_database(admin_url: str, name: str) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


# --- AWS emulator -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def aws_endpoint() -> Iterator[str]:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.05)
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    try:
        yield endpoint
    finally:
        server.stop()


def reset_aws(endpoint: str) -> Any:
    import urllib.request

    from local_stack.aws_env import create_resources

    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=10).close()
    return create_resources(
        BUCKET, QUEUE, visibility_timeout=VISIBILITY_TIMEOUT, max_receive_count=MAX_RECEIVES
    )


# --- database and app -----------------------------------------------------------------------


def reset_app_state() -> None:
    """Forget cached settings, engine, clients and queue URL (configuration changed)."""
    from app import aws, db, queue, secrets
    from app.settings import get_settings

    get_settings.cache_clear()
    db.reset_engine()
    aws.reset_clients()
    queue.jobs_queue_url.cache_clear()
    secrets.clear_cache()


BASE_ENV = {
    "SYNTHOS_STAGE": "test",
    "SYNTHOS_LOG_LEVEL": "WARNING",
    "SYNTHOS_TOKEN_SIGNING_KEY": SIGNING_KEY,
    "SYNTHOS_DATA_BUCKET": BUCKET,
    "SYNTHOS_JOBS_QUEUE_NAME": QUEUE,
    "SYNTHOS_REGISTRATION_OPEN": "true",
    "SYNTHOS_LOCAL_MODE": "false",
    # Transient-failure backoff (ChangeMessageVisibility) kept short: 1 s, 2 s, ...
    "SYNTHOS_RETRY_BACKOFF_SECONDS": "1",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec and callspec.params.get("db_url") == "postgresql":
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'synthos.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    saved = {name: os.environ.get(name) for name in [*BASE_ENV, "SYNTHOS_DATABASE_URL"]}
    os.environ.update(BASE_ENV)
    os.environ["SYNTHOS_DATABASE_URL"] = url
    reset_app_state()
    try:
        from app.migrate import upgrade

        assert upgrade("head") != "base"
    finally:  # tests get their environment from app_env; leave none behind for others
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        reset_app_state()
    return url


def truncate_all() -> None:
    from sqlalchemy import text

    from app.db import get_engine
    from app.models import Base

    engine = get_engine()
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(tables) + " CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
def app_env(db_url: str, aws_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in BASE_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SYNTHOS_DATABASE_URL", db_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_endpoint)
    reset_app_state()
    truncate_all()
    queues = reset_aws(aws_endpoint)
    yield queues
    reset_app_state()


@pytest.fixture
def api(app_env: Any) -> Any:
    from lambda_events import LambdaApi

    return LambdaApi()


@pytest.fixture
def worker(app_env: Any) -> Any:
    """Run the jobs (and dead-letter) handlers on what is queued, as Lambda would."""
    from lambda_events import Worker

    return Worker(app_env)


@pytest.fixture
def s3_keys(app_env: Any) -> Any:
    def keys(prefix: str = "") -> list[str]:
        from app.aws import client

        pages = client("s3").get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        return [obj["Key"] for page in pages for obj in page.get("Contents", [])]

    return keys


@pytest.fixture
def row_counts(app_env: Any) -> Any:
    def counts() -> dict[str, int]:
        from sqlalchemy import func, select

        from app.db import new_session
        from app.models import Base

        with new_session() as session:
            return {
                table.name: int(session.scalar(select(func.count()).select_from(table)) or 0)
                for table in Base.metadata.sorted_tables
            }

    return counts
