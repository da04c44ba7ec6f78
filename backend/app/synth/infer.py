"""Column kind inference: turn raw cell strings into typed values.

Kinds (stable strings, shown in the profile):
``integer``, ``float``, ``boolean``, ``categorical``, ``date``, ``datetime``,
``identifier`` (near-unique tokens), ``text`` (near-unique strings with
spaces), ``constant`` (one distinct value), ``empty`` (all missing).

Parsing works on the distinct values of a column, not on every cell, so
repetitive columns of a million rows cost little.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

MISSING_TOKENS = frozenset(
    {"", "NA", "N/A", "n/a", "NaN", "nan", "NULL", "null", "None", "none", "#N/A", "NaT"}
)
BOOLEAN_PAIRS = (
    ("false", "true"),
    ("no", "yes"),
    ("f", "t"),
    ("n", "y"),
    ("0", "1"),
)
#: Candidate date formats, tried in order; the first that parses every value wins.
DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S.%fZ",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y/%m/%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d/%m/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M",
    "%d.%m.%Y",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%d %b %Y",
    "%d-%b-%Y",
    "%b %d %Y",
    "%b %d, %Y",
)
_TIME_DIRECTIVES = ("%H", "%M", "%S", "%f")
_INT_RE = re.compile(r"[+-]?(0|[1-9][0-9]*)")
# no leading zeros ("007" is a code, not a number); exponent allowed
_FLOAT_RE = re.compile(r"[+-]?((0|[1-9][0-9]*)(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_EPOCH = _dt.datetime(1970, 1, 1)
#: Integers beyond this lose precision as float64; they are written via Python ints.
EXACT_INT_LIMIT = 2**53
NEAR_UNIQUE_RATIO = 0.9
_ID_NAME_RE = re.compile(
    r"(^|[^a-z])(id|uuid|guid|key)$|^(nr|no|index|rownames|unnamed: 0)$", re.IGNORECASE
)


@dataclass
class ColumnData:
    """A column after inference; ``values``/``strings`` hold the non-missing cells in row order."""

    name: str
    kind: str
    n_rows: int
    missing: np.ndarray  # bool per row
    missing_token: str = ""
    values: np.ndarray | None = None  # float64 for numeric kinds and dates (seconds)
    strings: list[str] = field(default_factory=list)  # non-missing stripped strings (string kinds)
    decimals: int = 0
    fixed_decimals: bool = False
    scientific: bool = False
    big_integers: bool = False
    date_format: str | None = None
    bool_values: tuple[str, str] | None = None  # (false spelling, true spelling)
    sequence_id: bool = False

    @property
    def n_missing(self) -> int:
        return int(self.missing.sum())


def _is_missing(v: str | None) -> bool:
    return v is None or v.strip() in MISSING_TOKENS


def _parse_date_values(distinct: list[str]) -> tuple[str, dict[str, float]] | None:
    probe = distinct[:50]
    for fmt in DATE_FORMATS:
        try:
            for s in probe:
                _dt.datetime.strptime(s, fmt)
        except ValueError:
            continue
        try:
            parsed = {s: (_dt.datetime.strptime(s, fmt) - _EPOCH).total_seconds() for s in distinct}
        except ValueError:
            continue
        return fmt, parsed
    return None


def is_time_format(fmt: str) -> bool:
    return any(d in fmt for d in _TIME_DIRECTIVES)


def infer_column(name: str, cells: list[str | None]) -> ColumnData:
    """Infer the kind of one column and parse its non-missing cells."""
    n = len(cells)
    distinct_raw = set(cells)
    missing_of = {v: _is_missing(v) for v in distinct_raw}
    missing = np.fromiter((missing_of[v] for v in cells), dtype=bool, count=n)
    token_counts = Counter(("" if v is None else v.strip()) for v in distinct_raw if missing_of[v])
    if token_counts:
        # most frequent missing spelling by cell count
        cell_tokens = Counter("" if v is None else v.strip() for v in cells if missing_of[v])
        missing_token = cell_tokens.most_common(1)[0][0]
    else:
        missing_token = ""
    present = [v.strip() for v in cells if not missing_of[v]]  # type: ignore[union-attr]
    col = ColumnData(
        name=name, kind="empty", n_rows=n, missing=missing, missing_token=missing_token
    )
    if not present:
        return col
    counts = Counter(present)
    distinct = list(counts)

    lowered = {s.lower() for s in distinct}
    if len(lowered) == 2 and len(distinct) <= 4:
        for f, t in BOOLEAN_PAIRS:
            if lowered == {f, t}:
                spell_f = max((s for s in distinct if s.lower() == f), key=lambda s: counts[s])
                spell_t = max((s for s in distinct if s.lower() == t), key=lambda s: counts[s])
                col.kind = "boolean"
                col.bool_values = (spell_f, spell_t)
                col.strings = [spell_t if s.lower() == t else spell_f for s in present]
                return col

    if len(distinct) == 1:
        col.kind = "constant"
        col.strings = present
        return col

    if all(_INT_RE.fullmatch(s) for s in distinct):
        ints = {s: int(s) for s in distinct}
        col.kind = "integer"
        col.big_integers = any(abs(v) > EXACT_INT_LIMIT for v in ints.values())
        lookup = {s: float(v) for s, v in ints.items()}
        col.values = np.fromiter((lookup[s] for s in present), dtype=np.float64, count=len(present))
        if len(distinct) == len(present) and len(present) >= 10 and not col.big_integers:
            sorted_vals = np.sort(col.values)
            consecutive = sorted_vals[-1] - sorted_vals[0] + 1 == len(present)
            if consecutive or _ID_NAME_RE.search(name.strip()):
                col.kind = "identifier"
                col.sequence_id = True
        return col

    if all(_FLOAT_RE.fullmatch(s) for s in distinct):
        lookup = {s: float(s) for s in distinct}
        if all(np.isfinite(v) for v in lookup.values()):
            col.kind = "float"
            col.values = np.fromiter(
                (lookup[s] for s in present), dtype=np.float64, count=len(present)
            )
            decs = set()
            for s in distinct:
                mant = s.split("e")[0].split("E")[0]
                if "e" in s or "E" in s:
                    col.scientific = True
                decs.add(len(mant.split(".", 1)[1]) if "." in mant else 0)
            col.decimals = min(max(decs), 12)
            col.fixed_decimals = len(decs) == 1 and col.decimals > 0
            return col

    parsed = _parse_date_values(distinct)
    if parsed is not None:
        fmt, lookup = parsed
        col.kind = "datetime" if is_time_format(fmt) else "date"
        col.date_format = fmt
        col.values = np.fromiter((lookup[s] for s in present), dtype=np.float64, count=len(present))
        return col

    col.strings = present
    if len(distinct) >= NEAR_UNIQUE_RATIO * len(present):
        has_space = sum(1 for s in distinct if any(ch.isspace() for ch in s))
        col.kind = "text" if has_space >= 0.5 * len(distinct) else "identifier"
    else:
        col.kind = "categorical"
    return col
