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
import math
import re
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
    """A column after inference.

    Cells are factorised once: ``distinct`` holds the sorted, stripped,
    non-missing distinct values and ``codes`` each row's index into it (-1 for
    missing). ``values`` holds the parsed non-missing numbers in row order.
    """

    name: str
    kind: str
    n_rows: int
    codes: np.ndarray  # int64 per row, -1 = missing
    distinct: list[str] = field(default_factory=list)
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    missing_token: str = ""
    values: np.ndarray | None = None  # float64 for numeric kinds and dates (seconds)
    decimals: int = 0
    fixed_decimals: bool = False
    scientific: bool = False
    big_integers: bool = False
    date_format: str | None = None
    bool_values: tuple[str, str] | None = None  # (false spelling, true spelling)
    sequence_id: bool = False

    @property
    def missing(self) -> np.ndarray:
        return self.codes < 0

    @property
    def n_missing(self) -> int:
        return int((self.codes < 0).sum())

    @property
    def present_codes(self) -> np.ndarray:
        return self.codes[self.codes >= 0]

    @property
    def strings(self) -> list[str]:
        """Non-missing stripped cells in row order (materialised on demand)."""
        return list(map(self.distinct.__getitem__, self.present_codes.tolist()))

    def lookup(self, parsed: dict[str, float]) -> np.ndarray:
        """Per-row numbers for the non-missing cells, from a parse of the distinct values."""
        table = np.fromiter(
            map(parsed.__getitem__, self.distinct), dtype=np.float64, count=len(self.distinct)
        )
        return table[self.present_codes]


def _parse_date_values(distinct: list[str]) -> tuple[str, dict[str, float]] | None:
    probe = distinct[:50]
    # every supported format has digits and is short; skip strptime for plain words
    if not all(len(s) <= 40 and any(ch.isdigit() for ch in s) for s in probe):
        return None
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


def _factorise(cells: list[str | None]) -> tuple[np.ndarray, list[str], str]:
    """Codes per row into the sorted stripped distinct values; also the usual missing spelling."""
    raw = set(cells)
    stripped: dict[str | None, str | None] = {}
    missing_spellings: list[str | None] = []
    for v in raw:
        s = None if v is None else v.strip()
        if s is None or s in MISSING_TOKENS:
            stripped[v] = None
            missing_spellings.append(v)
        else:
            stripped[v] = s
    distinct = sorted({s for s in stripped.values() if s is not None})
    index = {s: i for i, s in enumerate(distinct)}
    code_of = {v: (-1 if s is None else index[s]) for v, s in stripped.items()}
    codes = np.fromiter(map(code_of.__getitem__, cells), dtype=np.int64, count=len(cells))
    token = ""
    if missing_spellings:
        by_spelling: dict[str, int] = {}
        for v in missing_spellings:
            key = "" if v is None else v.strip()
            by_spelling[key] = by_spelling.get(key, 0) + (
                cells.count(v) if len(missing_spellings) > 1 else 1
            )
        token = max(sorted(by_spelling), key=lambda k: (by_spelling[k], k == ""))
    return codes, distinct, token


def infer_column(name: str, cells: list[str | None]) -> ColumnData:
    """Infer the kind of one column and parse its non-missing values."""
    codes, distinct, token = _factorise(cells)
    counts = np.bincount(codes[codes >= 0], minlength=len(distinct))
    col = ColumnData(
        name=name,
        kind="empty",
        n_rows=len(cells),
        codes=codes,
        distinct=distinct,
        counts=counts,
        missing_token=token,
    )
    if not distinct:
        return col
    n_present = int(counts.sum())

    lowered = {s.lower() for s in distinct}
    if len(lowered) == 2 and len(distinct) <= 4:
        for f, t in BOOLEAN_PAIRS:
            if lowered == {f, t}:
                cnt = dict(zip(distinct, counts.tolist(), strict=True))
                spell_f = max((s for s in distinct if s.lower() == f), key=lambda s: cnt[s])
                spell_t = max((s for s in distinct if s.lower() == t), key=lambda s: cnt[s])
                if len(distinct) > 2:  # merge spellings ("Yes"/"yes") onto the usual one
                    canon = [spell_t if s.lower() == t else spell_f for s in distinct]
                    keep = sorted(set(canon))
                    remap = np.array([keep.index(c) for c in canon], dtype=np.int64)
                    col.codes = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1)
                    col.distinct = keep
                    col.counts = np.bincount(col.present_codes, minlength=len(keep))
                col.kind = "boolean"
                col.bool_values = (spell_f, spell_t)
                return col

    if len(distinct) == 1:
        col.kind = "constant"
        return col

    if all(_INT_RE.fullmatch(s) for s in distinct):
        ints = {s: int(s) for s in distinct}
        col.kind = "integer"
        col.big_integers = any(abs(v) > EXACT_INT_LIMIT for v in ints.values())
        col.values = col.lookup({s: float(v) for s, v in ints.items()})
        if len(distinct) == n_present and n_present >= 10 and not col.big_integers:
            lo, hi = min(ints.values()), max(ints.values())
            if hi - lo + 1 == n_present or _ID_NAME_RE.search(name.strip()):
                col.kind = "identifier"
                col.sequence_id = True
        return col

    if all(_FLOAT_RE.fullmatch(s) for s in distinct):
        parsed = {s: float(s) for s in distinct}
        if all(math.isfinite(v) for v in parsed.values()):
            col.kind = "float"
            col.values = col.lookup(parsed)
            decs = set()
            for s in distinct:
                mant = s.split("e")[0].split("E")[0]
                if "e" in s or "E" in s:
                    col.scientific = True
                decs.add(len(mant.split(".", 1)[1]) if "." in mant else 0)
            col.decimals = min(max(decs), 12)
            col.fixed_decimals = len(decs) == 1 and col.decimals > 0
            return col

    dates = _parse_date_values(distinct)
    if dates is not None:
        fmt, parsed = dates
        col.kind = "datetime" if is_time_format(fmt) else "date"
        col.date_format = fmt
        col.values = col.lookup(parsed)
        return col

    if len(distinct) >= NEAR_UNIQUE_RATIO * n_present:
        has_space = sum(1 for s in distinct if any(ch.isspace() for ch in s))
        col.kind = "text" if has_space >= 0.5 * len(distinct) else "identifier"
    else:
        col.kind = "categorical"
    return col
