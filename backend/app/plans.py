"""THE table of plan limits: the single source of truth for quotas.

Every limit check in the API reads from :data:`PLANS`; nothing else hard-codes
a plan's numbers. Changing a plan is a change to this table (and its tests).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

MB = 1_000_000


@dataclass(frozen=True)
class Plan:
    """Limits of one plan; all of them are inclusive maxima."""

    name: str
    rows_per_month: int  # synthetic rows generated per calendar month (UTC)
    datasets: int  # datasets held at once (not deleted)
    upload_bytes: int  # size of one uploaded CSV (presigned upload; direct is smaller)
    rows_per_request: int  # rows in one generation request

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


PLANS: dict[str, Plan] = {
    plan.name: plan
    for plan in (
        Plan(
            "free",
            rows_per_month=1_000_000,
            datasets=5,
            upload_bytes=50 * MB,
            rows_per_request=100_000,
        ),
        Plan(
            "pro",
            rows_per_month=100_000_000,
            datasets=100,
            upload_bytes=1_000 * MB,
            rows_per_request=10_000_000,
        ),
        Plan(
            "enterprise",
            rows_per_month=2_000_000_000,
            datasets=1_000,
            upload_bytes=5_000 * MB,
            rows_per_request=100_000_000,
        ),
    )
}

#: No plan may accept more rows in one request than this (request validation).
MAX_ROWS_PER_REQUEST = max(plan.rows_per_request for plan in PLANS.values())


def get_plan(name: str) -> Plan:
    """The plan called ``name``; an unknown name (a data error) falls back to ``free``."""
    return PLANS.get(name, PLANS["free"])


# --- usage against the limits (database helpers; SQLAlchemy imported on use) ------------


class QuotaExceeded(Exception):
    """A plan limit would be exceeded; rendered as 429/403 with the limit and the use."""

    def __init__(
        self,
        status: int,
        limit_name: str,
        limit: int,
        used: int,
        requested: int,
        plan: str,
        message: str,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.limit_name = limit_name
        self.limit = limit
        self.used = used
        self.requested = requested
        self.plan = plan
        self.message = message

    def details(self) -> dict[str, Any]:
        return {
            "plan": self.plan,
            "limit_name": self.limit_name,
            "limit": self.limit,
            "used": self.used,
            "requested": self.requested,
        }


def rows_used(session: Any, account_id: str, month: str) -> int:
    from app.models import Usage

    usage = session.get(Usage, (account_id, month))
    return int(usage.rows_generated) if usage else 0


def datasets_held(session: Any, account_id: str) -> int:
    from sqlalchemy import func, select

    from app.models import Dataset

    return int(
        session.scalar(
            select(func.count())
            .select_from(Dataset)
            .where(Dataset.account_id == account_id, Dataset.status != "deleted")
        )
        or 0
    )


def check_datasets(session: Any, account_id: str, plan: Plan) -> None:
    held = datasets_held(session, account_id)
    if held + 1 > plan.datasets:
        raise QuotaExceeded(
            403,
            "datasets",
            plan.datasets,
            held,
            1,
            plan.name,
            f"The {plan.name} plan holds at most {plan.datasets} datasets; "
            f"you have {held}. Delete one first.",
        )


def check_upload_size(plan: Plan, size_bytes: int) -> None:
    if size_bytes > plan.upload_bytes:
        raise QuotaExceeded(
            403,
            "upload_bytes",
            plan.upload_bytes,
            0,
            size_bytes,
            plan.name,
            f"The {plan.name} plan accepts files up to {plan.upload_bytes:,} bytes; "
            f"this one is {size_bytes:,} bytes.",
        )


def check_rows_per_request(plan: Plan, rows: int) -> None:
    if rows > plan.rows_per_request:
        raise QuotaExceeded(
            403,
            "rows_per_request",
            plan.rows_per_request,
            0,
            rows,
            plan.name,
            f"The {plan.name} plan allows at most {plan.rows_per_request:,} rows per request.",
        )


def reserve_rows(session: Any, account_id: str, plan: Plan, month: str, rows: int) -> None:
    """Count ``rows`` against this month's quota atomically, or raise (429).

    One conditional UPDATE (``WHERE rows_generated + n <= limit``), so two
    concurrent requests cannot both squeeze under the limit. Caller commits.
    """
    from sqlalchemy import update
    from sqlalchemy.exc import IntegrityError

    from app.models import Usage

    if session.get(Usage, (account_id, month)) is None:
        try:
            with session.begin_nested():
                session.add(Usage(account_id=account_id, month=month, rows_generated=0))
        except IntegrityError:
            pass  # created concurrently
    result = session.execute(
        update(Usage)
        .where(
            Usage.account_id == account_id,
            Usage.month == month,
            Usage.rows_generated + rows <= plan.rows_per_month,
        )
        .values(rows_generated=Usage.rows_generated + rows)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        used = rows_used(session, account_id, month)
        raise QuotaExceeded(
            429,
            "rows_per_month",
            plan.rows_per_month,
            used,
            rows,
            plan.name,
            f"This request would exceed the {plan.name} plan's {plan.rows_per_month:,} rows "
            f"this month ({used:,} used, {rows:,} requested).",
        )


def release_rows(session: Any, account_id: str, month: str, rows: int) -> None:
    """Give back rows of a generation that produced nothing (failed or cancelled)."""
    from sqlalchemy import case, update

    from app.models import Usage

    session.execute(
        update(Usage)
        .where(Usage.account_id == account_id, Usage.month == month)
        .values(
            rows_generated=case(
                (Usage.rows_generated >= rows, Usage.rows_generated - rows), else_=0
            )
        )
        .execution_options(synchronize_session=False)
    )
