"""Gaussian copula over empirical marginals: fit, serialise, sample.

Why this shape:

* Marginals are empirical (interpolated quantiles for continuous numbers,
  exact value frequencies for few-valued numbers, cumulative intervals for
  categories), so single-column shapes match the data closely without
  assuming a parametric family.
* Dependence is one correlation matrix of normal scores, estimated on
  pairwise-complete rows; it captures monotone relationships between any
  pair of modelled columns and samples with one matrix product.
* Identifiers and free text are never modelled value by value; they are
  regenerated from their shapes (see ``shapes``). Categories seen fewer than
  ``rare_category_floor`` times are not kept in the model at all.

Sampling is keyed by ``(seed, chunk_index)`` only, so any worker can produce
any chunk and get the same rows; memory is bounded by the chunk's size.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._normal import norm_cdf, norm_ppf
from .infer import MISSING_TOKENS, ColumnData, infer_column
from .shapes import ShapeGen, csv_escape
from .table import Table

FORMAT_MAGIC = b"SYNTHOS-MODEL\n"
FORMAT_VERSION = 1
#: Numeric columns with at most this many distinct values keep exact value frequencies.
DISCRETE_MAX_DISTINCT = 64
MAX_QUANTILES = 2001
#: Rows used to estimate the correlation matrix (marginals always use every row).
MAX_CORRELATION_ROWS = 200_000
_FIT_SEED = 20261126
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass
class ColumnModel:
    """Everything needed to regenerate one column; serialises to plain JSON."""

    name: str
    kind: str
    mode: str  # continuous | discrete | categorical | constant | empty | shape | sequence
    missing_rate: float = 0.0
    missing_token: str = ""
    quantiles: list[float] = field(
        default_factory=list
    )  # continuous: values at linspace(0, 1, len)
    values: list[float] = field(default_factory=list)  # discrete
    categories: list[str] = field(default_factory=list)  # categorical / constant
    cum: list[float] = field(
        default_factory=list
    )  # discrete / categorical: cumulative probs, last == 1
    shape: ShapeGen | None = None
    start: int = 0  # sequence: first new identifier (beyond every observed one)
    prefix: str = ""  # sequence: literal text before the number ("CUST-")
    width: int = 0  # sequence: zero-padded digit count (0 = no padding)
    decimals: int = 0
    min_decimals: int = 0
    scientific: bool = False
    big_integers: bool = False
    date_format: str | None = None

    @property
    def in_copula(self) -> bool:
        return self.mode in ("continuous", "discrete") or (
            self.mode == "categorical" and len(self.categories) > 1
        )

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "mode": self.mode,
            "missing_rate": self.missing_rate,
            "missing_token": self.missing_token,
        }
        for key in ("quantiles", "values", "categories", "cum"):
            if getattr(self, key):
                d[key] = getattr(self, key)
        if self.shape is not None:
            d["shape"] = self.shape.to_dict()
        for key, default in (
            ("start", 0),
            ("prefix", ""),
            ("width", 0),
            ("decimals", 0),
            ("min_decimals", 0),
            ("scientific", False),
            ("big_integers", False),
            ("date_format", None),
        ):
            if getattr(self, key) != default:
                d[key] = getattr(self, key)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ColumnModel:
        return cls(
            name=str(d["name"]),
            kind=str(d["kind"]),
            mode=str(d["mode"]),
            missing_rate=float(d.get("missing_rate", 0.0)),
            missing_token=str(d.get("missing_token", "")),
            quantiles=[float(x) for x in d.get("quantiles", [])],
            values=[float(x) for x in d.get("values", [])],
            categories=[str(x) for x in d.get("categories", [])],
            cum=[float(x) for x in d.get("cum", [])],
            shape=ShapeGen.from_dict(d["shape"]) if d.get("shape") else None,
            start=int(d.get("start", 0)),
            prefix=str(d.get("prefix", "")),
            width=int(d.get("width", 0)),
            decimals=int(d.get("decimals", 0)),
            min_decimals=int(d.get("min_decimals", 0)),
            scientific=bool(d.get("scientific", False)),
            big_integers=bool(d.get("big_integers", False)),
            date_format=d.get("date_format"),
        )


@dataclass
class SynthModel:
    """A fitted table model: per-column marginals plus the copula correlation."""

    names: list[str]
    columns: list[ColumnModel]
    copula: list[int]  # indices of columns in the copula, in matrix order
    correlation: np.ndarray  # (k, k)
    n_rows: int
    rare_category_floor: int
    _chol: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def cholesky(self) -> np.ndarray:
        if self._chol is None:
            k = len(self.copula)
            self._chol = np.linalg.cholesky(self.correlation) if k else np.zeros((0, 0))
        return self._chol

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "synthos-gaussian-copula",
            "version": FORMAT_VERSION,
            "n_rows": self.n_rows,
            "rare_category_floor": self.rare_category_floor,
            "names": self.names,
            "columns": [c.to_dict() for c in self.columns],
            "copula": self.copula,
            "correlation": [[round(float(x), 12) for x in row] for row in self.correlation],
        }

    def to_bytes(self) -> bytes:
        """Versioned, compressed JSON; contains no code, so loading is safe."""
        body = json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False).encode("utf-8")
        return FORMAT_MAGIC + zlib.compress(body, 6)

    @classmethod
    def from_bytes(cls, data: bytes) -> SynthModel:
        if not data.startswith(FORMAT_MAGIC):
            raise ValueError("Not a Synthos model (bad header).")
        try:
            doc = json.loads(zlib.decompress(data[len(FORMAT_MAGIC) :]))
        except (zlib.error, ValueError) as exc:
            raise ValueError(f"Corrupt Synthos model: {exc}") from exc
        version = doc.get("version") if isinstance(doc, dict) else None
        if version != FORMAT_VERSION:
            raise ValueError(
                f"Unsupported Synthos model version {version!r}; "
                f"this engine reads version {FORMAT_VERSION}."
            )
        return cls.from_dict(doc)

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> SynthModel:
        cols = [ColumnModel.from_dict(c) for c in doc["columns"]]
        copula = [int(i) for i in doc["copula"]]
        corr = np.asarray(doc["correlation"], dtype=np.float64).reshape(len(copula), len(copula))
        return cls(
            names=[str(n) for n in doc["names"]],
            columns=cols,
            copula=copula,
            correlation=corr,
            n_rows=int(doc["n_rows"]),
            rare_category_floor=int(doc["rare_category_floor"]),
        )


# --------------------------------------------------------------------------- fit


def _uniform_scores_sorted(
    x: np.ndarray, sorted_vals: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Empirical-CDF scores with ties spread uniformly over their interval."""
    n = sorted_vals.size
    lo = np.searchsorted(sorted_vals, x, side="left")
    hi = np.searchsorted(sorted_vals, x, side="right")
    return (lo + rng.random(x.size) * (hi - lo)) / n


