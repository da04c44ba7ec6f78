"""app.plans: the one table of limits and the checks built on it."""

from __future__ import annotations

import pytest

from app import plans


def test_plan_table_is_consistent() -> None:
    assert set(plans.PLANS) == {"free", "pro", "enterprise"}
    ordered = [plans.PLANS[n] for n in ("free", "pro", "enterprise")]
    for field in ("rows_per_month", "datasets", "upload_bytes", "rows_per_request"):
        values = [getattr(p, field) for p in ordered]
        assert values == sorted(values) and len(set(values)) == 3, field
    for plan in ordered:
        assert plan.rows_per_request <= plan.rows_per_month
    assert plans.PLANS["enterprise"].rows_per_request == plans.MAX_ROWS_PER_REQUEST


def test_unknown_plan_falls_back_to_free() -> None:
    assert plans.get_plan("gold") is plans.PLANS["free"]
    assert plans.get_plan("pro").name == "pro"


def test_checks_raise_with_limit_and_use() -> None:
    free = plans.PLANS["free"]
    plans.check_upload_size(free, free.upload_bytes)
    with pytest.raises(plans.QuotaExceeded) as exc:
        plans.check_upload_size(free, free.upload_bytes + 1)
    assert exc.value.status == 403
    assert exc.value.details() == {
        "plan": "free",
        "limit_name": "upload_bytes",
        "limit": free.upload_bytes,
        "used": 0,
        "requested": free.upload_bytes + 1,
    }
    plans.check_rows_per_request(free, free.rows_per_request)
    with pytest.raises(plans.QuotaExceeded) as exc:
        plans.check_rows_per_request(free, free.rows_per_request + 1)
    assert exc.value.limit_name == "rows_per_request"
