"""The caller's account, plan and usage this month."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.api.deps import CALLER_ERRORS, CurrentAccount, DbRoute, DbSession, error_responses
from app.schemas import MeOut

router = APIRouter(tags=["account"], route_class=DbRoute, responses=error_responses(*CALLER_ERRORS))


@router.get("/me", response_model=MeOut, summary="Account, plan limits and usage this month")
def me(account: CurrentAccount, session: DbSession) -> Any:
    from app.models import current_month
    from app.plans import datasets_held, get_plan, rows_used

    plan = get_plan(account.plan)
    month = current_month()
    used = rows_used(session, account.id, month)
    return {
        "account": account,
        "plan": plan.as_dict(),
        "usage": {
            "month": month,
            "rows_generated": used,
            "rows_remaining": max(0, plan.rows_per_month - used),
            "datasets": datasets_held(session, account.id),
        },
    }