def _fit_numeric(col: ColumnData, rng: np.random.Generator) -> tuple[ColumnModel, np.ndarray]:
    assert col.values is not None
    vals = col.values
    s = np.sort(vals)
    uniq, counts = np.unique(s, return_counts=True)
    model = ColumnModel(
        name=col.name,
        kind=col.kind,
        mode="continuous",
        decimals=col.decimals,
        scientific=col.scientific,
        big_integers=col.big_integers,
        date_format=col.date_format,
    )
    model.min_decimals = col.decimals if col.fixed_decimals else 0
    if uniq.size <= DISCRETE_MAX_DISTINCT:
        model.mode = "discrete"
        model.values = uniq.tolist()
        cum = np.cumsum(counts) / vals.size
        cum[-1] = 1.0
        model.cum = cum.tolist()
    elif s.size <= MAX_QUANTILES:
        model.quantiles = s.tolist()
    else:
        # linear-interpolated quantiles of the sorted data (np.quantile's default, without its
        # per-quantile partitioning cost)
        pos = np.linspace(0.0, s.size - 1.0, MAX_QUANTILES)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, s.size - 1)
        model.quantiles = (s[lo] + (pos - lo) * (s[hi] - s[lo])).tolist()
    return model, _uniform_scores_sorted(vals, s, rng)


