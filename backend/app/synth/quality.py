"""Quality and privacy report shown beside every generated result.

Metrics follow SDMetrics' single-table QualityReport so numbers are
comparable with the benchmark:

* column shapes: ``KSComplement`` (1 - two-sample KS statistic) for numbers
  and dates, ``TVComplement`` (1 - total variation distance) for booleans and
  categories; identifiers, free text and empty columns are not scored;
* column pair trends: ``CorrelationSimilarity`` (1 - |r_real - r_syn| / 2,
  Pearson) for two numeric/date columns, ``ContingencySimilarity``
  (1 - TV distance of the joint distribution, numbers in 10 equal-width bins
  of the real range) otherwise;
* ``overall`` = mean of the two averages.

Privacy: ``exact_match_rate`` is the share of synthetic rows identical to
some real row, with ``holdout_exact_match_rate`` (real rows identical to
other real rows) as the natural baseline for low-cardinality tables. The
distance to closest record (DCR, Gower-style: range-scaled absolute
difference for numbers, 0/1 mismatch otherwise, averaged over columns) is
computed from synthetic rows to a reference part of the real rows and from
a holdout part of the real rows to the same reference.
``closer_than_holdout_share`` is P(DCR_synthetic < DCR_holdout) with ties
counted half: 0.5 means synthetic rows are no closer to real rows than fresh
real rows are; values near 1 indicate copying. Pass ``holdout`` (rows the
model never saw) for the strict version; without it the real rows are split
in two, which still exposes memorisation of half of them.

Everything runs on at most ``max_rows`` rows per side, so the cost is bounded
regardless of the output's size.

Report fields::

    {"overall", "column_shapes", "column_pair_trends",
     "columns": [{"name", "kind", "metric", "score"}],
     "pairs": [{"columns": [a, b], "metric", "score"}],
     "privacy": {"exact_match_rate", "holdout_exact_match_rate",
                 "dcr_synthetic_median", "dcr_holdout_median", "dcr_ratio",
                 "closer_than_holdout_share", "rows_compared"},
     "rows": {"real", "synthetic"}}
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any, Protocol

import numpy as np

from .infer import MISSING_TOKENS, ColumnData, infer_column
from .table import Table

NUMERIC_KINDS = ("integer", "float", "date", "datetime")
CATEGORY_KINDS = ("boolean", "categorical", "constant")
CONTINGENCY_BINS = 10
MAX_PAIRS = 600
DCR_BUDGET = 40_000_000  # query rows x reference rows x columns
MAX_EXACT_REFERENCE_ROWS = 500_000
_EPOCH = _dt.datetime(1970, 1, 1)


class _HasTable(Protocol):
    """A sampled result (``model.SampleTable``)."""

    names: list[str]

    @property
    def n_rows(self) -> int: ...

    def to_table(self) -> Table: ...

    def subset(self, rows: np.ndarray) -> _HasTable: ...


def _as_table(t: Table | _HasTable) -> Table:
    return t if isinstance(t, Table) else t.to_table()


def _norm(v: str | None) -> str | None:
    if v is None:
        return None
    s = v.strip()
    return None if s in MISSING_TOKENS else s


def _to_numbers(cells: list[str | None], col: ColumnData) -> np.ndarray:
    """Parse cells with the real column's interpretation; unparseable -> NaN."""
    out = np.full(len(cells), np.nan)
    fmt = col.date_format
    cache: dict[str, float] = {}
    for i, v in enumerate(cells):
        s = _norm(v)
        if s is None:
            continue
        x = cache.get(s)
        if x is None:
            try:
                x = (_dt.datetime.strptime(s, fmt) - _EPOCH).total_seconds() if fmt else float(s)
            except ValueError:
                x = math.nan
            cache[s] = x
        out[i] = x
    return out


