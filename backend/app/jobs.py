"""The state machine of datasets and generations, enforced in this one module.

Every change of ``status`` goes through :func:`transition`, a conditional
``UPDATE ... WHERE id = :id AND status IN (:expected)``. It reports whether it
applied, so a redelivered message cannot re-run a finished job and a cancelled
job cannot be flipped back to running.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# Dataset: uploading -> processing -> ready | failed; deleted is terminal.
DATASET_TRANSITIONS: dict[str, frozenset[str]] = {
    "uploading": frozenset({"processing", "failed", "deleted"}),
    "processing": frozenset({"ready", "failed", "deleted"}),
    "ready": frozenset({"deleted"}),
    "failed": frozenset({"deleted"}),
    "deleted": frozenset(),
}

# Generation: queued -> running -> succeeded | failed | cancelled.
GENERATION_TRANSITIONS: dict[str, frozenset[str]] = {
    "queued": frozenset({"running", "failed", "cancelled"}),
    "running": frozenset({"succeeded", "failed", "cancelled"}),
    "succeeded": frozenset(),
    "failed": frozenset(),
    "cancelled": frozenset(),
}

GENERATION_ACTIVE = frozenset({"queued", "running"})
GENERATION_TERMINAL = frozenset({"succeeded", "failed", "cancelled"})


class IllegalTransition(ValueError):
    """A transition the state machine does not allow (a programming error)."""


def _table_for(model: Any) -> dict[str, frozenset[str]]:
    name = getattr(model, "__tablename__", None)
    if name == "datasets":
        return DATASET_TRANSITIONS
    if name == "generations":
        return GENERATION_TRANSITIONS
    raise TypeError(f"no state machine for {model!r}")


def allowed(table: dict[str, frozenset[str]], source: str, target: str) -> bool:
    return target in table.get(source, frozenset())


def check(table: dict[str, frozenset[str]], sources: Iterable[str], target: str) -> list[str]:
    sources = [sources] if isinstance(sources, str) else list(sources)
    for source in sources:
        if not allowed(table, source, target):
            raise IllegalTransition(f"{source} -> {target} is not allowed")
    return sources


def transition(
    session: Any,
    model: Any,
    row_id: str,
    expected: str | Iterable[str],
    target: str,
    **values: Any,
) -> bool:
    """Move ``row_id`` from one of ``expected`` to ``target``; True if this call did it.

    Runs inside the caller's transaction (the caller commits). ``values`` are
    other columns set in the same UPDATE.
    """
    from sqlalchemy import update

    from app.models import utcnow

    sources = check(_table_for(model), expected, target)
    statement = (
        update(model)
        .where(model.id == row_id, model.status.in_(sources))
        .values(status=target, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    result = session.execute(statement)
    return bool(result.rowcount == 1)


def claim(session: Any, model: Any, row_id: str, *conditions: Any, **values: Any) -> bool:
    """Set ``values`` on ``row_id`` if ``conditions`` still hold, and commit; True if it applied.

    The primitive of every act-once step: the row is stamped first, and only the
    caller whose update applied goes on to act (send, delete, fail), so two
    concurrent runs never both act on one row.
    """
    from sqlalchemy import update

    result = session.execute(update(model).where(model.id == row_id, *conditions).values(**values))
    session.commit()
    return bool(result.rowcount == 1)


class PermanentError(Exception):
    """Bad input that no retry can fix (missing or corrupt model, dataset gone).

    The worker fails the job at once with this message as the reason and
    acknowledges the queue message. Any other exception is transient: it is
    raised to the event source, which redelivers the message with backoff and,
    after the receive limit, dead-letters it.
    """