def _fit_categorical(
    col: ColumnData, floor: int, rng: np.random.Generator, key: np.ndarray | None = None
) -> tuple[ColumnModel, np.ndarray | None]:
    """Categories as intervals of [0, 1]; rare ones (count < floor) are dropped, never stored.

    Order along the interval is ``key`` (see ``_category_order``) when given,
    else frequency.
    """
    counts = col.counts
    if col.kind == "boolean":
        assert col.bool_values is not None
        order = [col.distinct.index(c) for c in col.bool_values if c in col.distinct]
    else:
        order = sorted(
            (i for i in range(len(col.distinct)) if counts[i] >= floor),
            key=lambda i: (0.0 if key is None else float(key[i]), -counts[i], col.distinct[i]),
        )
    model = ColumnModel(name=col.name, kind=col.kind, mode="categorical")
    if not order:
        model.mode = "shape"
        model.shape = ShapeGen.fit(col.strings, rng)
        return model, None
    model.categories = [col.distinct[i] for i in order]
    if len(order) == 1:
        model.mode = "constant"
        return model, None
    kept_counts = counts[order].astype(np.float64)
    cum = np.cumsum(kept_counts / kept_counts.sum())
    cum[-1] = 1.0
    model.cum = cum.tolist()
    remap = np.full(len(col.distinct), -1, dtype=np.int64)
    remap[order] = np.arange(len(order))
    codes = remap[col.present_codes]
    lo_edges = np.concatenate([[0.0], cum[:-1]])
    u = np.full(codes.size, np.nan)
    ok = codes >= 0
    c = codes[ok]
    u[ok] = lo_edges[c] + rng.random(c.size) * (cum[c] - lo_edges[c])
    return model, u


def _nearest_psd_correlation(c: np.ndarray) -> np.ndarray:
    c = np.nan_to_num((c + c.T) / 2.0, nan=0.0)
    np.fill_diagonal(c, 1.0)
    w, v = np.linalg.eigh(c)
    if w.min() < 1e-6:
        w = np.clip(w, 1e-6, None)
        c = (v * w) @ v.T
        d = np.sqrt(np.diag(c))
        c = c / np.outer(d, d)
    # a small ridge keeps the Cholesky factorisation stable for near-duplicate columns
    c = c * (1.0 - 1e-9) + np.eye(c.shape[0]) * 1e-9
    np.fill_diagonal(c, 1.0)
    return c


def _pairwise_correlation(z: np.ndarray) -> np.ndarray:
    """Pearson correlation of normal scores over pairwise-complete rows."""
    m = ~np.isnan(z)
    z0 = np.where(m, z, 0.0)
    mf = m.astype(np.float64)
    n = mf.T @ mf
    sx = z0.T @ mf  # sum of x_i over rows where j present
    sxx = (z0 * z0).T @ mf
    sxy = z0.T @ z0
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = sxy - sx * sx.T / n
        var_i = sxx - sx * sx / n
        corr = cov / np.sqrt(var_i * var_i.T)
    corr[n < 3] = 0.0
    return corr


