"""Database on Lambda: pool choice, connect timeout, and a lost database as a JSON 503."""

from __future__ import annotations

import time

import pytest
from lambda_events import LambdaApi


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def pg_env(app_env, db_url, monkeypatch):
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL-only checks")
    return db_url


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_unreachable_database_gives_503_quickly(pg_env, monkeypatch) -> None:
    from tests.conftest import reset_app_state

    api = LambdaApi()
    api.register()
    monkeypatch.setenv(
        "SYNTHOS_DATABASE_URL", f"postgresql+pg8000://postgres@127.0.0.1:{_free_port()}/x"
    )
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "synthos-test-api")
    reset_app_state()
    started = time.monotonic()
    for response in (
        api.get("/me"),
        api.get("/datasets"),
        api.post("/auth/register", json_body={"email": "z@example.com", "password": "long enough"}),
    ):
        assert response.status == 503, response.body
        assert response.error["code"] == "service_unavailable"
        assert response.headers.get("retry-after") == "5"
    assert time.monotonic() - started < 15
    deep = api.get("/health", query={"deep": "true"})
    assert deep.status == 503 and deep.json()["checks"]["database"]["status"] == "error"
    assert api.get("/health").status == 200  # shallow health never touches the database


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_pool_choice_on_lambda(pg_env, monkeypatch) -> None:
    from sqlalchemy.pool import NullPool, QueuePool

    from app import db
    from tests.conftest import reset_app_state

    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "synthos-test-api")
    reset_app_state()
    engine = db.get_engine()
    assert isinstance(engine.pool, NullPool)
    assert db.get_engine() is engine  # one per container
    monkeypatch.setenv("SYNTHOS_DB_POOL", "small")
    reset_app_state()
    engine = db.get_engine()
    from sqlalchemy import event

    assert isinstance(engine.pool, QueuePool)
    # pg8000: pre-ping on checkout (SQLAlchemy's pool_pre_ping misses its socket errors)
    assert engine.pool._pre_ping or event.contains(engine.pool, "checkout", db._ping_on_checkout)
    assert engine.pool.size() == 2


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_dropped_pooled_connections_are_replaced(pg_env, monkeypatch) -> None:
    from sqlalchemy import create_engine, text

    from app import db
    from tests.conftest import reset_app_state

    monkeypatch.setenv("SYNTHOS_DB_POOL", "small")
    reset_app_state()
    api = LambdaApi()
    api.register()
    assert api.get("/me").status == 200  # a pooled connection now exists
    killer = create_engine(pg_env, isolation_level="AUTOCOMMIT")
    with killer.connect() as conn:
        killed = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE pid <> pg_backend_pid() AND datname = current_database()"
            )
        ).scalar()
    killer.dispose()
    assert killed >= 1
    assert api.get("/me").status == 200  # pre-ping replaced the dead connection
    db.reset_engine()


def test_unreadable_database_secret_gives_503(app_env, monkeypatch) -> None:
    from tests.conftest import reset_app_state

    api = LambdaApi()
    api.register()
    monkeypatch.delenv("SYNTHOS_DATABASE_URL", raising=False)
    monkeypatch.setenv("SYNTHOS_DATABASE_URL_PARAM", "/synthos/test/database-url")
    reset_app_state()
    r = api.get("/me")  # SSM (the emulator) has no such parameter
    assert r.status == 503, r.body
    assert r.error["code"] == "service_unavailable"
