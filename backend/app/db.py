"""The database engine: one per container, created on first use.

* URL: ``SYNTHOS_DATABASE_URL``, else the SSM parameter named by
  ``SYNTHOS_DATABASE_URL_PARAM``, else (outside Lambda only) an embedded SQLite
  file at ``<repo>/.local/synthos.db``.
* Lambda: ``NullPool`` (a frozen container must not hold server connections)
  unless ``SYNTHOS_DB_POOL=small`` (behind RDS Proxy), which keeps a small pool
  with ``pool_pre_ping`` so a connection dropped while frozen is replaced.
* A short connect timeout, so an unreachable server becomes a 503 quickly.
* PostgreSQL is reached through pg8000 (pure Python: no libpq in the layer);
  ``postgresql://`` and ``postgres://`` URLs are read as ``postgresql+pg8000://``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from app.settings import get_settings, running_on_lambda

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SQLITE_PATH = REPO_ROOT / ".local" / "synthos.db"

_lock = threading.Lock()
_engine: Engine | None = None
_sessionmaker: sessionmaker[Session] | None = None


def database_url() -> str:
    """The configured database URL (resolving the SSM parameter on Lambda)."""
    settings = get_settings()
    if settings.database_url or settings.database_url_param:
        from app.secrets import resolve

        return resolve(settings.database_url, settings.database_url_param, what="database URL")
    if running_on_lambda():
        from app.secrets import SecretUnavailable

        raise SecretUnavailable("database URL is not configured on Lambda")
    DEFAULT_SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


def normalise_url(url: str) -> str:
    """Pin PostgreSQL URLs to the driver the layer ships (pg8000)."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme in ("postgres", "postgresql", "postgresql+psycopg2", "postgresql+psycopg"):
        return f"postgresql+pg8000://{rest}"
    return url


# Server-side ends of a connection (admin/crash shutdown, and class 08) that
# SQLAlchemy's pg8000 dialect does not classify as disconnects by itself.
_DISCONNECT_SQLSTATES = {"57P01", "57P02", "57P03"}


def _classify_pg8000_disconnect(context: Any) -> None:
    """Mark a terminated server connection as a disconnect, so the pool replaces it."""
    args = getattr(context.original_exception, "args", ())
    info = args[0] if args and isinstance(args[0], dict) else {}
    code = str(info.get("C", ""))
    if code in _DISCONNECT_SQLSTATES or code.startswith("08"):
        context.is_disconnect = True


def _ping_on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Pre-ping for pg8000: a dead pooled connection is replaced, whatever it raises.

    SQLAlchemy's own ``pool_pre_ping`` only catches DBAPI errors, but pg8000 lets a
    reset socket escape as a bare ``OSError``; raising DisconnectionError here makes
    the pool discard the connection and open a new one.
    """
    from sqlalchemy.exc import DisconnectionError

    try:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
        dbapi_connection.rollback()
    except Exception as exc:  # any failure means the connection is unusable
        raise DisconnectionError(f"pooled connection is dead: {type(exc).__name__}") from exc


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def build_engine(url: str) -> Engine:
    """An engine for ``url`` configured as described in the module docstring."""
    settings = get_settings()
    url = normalise_url(url)
    # hide_parameters: SQL logs (sqlalchemy.engine at INFO/DEBUG) and error messages never
    # show bound values, which include password hashes, profiles and quality reports.
    kwargs: dict[str, Any] = {"future": True, "hide_parameters": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 10}
        if ":memory:" in url or url in ("sqlite://", "sqlite:///"):
            from sqlalchemy.pool import StaticPool

            kwargs["poolclass"] = StaticPool
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql"):
        kwargs["connect_args"] = {
            "timeout": settings.db_connect_timeout,
            "application_name": f"synthos-{settings.stage}",
        }
    if running_on_lambda() and settings.db_pool != "small":
        kwargs["poolclass"] = NullPool
    else:
        small = settings.db_pool == "small"
        kwargs.update(
            pool_pre_ping=True,
            pool_size=2 if small else 5,
            max_overflow=2 if small else 10,
            pool_recycle=300,
            pool_timeout=settings.db_connect_timeout,
        )
    pg8000 = url.startswith("postgresql+pg8000")
    if pg8000 and kwargs.get("pool_pre_ping"):
        kwargs["pool_pre_ping"] = False  # replaced by _ping_on_checkout
    engine = create_engine(url, **kwargs)
    if pg8000:
        event.listen(engine, "handle_error", _classify_pg8000_disconnect)
        if kwargs.get("poolclass") is not NullPool:
            event.listen(engine.pool, "checkout", _ping_on_checkout)
    return engine


def get_engine() -> Engine:
    """The engine of this container, built on first use."""
    global _engine, _sessionmaker
    if _engine is None:
        with _lock:
            if _engine is None:
                engine = build_engine(database_url())
                _sessionmaker = sessionmaker(engine, expire_on_commit=False)
                _engine = engine
    return _engine


def session_factory() -> sessionmaker[Session]:
    get_engine()
    assert _sessionmaker is not None
    return _sessionmaker


def new_session() -> Session:
    return session_factory()()


def session_scope() -> Iterator[Session]:
    """A session for one request or task; rolled back unless the caller committed."""
    session = new_session()
    try:
        yield session
    finally:
        try:
            session.close()
        except Exception:  # a dead connection must not turn a response into a 500
            session.invalidate()


def reset_engine() -> None:
    """Dispose of the engine (tests switching databases; forked processes)."""
    global _engine, _sessionmaker
    with _lock:
        if _engine is not None:
            _engine.dispose()
        _engine = None
        _sessionmaker = None