def fit(
    table: Table, *, rare_category_floor: int = 5, max_correlation_rows: int = MAX_CORRELATION_ROWS
) -> SynthModel:
    """Learn each column's marginal and the copula correlation from ``table``.

    ``rare_category_floor``: categories seen fewer times are not reproduced
    (privacy floor; 1 keeps every category).
    """
    if rare_category_floor < 1:
        raise ValueError("rare_category_floor must be >= 1")
    if table.n_columns == 0:
        raise ValueError("The table has no columns.")
    if table.n_rows == 0:
        raise ValueError("The table has no rows.")
    n = table.n_rows
    rng = np.random.default_rng(_FIT_SEED)
    corr_rows = None
    if n > max_correlation_rows:
        corr_rows = np.sort(rng.choice(n, size=max_correlation_rows, replace=False))
    columns: list[ColumnModel | None] = []
    full_u: dict[int, np.ndarray] = {}
    deferred: list[tuple[int, ColumnData]] = []
    for j, (name, cells) in enumerate(zip(table.names, table.columns, strict=True)):
        col = infer_column(name, cells)
        cm: ColumnModel | None
        u: np.ndarray | None = None
        if col.kind == "empty":
            cm = ColumnModel(name=name, kind="empty", mode="empty")
        elif col.kind in ("integer", "float", "date", "datetime"):
            cm, u = _fit_numeric(col, rng)
        elif col.kind == "identifier" and col.sequence_id:
            assert col.values is not None
            cm = ColumnModel(
                name=name, kind="identifier", mode="sequence", start=int(col.values.max()) + 1
            )
        elif col.kind == "identifier" and (seq := _numbered_identifier(name, col.strings)):
            cm = seq
        elif col.kind in ("identifier", "text"):
            cm = ColumnModel(
                name=name, kind=col.kind, mode="shape", shape=ShapeGen.fit(col.strings, rng)
            )
        else:  # categorical, boolean, constant: after the numbers, which order the categories
            deferred.append((j, col))
            cm = None
        if cm is not None:
            _finish_column(cm, col, cells, n)
            if u is not None and cm.in_copula:
                full_u[j] = _spread(u, col, n)
        columns.append(cm)

    numeric_z = [norm_ppf(full_u[j]) for j in sorted(full_u)]
    order_rows = rng.choice(n, size=50_000, replace=False) if n > 50_000 else None
    for j, col in deferred:
        floor = 1 if col.kind == "boolean" else rare_category_floor
        key = None if col.kind == "boolean" else _category_order(col, numeric_z, order_rows)
        cm, u = _fit_categorical(col, floor, rng, key)
        _finish_column(cm, col, table.columns[j], n)
        columns[j] = cm
        if u is not None and cm.in_copula:
            full_u[j] = _spread(u, col, n)
    final = [c for c in columns if c is not None]
    copula = sorted(full_u)
    scores = []
    for j in copula:
        uj = full_u[j] if corr_rows is None else full_u[j][corr_rows]
        scores.append(norm_ppf(uj))  # NaN (missing) stays NaN
    if copula:
        z = np.column_stack(scores)
        corr = _nearest_psd_correlation(_pairwise_correlation(z))
    else:
        corr = np.zeros((0, 0))
    return SynthModel(
        names=list(table.names),
        columns=final,
        copula=copula,
        correlation=corr,
        n_rows=n,
        rare_category_floor=rare_category_floor,
    )


def _finish_column(cm: ColumnModel, col: ColumnData, cells: list[str | None], n: int) -> None:
    if col.kind == "float" and not col.fixed_decimals:
        cm.min_decimals = 1 if all("." in s for s in _sample_strings(cells)) else 0
    cm.missing_rate = col.n_missing / n if n else 0.0
    cm.missing_token = col.missing_token


def _spread(u: np.ndarray, col: ColumnData, n: int) -> np.ndarray:
    """Uniform scores of the present cells back onto all rows (NaN where missing)."""
    full = np.full(n, np.nan)
    full[~col.missing] = u
    return full


def _category_order(
    col: ColumnData, numeric_z: list[np.ndarray], rows: np.ndarray | None
) -> np.ndarray | None:
    """Per-category mean score of the numeric column that the category explains best.

    Ordering categories along it makes the category/number relationship
    monotone, which is what a Gaussian copula can represent; frequency order
    would scramble it.
    """
    codes = col.codes if rows is None else col.codes[rows]
    k = len(col.distinct)
    best, best_means = 0.0, None
    for z_all in numeric_z:
        z = z_all if rows is None else z_all[rows]
        ok = (codes >= 0) & ~np.isnan(z)
        if ok.sum() < 10:
            continue
        c, zz = codes[ok], z[ok]
        cnt = np.bincount(c, minlength=k).astype(np.float64)
        means = np.bincount(c, weights=zz, minlength=k) / np.maximum(cnt, 1.0)
        centre = zz.mean()
        total = float(((zz - centre) ** 2).sum())
        if total <= 0:
            continue
        eta2 = float((cnt * (means - centre) ** 2).sum()) / total
        if eta2 > best:
            best, best_means = eta2, means
    return best_means


