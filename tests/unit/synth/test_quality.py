"""Quality report figures on tables small enough to check by hand."""

from __future__ import annotations

import numpy as np
import pytest

from app.synth.model import fit, sample
from app.synth.quality import (
    correlation_similarity,
    ks_complement,
    quality_report,
    tv_complement,
)
from app.synth.table import Table


def tbl(**cols: list[str | None]) -> Table:
    return Table(list(cols), list(cols.values()))


def test_ks_complement_by_hand() -> None:
    # real ECDF at 2: 0.5 (1,2 of 1,2,3,4); synthetic 3,4,5,6 at 2: 0 -> max gap 0.5 at x=2
    assert ks_complement(np.array([1.0, 2, 3, 4]), np.array([3.0, 4, 5, 6])) == pytest.approx(0.5)
    assert ks_complement(np.array([1.0, 2, 3]), np.array([1.0, 2, 3])) == 1.0
    assert ks_complement(np.array([1.0, 2, np.nan]), np.array([1.0, 2])) == 1.0


def test_tv_complement_by_hand() -> None:
    # real a:0.5 b:0.5, synth a:0.75 b:0.25 -> TV = 0.5*(0.25+0.25) = 0.25
    assert tv_complement(["a", "b", "a", "b"], ["a", "a", "a", "b"]) == pytest.approx(0.75)
    assert tv_complement(["a"], ["b"]) == 0.0


def test_correlation_similarity_by_hand() -> None:
    x = np.array([1.0, 2, 3, 4])
    # perfectly correlated vs perfectly anti-correlated: 1 - |1 - (-1)| / 2 = 0
    assert correlation_similarity(x, x, x, -x) == pytest.approx(0.0)
    assert correlation_similarity(x, x, x, 2 * x) == pytest.approx(1.0)


def test_identical_tables_score_one_and_match_exactly() -> None:
    t = tbl(a=["1", "2", "3", "4"] * 5, b=["x", "y", "x", "z"] * 5)
    r = quality_report(t, t)
    assert r["overall"] == 1.0
    assert r["column_shapes"] == 1.0 and r["column_pair_trends"] == 1.0
    assert r["privacy"]["exact_match_rate"] == 1.0
    assert [c["metric"] for c in r["columns"]] == ["KSComplement", "TVComplement"]
    assert r["pairs"][0]["metric"] == "ContingencySimilarity"


def test_hand_checked_report() -> None:
    real = tbl(n=["1", "2", "3", "4"], c=["a", "b", "a", "b"])
    syn = tbl(n=["3", "4", "5", "6"], c=["a", "a", "a", "b"])
    r = quality_report(real, syn)
    scores = {c["name"]: c["score"] for c in r["columns"]}
    assert scores == {"n": 0.5, "c": 0.75}
    assert r["column_shapes"] == pytest.approx(0.625)
    # contingency: n binned on real range [1,4] in 10 bins: real (0,a)(3,b)(6,a)(9,b);
    # synthetic 3->6,a 4->9,a 5,6 clip->9 a,b => (6,a)(9,a)(9,a)(9,b)
    # TV = 0.5 * (.25 for (0,a) + .25 for (3,b) + .5 for (9,a)) = 0.5
    assert r["pairs"] == [{"columns": ["n", "c"], "metric": "ContingencySimilarity", "score": 0.5}]
    assert r["overall"] == pytest.approx((0.625 + 0.5) / 2)
    assert r["privacy"]["exact_match_rate"] == 0.25  # only (3, a) is a real row


def test_correlation_pair_metric_for_two_numbers() -> None:
    real = tbl(x=["1", "2", "3", "4", "5"], y=["2", "4", "6", "8", "10"])
    syn = tbl(x=["1", "2", "3", "4", "5"], y=["10", "8", "6", "4", "2"])
    r = quality_report(real, syn)
    assert r["pairs"] == [{"columns": ["x", "y"], "metric": "CorrelationSimilarity", "score": 0.0}]


def test_identifiers_and_text_are_not_scored() -> None:
    t = tbl(id=[f"k{i}x" for i in range(10)], v=[str(i % 3) for i in range(10)])
    r = quality_report(t, t)
    assert r["columns"][0]["metric"] is None and r["columns"][0]["score"] is None


def test_dates_use_ks() -> None:
    real = tbl(d=["2020-01-01", "2020-01-02", "2020-01-03", "2020-01-04"])
    syn = tbl(d=["2020-01-03", "2020-01-04", "2020-01-05", "2020-01-06"])
    r = quality_report(real, syn)
    assert r["columns"][0]["metric"] == "KSComplement" and r["columns"][0]["score"] == 0.5


def test_copies_are_flagged_by_dcr() -> None:
    rng = np.random.default_rng(0)
    cols = {f"c{i}": [f"{v:.4f}" for v in rng.normal(size=400)] for i in range(4)}
    real = tbl(**cols)
    copy = quality_report(real, real)["privacy"]
    assert copy["exact_match_rate"] == 1.0
    assert copy["dcr_synthetic_median"] < copy["dcr_holdout_median"]
    assert copy["closer_than_holdout_share"] > 0.6
    synth = quality_report(real, sample(fit(real), 400, 1))["privacy"]
    assert synth["exact_match_rate"] == 0.0
    assert 0.3 < synth["closer_than_holdout_share"] < 0.7
    assert synth["dcr_ratio"] > 0.7


def test_explicit_holdout() -> None:
    rng = np.random.default_rng(1)
    train = tbl(
        a=[f"{v:.3f}" for v in rng.normal(size=300)], b=[f"{v:.3f}" for v in rng.normal(size=300)]
    )
    hold = tbl(
        a=[f"{v:.3f}" for v in rng.normal(size=300)], b=[f"{v:.3f}" for v in rng.normal(size=300)]
    )
    p = quality_report(train, train, holdout=hold)["privacy"]
    assert p["dcr_synthetic_median"] == 0.0 and p["closer_than_holdout_share"] == 1.0


def test_report_is_bounded_and_accepts_sample_tables() -> None:
    rng = np.random.default_rng(2)
    real = tbl(a=[str(v) for v in rng.integers(0, 100, 3000)], b=list(rng.choice(["p", "q"], 3000)))
    s = sample(fit(real), 20_000, 3)
    r = quality_report(real, s, max_rows=500)
    assert r["rows"] == {"real": 3000, "synthetic": 20_000}
    assert r["privacy"]["rows_compared"]["synthetic"] <= 500
    assert r["overall"] > 0.9


def test_mismatched_columns_rejected() -> None:
    with pytest.raises(ValueError):
        quality_report(tbl(a=["1"]), tbl(b=["1"]))


def test_report_is_deterministic() -> None:
    rng = np.random.default_rng(3)
    real = tbl(a=[str(v) for v in rng.integers(0, 100, 8000)])
    s = sample(fit(real), 8000, 1)
    assert quality_report(real, s, max_rows=1000, seed=4) == quality_report(
        real, s, max_rows=1000, seed=4
    )


def test_sample_table_scored_like_its_table() -> None:
    rng = np.random.default_rng(5)
    real = tbl(a=[str(v) for v in rng.integers(0, 50, 2000)], b=list(rng.choice(["p", "q"], 2000)))
    s = sample(fit(real), 6000, 2)
    direct = quality_report(real, s, max_rows=700, seed=1)
    via_table = quality_report(real, s.to_table(), max_rows=700, seed=1)
    assert direct == via_table
