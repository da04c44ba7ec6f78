"""Small table builders shared by the engine tests."""

from __future__ import annotations

import numpy as np
import pytest

from app.synth.table import Table


@pytest.fixture
def mixed_table() -> Table:
    """300 rows: correlated numbers, a category, a date, a boolean, an id, some missing."""
    rng = np.random.default_rng(7)
    n = 300
    x = rng.normal(50, 10, n)
    y = 2 * x + rng.normal(0, 5, n)
    cat = rng.choice(["red", "green", "blue"], n, p=[0.5, 0.3, 0.2])
    days = rng.integers(0, 3650, n)
    dates = (np.datetime64("2015-01-01") + days).astype(str)
    flag = rng.random(n) < 0.3
    cols: dict[str, list[str | None]] = {
        "age": [str(int(v)) for v in np.rint(x)],
        "score": [f"{v:.2f}" for v in y],
        "colour": list(cat),
        "joined": list(dates),
        "active": ["yes" if f else "no" for f in flag],
        "customer_id": [f"CUST-{i:05d}" for i in rng.permutation(n)],
    }
    cols["score"] = [None if i % 10 == 0 else v for i, v in enumerate(cols["score"])]
    return Table(list(cols), list(cols.values()))