_NUMBERED_RE = re.compile(r"(.*?)([0-9]+)")


def _numbered_identifier(name: str, values: list[str]) -> ColumnModel | None:
    """``PREFIX`` + number identifiers continue after the largest one: new, unique, same shape."""
    prefix: str | None = None
    widths: set[int] = set()
    top = -1
    for v in values:
        m = _NUMBERED_RE.fullmatch(v)
        if m is None or (prefix is not None and m.group(1) != prefix):
            return None
        prefix = m.group(1)
        widths.add(len(m.group(2)))
        top = max(top, int(m.group(2)))
    if prefix is None:
        return None
    padded = len(widths) == 1 and any(
        v[len(prefix)] == "0" and len(v) - len(prefix) > 1 for v in values[:1000]
    )
    return ColumnModel(
        name=name,
        kind="identifier",
        mode="sequence",
        start=top + 1,
        prefix=prefix,
        width=widths.pop() if padded else 0,
    )


def _sample_strings(cells: list[str | None], limit: int = 1000) -> list[str]:
    out = []
    for v in cells:
        if v is not None and v.strip() not in MISSING_TOKENS:
            out.append(v.strip())
            if len(out) >= limit:
                break
    return out


# --------------------------------------------------------------------------- sample


@dataclass
class SampledColumn:
    """One sampled column, kept typed until rendered (formatting is the expensive part)."""

    model: ColumnModel
    numbers: np.ndarray | None = None  # float64 for numeric modes, int64 for sequence
    codes: np.ndarray | None = None  # categorical codes
    strings: np.ndarray | None = None  # object array (shape mode)
    missing: np.ndarray | None = None
    offset: int = 0  # sequence: row offset of this chunk

    def render(self, start: int, stop: int, escape: bool) -> list[str]:
        m = self.model
        n = stop - start
        if m.mode == "empty":
            tok = csv_escape(m.missing_token) if escape else m.missing_token
            return [tok] * n
        if m.mode == "constant":
            v = m.categories[0]
            out = [csv_escape(v) if escape else v] * n
        elif m.mode == "categorical":
            assert self.codes is not None
            cats = np.array([csv_escape(c) if escape else c for c in m.categories], dtype=object)
            out = cats[self.codes[start:stop]].tolist()
        elif m.mode == "shape":
            assert self.strings is not None and m.shape is not None
            out = self.strings[start:stop].tolist()
            if escape and m.shape.needs_escape:
                out = [csv_escape(s) for s in out]
        elif m.mode == "sequence":
            assert self.numbers is not None
            fmt = f"{{}}{{:0{m.width}d}}".format if m.width else "{}{}".format
            base = m.start + self.offset
            out = [fmt(m.prefix, base + i) for i in self.numbers[start:stop].tolist()]
            if escape and any(c in m.prefix for c in ',"\n\r'):
                out = [csv_escape(v) for v in out]
        else:
            assert self.numbers is not None
            out = format_numbers(m, self.numbers[start:stop])
        if self.missing is not None:
            miss = np.flatnonzero(self.missing[start:stop])
            if miss.size:
                tok = csv_escape(m.missing_token) if escape else m.missing_token
                for i in miss.tolist():
                    out[i] = tok
        return out


