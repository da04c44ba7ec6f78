"""app.jobs: the state machine and its conditional transitions."""

from __future__ import annotations

import pytest

from app import jobs


def test_dataset_transitions() -> None:
    table = jobs.DATASET_TRANSITIONS
    assert jobs.allowed(table, "uploading", "processing")
    assert jobs.allowed(table, "processing", "ready")
    assert jobs.allowed(table, "processing", "failed")
    assert not jobs.allowed(table, "ready", "processing")
    assert not jobs.allowed(table, "uploading", "ready")
    assert table["deleted"] == frozenset()
    for state in ("uploading", "processing", "ready", "failed"):
        assert jobs.allowed(table, state, "deleted")


def test_generation_transitions() -> None:
    table = jobs.GENERATION_TRANSITIONS
    assert jobs.allowed(table, "queued", "running")
    for terminal in ("succeeded", "failed", "cancelled"):
        assert jobs.allowed(table, "running", terminal)
        assert table[terminal] == frozenset()
    assert not jobs.allowed(table, "queued", "succeeded")
    assert not jobs.allowed(table, "cancelled", "running")
    with pytest.raises(jobs.IllegalTransition):
        jobs.check(table, ["queued", "succeeded"], "running")


@pytest.fixture
def session(tmp_path, monkeypatch):
    from app import db
    from app.migrate import upgrade
    from app.settings import get_settings

    monkeypatch.setenv("SYNTHOS_DATABASE_URL", f"sqlite:///{tmp_path / 'jobs.db'}")
    get_settings.cache_clear()
    db.reset_engine()
    upgrade()
    with db.new_session() as s:
        yield s
    db.reset_engine()
    get_settings.cache_clear()


def test_transition_is_conditional(session) -> None:
    from app.models import Account, Dataset, Generation

    session.add(Account(id="acc_1", email="a@example.com", password_hash="x", plan="free"))
    session.add(
        Dataset(
            id="ds_1",
            account_id="acc_1",
            name="d",
            filename="d.csv",
            status="ready",
            source_key="k",
        )
    )
    session.add(
        Generation(
            id="gen_1",
            account_id="acc_1",
            dataset_id="ds_1",
            status="queued",
            rows=10,
            seed=1,
            rows_done=0,
            progress=0.0,
            usage_month="2026-11",
        )
    )
    session.commit()
    assert jobs.transition(session, Generation, "gen_1", "queued", "running")
    assert not jobs.transition(session, Generation, "gen_1", "queued", "running")  # redelivery
    assert jobs.transition(session, Generation, "gen_1", "running", "cancelled")
    assert not jobs.transition(session, Generation, "gen_1", "running", "succeeded")
    session.commit()
    assert session.get(Generation, "gen_1").status == "cancelled"
    with pytest.raises(jobs.IllegalTransition):
        jobs.transition(session, Generation, "gen_1", "cancelled", "running")
    assert not jobs.transition(session, Dataset, "ds_missing", "ready", "deleted")
