"""Alembic, run programmatically: ``upgrade()`` is what ``make migrate``, ``make run``
and the ``migrate`` Lambda call. No ``create_all`` anywhere in production paths."""

from __future__ import annotations

from pathlib import Path

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def _config():  # type: ignore[no-untyped-def]
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def current_revision() -> str | None:
    """The revision the configured database is at (None when never migrated)."""
    from alembic.runtime.migration import MigrationContext

    from app.db import get_engine

    with get_engine().connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(revision: str = "head") -> str:
    """Upgrade the configured database to ``revision``; returns the revision reached."""
    from alembic import command

    from app.db import get_engine

    config = _config()
    with get_engine().begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
    return current_revision() or "base"


def main() -> None:
    import sys

    revision = sys.argv[1] if len(sys.argv) > 1 else "head"
    print(f"database at revision {upgrade(revision)}")


if __name__ == "__main__":
    main()