def format_numbers(m: ColumnModel, x: np.ndarray) -> list[str]:
    """Render numbers as the input wrote them: integers, fixed decimals, dates in their format."""
    if m.kind == "integer":
        if m.big_integers:
            # float -> int is exact for any float, so huge integers print all their digits
            return [str(int(v)) for v in np.rint(x).tolist()]
        return list(map(str, np.rint(x).astype(np.int64).tolist()))
    if m.kind in ("date", "datetime"):
        return format_dates(x, m.date_format or "%Y-%m-%d")
    if m.scientific:
        return list(map(repr, x.tolist()))
    d = m.decimals
    if d == 0:
        return (
            list(map(str, np.rint(x).astype(np.int64).tolist()))
            if np.all(np.abs(x) < 2**62)
            else [f"{v:.0f}" for v in x.tolist()]
        )
    fmt = f"{{:.{d}f}}".format
    strs = list(map(fmt, x.tolist()))
    if (
        m.min_decimals == 1 < d
    ):  # common case, kept cheap: "69790.80" -> "69790.8", "23.00" -> "23.0"

        def trim1(s: str) -> str:
            t = s.rstrip("0")
            return t + "0" if t[-1] == "." else t

        return list(map(trim1, strs))
    if m.min_decimals < d:
        keep = m.min_decimals

        def trim(s: str) -> str:
            t = s.rstrip("0")
            dot = t.index(".")
            if len(t) - dot - 1 < keep:
                t = s[: dot + 1 + keep]
            return t[:-1] if t.endswith(".") else t

        strs = list(map(trim, strs))
    return strs


