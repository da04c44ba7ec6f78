"""Alembic migrations: apply on SQLite and PostgreSQL, match the models, reverse cleanly."""

from __future__ import annotations

import pytest


@pytest.fixture
def fresh_url(db_url, tmp_path, monkeypatch):
    from tests.conftest import _fresh_database, reset_app_state

    if db_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
    else:
        url = _fresh_database(db_url, "synthos_migrations")
    monkeypatch.setenv("SYNTHOS_DATABASE_URL", url)
    reset_app_state()
    yield url
    reset_app_state()


def _head() -> str:
    from alembic.script import ScriptDirectory

    from app.migrate import _config

    return str(ScriptDirectory.from_config(_config()).get_current_head())


def _import_all_tables() -> None:
    """Tables may be declared outside app.models (e.g. app.throttle): load every module."""
    import importlib
    import pkgutil

    import app

    for module in pkgutil.iter_modules(app.__path__):
        importlib.import_module(f"app.{module.name}")


def test_upgrade_matches_models_and_downgrades(fresh_url) -> None:
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import inspect

    from app.db import get_engine
    from app.migrate import _config, current_revision, upgrade
    from app.models import Base

    assert current_revision() is None
    _import_all_tables()
    head = _head()
    assert head >= "0002"
    assert upgrade() == head
    assert upgrade() == head  # idempotent
    engine = get_engine()
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    assert {"accounts", "api_keys", "datasets", "generations", "generation_chunks", "usage"} <= set(
        inspect(engine).get_table_names()
    )
    config = _config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    assert upgrade("0001") == "0001"  # the pipeline revision also applies on top of 0001
    assert upgrade() == head


def test_migrate_lambda_entry(fresh_url) -> None:
    from workers.migrate import handler

    assert handler({}, None) == {"status": "ok", "revision": _head()}