def ks_complement(real: np.ndarray, synthetic: np.ndarray) -> float:
    """1 - two-sample Kolmogorov-Smirnov statistic (NaNs dropped)."""
    a = np.sort(real[~np.isnan(real)])
    b = np.sort(synthetic[~np.isnan(synthetic)])
    if a.size == 0 or b.size == 0:
        return 1.0 if a.size == b.size else 0.0
    grid = np.concatenate([a, b])
    fa = np.searchsorted(a, grid, side="right") / a.size
    fb = np.searchsorted(b, grid, side="right") / b.size
    return float(1.0 - np.max(np.abs(fa - fb)))


def tv_complement(real: list[Any], synthetic: list[Any]) -> float:
    """1 - total variation distance between two category frequency tables."""
    if not real or not synthetic:
        return 1.0 if len(real) == len(synthetic) else 0.0
    keys: dict[Any, list[int]] = {}
    for v in real:
        keys.setdefault(v, [0, 0])[0] += 1
    for v in synthetic:
        keys.setdefault(v, [0, 0])[1] += 1
    nr, ns = len(real), len(synthetic)
    return float(1.0 - 0.5 * sum(abs(a / nr - b / ns) for a, b in keys.values()))


def correlation_similarity(rx: np.ndarray, ry: np.ndarray, sx: np.ndarray, sy: np.ndarray) -> float:
    """1 - |pearson(real) - pearson(synthetic)| / 2 on pairwise-complete rows."""

    def pearson(x: np.ndarray, y: np.ndarray) -> float:
        ok = ~(np.isnan(x) | np.isnan(y))
        x, y = x[ok], y[ok]
        if x.size < 2 or x.std() == 0 or y.std() == 0:
            return 0.0
        return float(np.corrcoef(x, y)[0, 1])

    return float(1.0 - abs(pearson(rx, ry) - pearson(sx, sy)) / 2.0)


def _discretise(real: np.ndarray, syn: np.ndarray) -> tuple[list[Any], list[Any]]:
    ok = real[~np.isnan(real)]
    lo, hi = (float(ok.min()), float(ok.max())) if ok.size else (0.0, 1.0)
    width = (hi - lo) / CONTINGENCY_BINS or 1.0

    def binned(x: np.ndarray) -> list[Any]:
        b = np.clip(np.floor((x - lo) / width), 0, CONTINGENCY_BINS - 1)
        return [None if math.isnan(v) else int(v) for v in b.tolist()]

    return binned(real), binned(syn)


def _sample_rows(t: Table, n: int, rng: np.random.Generator) -> Table:
    if t.n_rows <= n:
        return t
    return t.take(np.sort(rng.choice(t.n_rows, size=n, replace=False)).tolist())