def format_dates(seconds: np.ndarray, fmt: str) -> list[str]:
    """Vectorised strftime for the formats in ``infer.DATE_FORMATS``."""
    if fmt == "%Y-%m-%d":
        return np.datetime_as_string(
            np.floor(seconds / 86400.0).astype("datetime64[D]"), unit="D"
        ).tolist()
    micro = np.rint(seconds * 1e6).astype(np.int64)
    dt = micro.astype("datetime64[us]")
    days = dt.astype("datetime64[D]")
    years = days.astype("datetime64[Y]")
    months = days.astype("datetime64[M]")
    Y = years.astype(np.int64) + 1970
    mo = (months - years).astype(np.int64) + 1
    d = (days - months).astype(np.int64) + 1
    rem = (dt - days).astype(np.int64)
    H = rem // 3_600_000_000
    Mi = (rem // 60_000_000) % 60
    S = (rem // 1_000_000) % 60
    f = rem % 1_000_000
    py_fmt = fmt.replace("{", "{{").replace("}", "}}")
    for directive, repl in (
        ("%Y", "{0:04d}"),
        ("%m", "{1:02d}"),
        ("%d", "{2:02d}"),
        ("%H", "{3:02d}"),
        ("%M", "{4:02d}"),
        ("%S", "{5:02d}"),
        ("%f", "{6:06d}"),
        ("%b", "{7}"),
    ):
        py_fmt = py_fmt.replace(directive, repl)
    names = (
        np.array(_MONTHS, dtype=object)[mo - 1] if "%b" in fmt else np.zeros(len(Y), dtype=np.int8)
    )
    return list(
        map(
            py_fmt.format,
            Y.tolist(),
            mo.tolist(),
            d.tolist(),
            H.tolist(),
            Mi.tolist(),
            S.tolist(),
            f.tolist(),
            names.tolist(),
        )
    )


def _round_for(m: ColumnModel, x: np.ndarray) -> np.ndarray:
    if m.kind == "integer":
        return np.rint(x)
    if m.kind == "float" and not m.scientific:
        return np.round(x, m.decimals)
    if m.kind == "date":
        return np.floor(x / 86400.0 + 0.5) * 86400.0
    if m.kind == "datetime":
        fmt = m.date_format or ""
        if "%f" in fmt:
            return np.round(x, 6)
        step = 1.0 if "%S" in fmt else 60.0
        return np.rint(x / step) * step
    return x


def _invert(m: ColumnModel, u: np.ndarray) -> np.ndarray:
    """Map copula uniforms back to values (numbers) or category codes."""
    if m.mode == "continuous":
        q = np.asarray(m.quantiles)
        return _round_for(m, np.interp(u, np.linspace(0.0, 1.0, q.size), q))
    cum = np.asarray(m.cum)
    idx = np.minimum(np.searchsorted(cum, u, side="right"), cum.size - 1)
    if m.mode == "discrete":
        return np.asarray(m.values)[idx]
    return idx.astype(np.int32)


def sample(
    model: SynthModel,
    rows: int,
    seed: int,
    chunk_index: int = 0,
    *,
    row_offset: int | None = None,
) -> SampleTable:
    """Generate ``rows`` rows for chunk ``chunk_index``.

    The result depends only on (model, seed, chunk_index, rows, row_offset):
    not on other chunks, their number, or the worker. ``row_offset`` is the
    global index of the chunk's first row (default ``chunk_index * rows``);
    it only positions generated sequential identifiers, so chunks of unequal
    size (the last one) should pass it to keep identifiers unique.
    """
    if rows < 0 or seed < 0 or chunk_index < 0:
        raise ValueError("rows, seed and chunk_index must be non-negative")
    offset = chunk_index * rows if row_offset is None else int(row_offset)
    if offset < 0:
        raise ValueError("row_offset must be non-negative")
    ss = np.random.SeedSequence([int(seed), int(chunk_index)])
    children = ss.spawn(len(model.columns) + 1)
    k = len(model.copula)
    uniforms: dict[int, np.ndarray] = {}
    if k:
        eps = np.random.default_rng(children[0]).standard_normal((rows, k))
        u = norm_cdf(eps @ model.cholesky.T)
        for pos, j in enumerate(model.copula):
            uniforms[j] = u[:, pos]
    out: list[SampledColumn] = []
    for j, m in enumerate(model.columns):
        rng = np.random.default_rng(children[j + 1])
        missing = rng.random(rows) < m.missing_rate if m.missing_rate > 0 else None
        sc = SampledColumn(model=m, missing=missing)
        if m.mode in ("continuous", "discrete", "categorical"):
            uj = uniforms[j] if j in uniforms else rng.random(rows)
            res = _invert(m, uj)
            if m.mode == "categorical":
                sc.codes = res
            else:
                sc.numbers = res
        elif m.mode == "sequence":
            sc.numbers = np.arange(rows, dtype=np.int64)
            sc.offset = offset
        elif m.mode == "shape":
            assert m.shape is not None
            sc.strings = m.shape.sample(rows, rng)
        out.append(sc)
    return SampleTable(list(model.names), out, rows)


class SampleTable:
    """Columnar sampling result: typed arrays rendered to CSV cells block by block."""

    def __init__(self, names: list[str], columns: list[SampledColumn], n_rows: int) -> None:
        self.names = names
        self.sampled = columns
        self._n = n_rows

    @property
    def n_rows(self) -> int:
        return self._n

    @property
    def n_columns(self) -> int:
        return len(self.names)

    def subset(self, rows: np.ndarray | list[int]) -> SampleTable:
        """Only the given rows (scoring a bounded sample of a big result renders only those)."""
        idx = np.asarray(rows, dtype=np.int64)

        def pick(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[idx]

        cols = [
            SampledColumn(
                model=c.model,
                numbers=pick(c.numbers),
                codes=pick(c.codes),
                strings=pick(c.strings),
                missing=pick(c.missing),
                offset=c.offset,
            )
            for c in self.sampled
        ]
        return SampleTable(self.names, cols, int(idx.size))

    def render_block(self, start: int, stop: int) -> list[list[str]]:
        """CSV-escaped cells per column for rows ``start:stop`` (see ``table.write_csv``)."""
        return [c.render(start, stop, escape=True) for c in self.sampled]

    def to_table(self) -> Table:
        """Raw strings with ``None`` for missing cells (for profiling or the quality report)."""
        cols: list[list[str | None]] = []
        for c in self.sampled:
            vals: list[str | None] = list(c.render(0, self._n, escape=False))
            if c.missing is not None:
                for i in np.flatnonzero(c.missing).tolist():
                    vals[i] = None
            if c.model.mode == "empty":
                vals = [None] * self._n
            cols.append(vals)
        return Table(self.names, cols)

    @property
    def columns(self) -> list[list[str | None]]:
        return self.to_table().columns

    def __repr__(self) -> str:
        return f"SampleTable({self._n} rows x {len(self.names)} columns)"
