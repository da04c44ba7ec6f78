"""Per-column profile of a table: what the API shows a user before generating.

JSON shape (field names are stable; new fields may be added, none renamed)::

    {
      "profile_version": 1,
      "rows": int,                 # data rows
      "columns": [
        {
          "name": str,
          "kind": "integer" | "float" | "boolean" | "categorical" | "date" | "datetime"
                  | "identifier" | "text" | "constant" | "empty",
          "missing_count": int,
          "missing_rate": float,   # 0..1
          "distinct": int,         # distinct non-missing values
          # integer, float:
          "min": number, "max": number, "mean": number, "std": number,
          "decimals": int,         # float only: most decimals seen
          # date, datetime:
          "min": str, "max": str,  # in the column's own format
          "format": str,           # strptime-style, e.g. "%Y-%m-%d"
          # boolean:
          "true_value": str, "false_value": str, "true_rate": float,
          # boolean, categorical, constant:
          "categories": [{"value": str, "count": int}],   # top 20, only those seen >= floor times
          "rare_categories": int,  # distinct values hidden by the privacy floor
          "other_count": int,      # non-missing rows not covered by "categories"
          # identifier, text:
          "min_length": int, "max_length": int, "mean_length": float
        }
      ]
    }

Numbers that are not finite are reported as ``null``. Values seen fewer than
``rare_category_floor`` times are never listed (same floor as the model).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .infer import ColumnData, infer_column
from .model import format_dates
from .table import Table

PROFILE_VERSION = 1
TOP_CATEGORIES = 20


def _num(x: float) -> float | int | None:
    if not math.isfinite(x):
        return None
    return x


def profile_column(
    col: ColumnData, *, rare_category_floor: int = 5, top: int = TOP_CATEGORIES
) -> dict[str, Any]:
    """Profile of one inferred column (see module docstring for the fields)."""
    n = col.n_rows
    out: dict[str, Any] = {
        "name": col.name,
        "kind": col.kind,
        "missing_count": col.n_missing,
        "missing_rate": round(col.n_missing / n, 6) if n else 0.0,
    }
    if col.values is not None:
        v = col.values
        out["distinct"] = int(np.unique(v).size)
        if col.kind in ("date", "datetime"):
            fmt = col.date_format or "%Y-%m-%d"
            lo, hi = format_dates(np.array([v.min(), v.max()]), fmt)
            out.update({"min": lo, "max": hi, "format": fmt})
        else:
            as_int = col.kind in ("integer", "identifier") and not col.big_integers
            vmin, vmax = float(v.min()), float(v.max())
            out["min"] = int(vmin) if as_int else _num(vmin)
            out["max"] = int(vmax) if as_int else _num(vmax)
            with np.errstate(over="ignore", invalid="ignore"):
                out["mean"] = _num(round(float(v.mean()), 6))
                out["std"] = _num(round(float(v.std()), 6))
            if col.kind == "float":
                out["decimals"] = col.decimals
        if col.kind == "identifier":
            lengths = np.array([len(str(int(x))) for x in v[:100_000]])
            out.update(
                {
                    "min_length": int(lengths.min()),
                    "max_length": int(lengths.max()),
                    "mean_length": round(float(lengths.mean()), 3),
                }
            )
        return out
    counts = dict(zip(col.distinct, col.counts.tolist(), strict=True))
    n_present = int(col.counts.sum())
    out["distinct"] = len(counts)
    if col.kind in ("identifier", "text"):
        lens = np.array([len(s) for s in col.distinct], dtype=np.int64)
        lengths = lens[col.present_codes]
        out.update(
            {
                "min_length": int(lengths.min()),
                "max_length": int(lengths.max()),
                "mean_length": round(float(lengths.mean()), 3),
            }
        )
        return out
    if col.kind in ("boolean", "categorical", "constant"):
        floor = 1 if col.kind == "boolean" else rare_category_floor
        shown = [
            (v, c) for v, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if c >= floor
        ]
        out["categories"] = [{"value": v, "count": c} for v, c in shown[:top]]
        out["rare_categories"] = sum(1 for c in counts.values() if c < floor)
        out["other_count"] = n_present - sum(c for _, c in shown[:top])
        if col.kind == "boolean" and col.bool_values is not None:
            f, t = col.bool_values
            out.update(
                {
                    "true_value": t,
                    "false_value": f,
                    "true_rate": round(counts.get(t, 0) / max(1, n_present), 6),
                }
            )
    return out


def profile_table(table: Table, *, rare_category_floor: int = 5) -> dict[str, Any]:
    """JSON-serialisable profile of every column of ``table``."""
    cols = [
        profile_column(infer_column(name, cells), rare_category_floor=rare_category_floor)
        for name, cells in zip(table.names, table.columns, strict=False)
    ]
    return {"profile_version": PROFILE_VERSION, "rows": table.n_rows, "columns": cols}