def _dcr(
    query: list[list[Any]], ref: list[list[Any]], numeric: list[bool], ranges: list[float]
) -> np.ndarray:
    """Distance from each query row to its closest reference row (mean per-column distance)."""
    nq, nr = len(query[0]) if query else 0, len(ref[0]) if ref else 0
    if nq == 0 or nr == 0:
        return np.zeros(nq)
    n_cols = len(query)
    best = np.full(nq, np.inf)
    block = max(1, min(nq, 4_000_000 // max(1, nr)))
    enc_q: list[np.ndarray] = []
    enc_r: list[np.ndarray] = []
    for qc, rc, is_num in zip(query, ref, numeric, strict=False):
        if is_num:
            enc_q.append(np.asarray(qc, dtype=np.float64))
            enc_r.append(np.asarray(rc, dtype=np.float64))
        else:
            codes: dict[Any, int] = {}
            enc_r.append(np.array([codes.setdefault(v, len(codes)) for v in rc], dtype=np.int64))
            enc_q.append(np.array([codes.get(v, -1 - i) for i, v in enumerate(qc)], dtype=np.int64))
    for s in range(0, nq, block):
        e = min(nq, s + block)
        acc = np.zeros((e - s, nr))
        for q, r, is_num, rng_ in zip(enc_q, enc_r, numeric, ranges, strict=False):
            if is_num:
                qa, ra = q[s:e, None], r[None, :]
                d = np.abs(qa - ra) / rng_
                both_nan = np.isnan(qa) & np.isnan(ra)
                d = np.where(both_nan, 0.0, np.where(np.isnan(d), 1.0, np.minimum(d, 1.0)))
                acc += d
            else:
                acc += q[s:e, None] != r[None, :]
        best[s:e] = acc.min(axis=1) / n_cols
    return best


def _share_closer(syn: np.ndarray, hold: np.ndarray) -> float:
    """P(syn < hold) + 0.5 P(syn == hold) over all pairs."""
    if syn.size == 0 or hold.size == 0:
        return 0.5
    h = np.sort(hold)
    less = h.size - np.searchsorted(h, syn, side="right")  # holdout values strictly greater
    ties = np.searchsorted(h, syn, side="right") - np.searchsorted(h, syn, side="left")
    return float((less + 0.5 * ties).sum() / (syn.size * h.size))


def quality_report(
    real: Table,
    synthetic: Table | _HasTable,
    *,
    max_rows: int = 5000,
    seed: int = 0,
    holdout: Table | None = None,
    include_pairs: bool = True,
) -> dict[str, Any]:
    """Score ``synthetic`` against ``real`` (see module docstring for fields)."""
    if list(synthetic.names) != list(real.names):
        raise ValueError("synthetic and real tables must have the same columns in the same order")
    rng = np.random.default_rng(seed)
    r = _sample_rows(real, max_rows, rng)
    n_syn = synthetic.n_rows
    if not isinstance(synthetic, Table) and n_syn > max_rows:
        # render only the scored rows of a large sampled result (same draw as _sample_rows)
        synthetic = synthetic.subset(np.sort(rng.choice(n_syn, size=max_rows, replace=False)))
    s = _sample_rows(_as_table(synthetic), max_rows, rng)

    infos = [infer_column(n, c) for n, c in zip(r.names, r.columns, strict=False)]
    columns: list[dict[str, Any]] = []
    num_real: dict[int, np.ndarray] = {}
    num_syn: dict[int, np.ndarray] = {}
    cat_real: dict[int, list[Any]] = {}
    cat_syn: dict[int, list[Any]] = {}
    scored: list[int] = []
    for j, info in enumerate(infos):
        entry: dict[str, Any] = {
            "name": info.name,
            "kind": info.kind,
            "metric": None,
            "score": None,
        }
        if info.kind in NUMERIC_KINDS:
            num_real[j] = _to_numbers(r.columns[j], info)
            num_syn[j] = _to_numbers(s.columns[j], info)
            entry.update(
                metric="KSComplement", score=round(ks_complement(num_real[j], num_syn[j]), 6)
            )
            scored.append(j)
        elif info.kind in CATEGORY_KINDS:
            cat_real[j] = [_norm(v) for v in r.columns[j]]
            cat_syn[j] = [_norm(v) for v in s.columns[j]]
            entry.update(
                metric="TVComplement", score=round(tv_complement(cat_real[j], cat_syn[j]), 6)
            )
            scored.append(j)
        columns.append(entry)
    shape_scores = [c["score"] for c in columns if c["score"] is not None]
    column_shapes = float(np.mean(shape_scores)) if shape_scores else 1.0

    pairs: list[dict[str, Any]] = []
    if include_pairs and len(scored) > 1:
        all_pairs = [(a, b) for i, a in enumerate(scored) for b in scored[i + 1 :]]
        if len(all_pairs) > MAX_PAIRS:
            pick = np.sort(rng.choice(len(all_pairs), size=MAX_PAIRS, replace=False))
            all_pairs = [all_pairs[i] for i in pick]
        binned: dict[int, tuple[list[Any], list[Any]]] = {}
        for a, b in all_pairs:
            if a in num_real and b in num_real:
                score = correlation_similarity(num_real[a], num_real[b], num_syn[a], num_syn[b])
                metric = "CorrelationSimilarity"
            else:
                cols = []
                for j in (a, b):
                    if j in num_real:
                        if j not in binned:
                            binned[j] = _discretise(num_real[j], num_syn[j])
                        cols.append(binned[j])
                    else:
                        cols.append((cat_real[j], cat_syn[j]))
                score = tv_complement(
                    list(zip(cols[0][0], cols[1][0], strict=False)),
                    list(zip(cols[0][1], cols[1][1], strict=False)),
                )
                metric = "ContingencySimilarity"
            pairs.append(
                {
                    "columns": [infos[a].name, infos[b].name],
                    "metric": metric,
                    "score": round(score, 6),
                }
            )
    pair_scores = [p["score"] for p in pairs]
    column_pair_trends = float(np.mean(pair_scores)) if pair_scores else column_shapes
    overall = (column_shapes + column_pair_trends) / 2.0

    privacy = _privacy(real, r, s, infos, holdout, rng)
    return {
        "overall": round(overall, 6),
        "column_shapes": round(column_shapes, 6),
        "column_pair_trends": round(column_pair_trends, 6),
        "columns": columns,
        "pairs": pairs,
        "privacy": privacy,
        "rows": {"real": real.n_rows, "synthetic": n_syn},
    }


def _row_keys(t: Table) -> list[tuple[str | None, ...]]:
    return list(zip(*[[_norm(v) for v in c] for c in t.columns], strict=False)) if t.columns else []


def _privacy(
    real_full: Table,
    real: Table,
    syn: Table,
    infos: list[ColumnData],
    holdout: Table | None,
    rng: np.random.Generator,
) -> dict[str, Any]:
    if holdout is not None:
        ref, hold = real, _sample_rows(holdout, real.n_rows, rng)
    else:
        perm = rng.permutation(real.n_rows)
        half = real.n_rows // 2
        ref, hold = (
            real.take(np.sort(perm[half:]).tolist()),
            real.take(np.sort(perm[:half]).tolist()),
        )

    exact_ref = _sample_rows(real_full, MAX_EXACT_REFERENCE_ROWS, rng)
    real_keys = set(_row_keys(exact_ref))
    syn_keys = _row_keys(syn)
    exact = sum(1 for k in syn_keys if k in real_keys) / len(syn_keys) if syn_keys else 0.0
    ref_keys = set(_row_keys(ref))
    hold_keys = _row_keys(hold)
    hold_exact = sum(1 for k in hold_keys if k in ref_keys) / len(hold_keys) if hold_keys else 0.0

    n_cols = max(1, len(infos))
    side = int(max(50, min(max(1, hold.n_rows), math.sqrt(DCR_BUDGET / n_cols))))
    q_hold = _sample_rows(hold, side, rng)
    q_syn = _sample_rows(syn, min(side, max(1, hold.n_rows)), rng)
    ref_d = _sample_rows(ref, side, rng)
    numeric = [i.kind in NUMERIC_KINDS for i in infos]

    def enc(t: Table) -> list[list[Any]]:
        out: list[list[Any]] = []
        for j, info in enumerate(infos):
            if numeric[j]:
                out.append(_to_numbers(t.columns[j], info).tolist())
            else:
                out.append([_norm(v) for v in t.columns[j]])
        return out

    ranges = []
    for j, info in enumerate(infos):
        if numeric[j] and info.values is not None and info.values.size:
            span = float(info.values.max() - info.values.min())
            ranges.append(span if span > 0 else 1.0)
        else:
            ranges.append(1.0)
    ref_enc = enc(ref_d)
    d_syn = _dcr(enc(q_syn), ref_enc, numeric, ranges)
    d_hold = _dcr(enc(q_hold), ref_enc, numeric, ranges)
    med_s = float(np.median(d_syn)) if d_syn.size else 0.0
    med_h = float(np.median(d_hold)) if d_hold.size else 0.0
    if med_h > 0:
        ratio: float | None = round(med_s / med_h, 6)
    else:
        ratio = 1.0 if med_s == 0 else None
    return {
        "exact_match_rate": round(exact, 6),
        "holdout_exact_match_rate": round(hold_exact, 6),
        "dcr_synthetic_median": round(med_s, 6),
        "dcr_holdout_median": round(med_h, 6),
        "dcr_ratio": ratio,
        "closer_than_holdout_share": round(_share_closer(d_syn, d_hold), 6),
        "rows_compared": {
            "synthetic": int(d_syn.size),
            "holdout": int(d_hold.size),
            "reference": ref_d.n_rows,
        },
    }
