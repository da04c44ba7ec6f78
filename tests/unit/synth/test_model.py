"""Fit/sample behaviour per column kind, edge cases, determinism, serialisation, privacy."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from app.synth.model import FORMAT_MAGIC, SynthModel, fit, sample
from app.synth.table import Table, read_csv, write_csv


def make_table(**columns: list[str | None]) -> Table:
    return Table(list(columns), list(columns.values()))


BACKEND = Path(__file__).resolve().parents[3] / "backend"


def roundtrip_csv(s: object) -> Table:
    buf = io.BytesIO()
    write_csv(s, buf)  # type: ignore[arg-type]
    return read_csv(buf.getvalue(), allow_empty=True)


def test_sample_shape_and_names(mixed_table: Table) -> None:
    m = fit(mixed_table)
    s = sample(m, 500, seed=1)
    assert s.n_rows == 500
    assert s.names == mixed_table.names
    t = s.to_table()
    assert all(len(c) == 500 for c in t.columns)


def test_integers_stay_integers_within_bounds(mixed_table: Table) -> None:
    s = sample(fit(mixed_table), 2000, seed=2).to_table()
    ages = [int(v) for v in s.columns[0] if v is not None]  # int() fails on "3.0"
    real = [int(v) for v in mixed_table.columns[0] if v]
    assert min(ages) >= min(real) and max(ages) <= max(real)


def test_float_decimals_and_bounds(mixed_table: Table) -> None:
    s = sample(fit(mixed_table), 2000, seed=3).to_table()
    vals = [v for v in s.columns[1] if v is not None]
    assert all(len(v.split(".")[1]) == 2 for v in vals)
    real = [float(v) for v in mixed_table.columns[1] if v]
    assert min(map(float, vals)) >= min(real) and max(map(float, vals)) <= max(real)


def test_missing_rate_reproduced(mixed_table: Table) -> None:
    s = sample(fit(mixed_table), 20_000, seed=4).to_table()
    rate = sum(v is None for v in s.columns[1]) / 20_000
    assert abs(rate - 0.1) < 0.01


def test_dates_keep_format_and_range(mixed_table: Table) -> None:
    s = sample(fit(mixed_table), 1000, seed=5).to_table()
    vals = s.columns[3]
    assert all(len(v) == 10 and v[4] == "-" and v[7] == "-" for v in vals if v)
    assert min(v for v in vals if v) >= min(mixed_table.columns[3])  # type: ignore[type-var]
    assert max(v for v in vals if v) <= max(mixed_table.columns[3])  # type: ignore[type-var]


@pytest.mark.parametrize(
    ("cells", "check"),
    [
        (["31/12/2020", "15/01/2021", "01/06/2019"] * 5, lambda v: len(v.split("/")) == 3),
        (
            ["2020-01-01 10:00:00", "2021-12-31 23:59:59"] * 5,
            lambda v: len(v) == 19 and v[10] == " ",
        ),
        (["2020-01-01T10:00Z".replace("Z", ""), "2021-03-01T11:30"] * 5, lambda v: "T" in v),
        (
            ["05 Jan 2020", "17 Mar 2021"] * 5,
            lambda v: (
                v.split(" ")[1]
                in (
                    "Jan",
                    "Feb",
                    "Mar",
                    "Dec",
                    "Apr",
                    "May",
                    "Jun",
                    "Jul",
                    "Aug",
                    "Sep",
                    "Oct",
                    "Nov",
                )
            ),
        ),
    ],
)
def test_other_date_formats_round_trip(cells: list[str], check: object) -> None:
    s = sample(fit(make_table(d=cells)), 200, seed=1).to_table()
    assert all(check(v) for v in s.columns[0])  # type: ignore[operator]


def test_correlation_is_kept(mixed_table: Table) -> None:
    s = sample(fit(mixed_table), 5000, seed=6).to_table()
    pairs = [
        (float(a), float(b)) for a, b in zip(s.columns[0], s.columns[1], strict=True) if a and b
    ]
    r = np.corrcoef(np.array(pairs).T)[0, 1]
    assert r > 0.85


def test_category_frequencies(mixed_table: Table) -> None:
    s = sample(fit(mixed_table), 20_000, seed=7).to_table()
    share = sum(v == "red" for v in s.columns[2]) / 20_000
    real = sum(v == "red" for v in mixed_table.columns[2]) / mixed_table.n_rows
    assert abs(share - real) < 0.02
    assert set(s.columns[2]) <= {"red", "green", "blue"}


def test_boolean_keeps_spelling(mixed_table: Table) -> None:
    s = sample(fit(mixed_table), 500, seed=8).to_table()
    assert set(s.columns[4]) == {"yes", "no"}


def test_identifiers_keep_shape_and_are_never_copied(mixed_table: Table) -> None:
    m = fit(mixed_table)
    s = sample(m, 5000, seed=9).to_table()
    ids = s.columns[5]
    assert all(v is not None and v.startswith("CUST-") and len(v) == 10 for v in ids)
    assert not set(ids) & set(mixed_table.columns[5])


def test_model_does_not_contain_identifier_values(mixed_table: Table) -> None:
    blob = zlib.decompress(fit(mixed_table).to_bytes()[len(FORMAT_MAGIC) :]).decode()
    assert not any(v in blob for v in mixed_table.columns[5] if v)


def test_text_is_regenerated_not_copied() -> None:
    texts = [f"note number {i} about item {i * 3}" for i in range(50)]
    s = sample(fit(make_table(t=texts)), 500, seed=1).to_table()
    assert not set(s.columns[0]) & set(texts)
    assert all(" " in v for v in s.columns[0] if v)


def test_sequence_identifiers_never_collide_with_real_or_other_chunks() -> None:
    t = make_table(id=[str(i) for i in range(1, 101)], v=[str(i % 7) for i in range(100)])
    m = fit(t)
    a = sample(m, 50, 1, 0).to_table().columns[0]
    b = sample(m, 50, 1, 1).to_table().columns[0]
    ids = [int(v) for v in a + b]  # type: ignore[arg-type]
    assert min(ids) > 100 and len(set(ids)) == 100


def test_privacy_floor_drops_rare_categories() -> None:
    cells = ["common"] * 50 + ["usual"] * 30 + ["rare1"] * 2 + ["rare2"] * 4
    t = make_table(c=cells)
    s = sample(fit(t, rare_category_floor=5), 5000, seed=1).to_table()
    assert set(s.columns[0]) == {"common", "usual"}
    blob = zlib.decompress(fit(t).to_bytes()[len(FORMAT_MAGIC) :]).decode()
    assert "rare1" not in blob and "rare2" not in blob
    # floor is configurable: 1 keeps everything
    s1 = sample(fit(t, rare_category_floor=1), 5000, seed=1).to_table()
    assert {"rare1", "rare2"} <= set(s1.columns[0])


def test_all_rare_categories_become_fresh_values() -> None:
    cells = [f"name{i // 2}" for i in range(40)]  # every value seen twice: categorical, all rare
    s = sample(fit(make_table(c=cells), rare_category_floor=5), 300, seed=1).to_table()
    assert not set(s.columns[0]) & set(cells)


def test_invalid_floor() -> None:
    with pytest.raises(ValueError):
        fit(make_table(a=["1"]), rare_category_floor=0)


# ----------------------------------------------------------------- edge cases


def test_all_missing_column() -> None:
    t = make_table(a=["", "NA", ""], b=["1", "2", "3"])
    s = sample(fit(t), 10, 0)
    assert s.to_table().columns[0] == [None] * 10
    assert roundtrip_csv(s).columns[0] == [""] * 10


def test_single_row() -> None:
    t = make_table(a=["5"], b=["x"], c=["2.5"])
    s = sample(fit(t), 20, 0).to_table()
    # every value was seen once, below the privacy floor: none is reproduced
    for col, real in zip(s.columns, ("5", "x", "2.5"), strict=True):
        assert real not in col
    assert all(v is not None and v.isdigit() for v in s.columns[0])
    assert sample(fit(t, rare_category_floor=1), 5, 0).to_table().rows() == [("5", "x", "2.5")] * 5


def test_one_column() -> None:
    t = make_table(v=[str(i) for i in np.random.default_rng(0).integers(0, 100, 200)])
    s = sample(fit(t), 100, 0)
    assert roundtrip_csv(s).names == ["v"]


def test_constant_column() -> None:
    t = make_table(k=["same"] * 20, v=[str(i % 3) for i in range(20)])
    s = sample(fit(t), 50, 0).to_table()
    assert set(s.columns[0]) == {"same"}


def test_very_wide_table() -> None:
    rng = np.random.default_rng(0)
    cols = {f"c{i}": [f"{x:.3f}" for x in rng.normal(size=40)] for i in range(400)}
    m = fit(make_table(**cols))
    s = sample(SynthModel.from_bytes(m.to_bytes()), 30, 1)
    assert len(roundtrip_csv(s).names) == 400


def test_unicode_everywhere() -> None:
    t = make_table(**{"名前": ["東京", "Zürich", "東京", "Zürich"] * 5, "émoji": ["😀", "🎉"] * 10})
    s = sample(fit(t, rare_category_floor=2), 100, 0)
    back = roundtrip_csv(s)
    assert back.names == ["名前", "émoji"]
    assert set(back.columns[0]) == {"東京", "Zürich"}
    assert set(back.columns[1]) == {"😀", "🎉"}


def test_huge_numbers() -> None:
    big = [
        "123456789012345678901234567890",
        "99999999999999999999999999",
        "1000000000000000000000",
    ] * 4
    floats = ["1e300", "2.5e299", "-1e-300"] * 4
    s = sample(fit(make_table(big=big, f=floats)), 50, 0).to_table()
    for v in s.columns[0]:
        assert v is not None and v.isdigit()
        assert 10**20 <= int(v) <= 123456789012345678901234567890 + 10**15
    assert all(np.isfinite(float(v)) for v in s.columns[1] if v)


def test_mixed_type_column() -> None:
    cells = ["1", "2", "abc", "3.5", "", "abc", "1", "2"] * 5
    s = sample(fit(make_table(m=cells)), 100, 0).to_table()
    assert set(s.columns[0]) <= {"1", "2", "abc", "3.5", None}


def test_special_characters_in_categories_survive_csv() -> None:
    t = make_table(c=["a, b", 'say "x"', "multi\nline"] * 10)
    back = roundtrip_csv(sample(fit(t), 100, 0))
    assert set(back.columns[0]) == {"a, b", 'say "x"', "multi\nline"}


def test_zero_rows_requested(mixed_table: Table) -> None:
    s = sample(fit(mixed_table), 0, 0)
    assert s.n_rows == 0
    assert roundtrip_csv(s).names == mixed_table.names


def test_empty_table_rejected() -> None:
    with pytest.raises(ValueError):
        fit(Table(["a"], [[]]))
    with pytest.raises(ValueError):
        fit(Table([], []))


def test_negative_arguments_rejected(mixed_table: Table) -> None:
    m = fit(mixed_table)
    for args in ((-1, 0, 0), (1, -1, 0), (1, 0, -1)):
        with pytest.raises(ValueError):
            sample(m, *args)


# -------------------------------------------------------------- determinism


def _csv(s: object) -> bytes:
    buf = io.BytesIO()
    write_csv(s, buf)  # type: ignore[arg-type]
    return buf.getvalue()


def test_same_seed_and_chunk_give_identical_rows(mixed_table: Table) -> None:
    m = fit(mixed_table)
    assert _csv(sample(m, 300, 42, 3)) == _csv(sample(m, 300, 42, 3))


def test_chunks_independent_of_order_and_other_chunks(mixed_table: Table) -> None:
    m = fit(mixed_table)
    forward = [_csv(sample(m, 100, 7, i)) for i in range(5)]
    backward = [_csv(sample(m, 100, 7, i)) for i in reversed(range(5))][::-1]
    assert forward == backward
    alone = _csv(sample(m, 100, 7, 3))
    assert alone == forward[3]
    assert len(set(forward)) == 5  # chunks differ from each other


def test_different_seed_differs(mixed_table: Table) -> None:
    m = fit(mixed_table)
    assert _csv(sample(m, 100, 1, 0)) != _csv(sample(m, 100, 2, 0))


def test_fit_is_deterministic(mixed_table: Table) -> None:
    assert fit(mixed_table).to_bytes() == fit(mixed_table).to_bytes()


def test_same_rows_in_a_fresh_process(mixed_table: Table, tmp_path: Path) -> None:
    m = fit(mixed_table)
    (tmp_path / "m.bin").write_bytes(m.to_bytes())
    code = (
        "import sys,io;from app.synth.model import SynthModel,sample;"
        "from app.synth.table import write_csv;"
        f"m=SynthModel.from_bytes(open({str(tmp_path / 'm.bin')!r},'rb').read());b=io.BytesIO();"
        "write_csv(sample(m,200,11,4),b);sys.stdout.buffer.write(b.getvalue())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=BACKEND, capture_output=True, check=True
    ).stdout
    assert out == _csv(sample(m, 200, 11, 4))


# ------------------------------------------------------------ serialisation


def test_serialisation_round_trip(mixed_table: Table) -> None:
    m = fit(mixed_table)
    data = m.to_bytes()
    assert data.startswith(FORMAT_MAGIC)
    assert len(data) < 50_000
    m2 = SynthModel.from_bytes(data)
    assert m2.to_bytes() == data
    assert _csv(sample(m2, 300, 5, 2)) == _csv(sample(m, 300, 5, 2))


def test_unknown_version_is_a_clear_error(mixed_table: Table) -> None:
    doc = fit(mixed_table).to_dict()
    doc["version"] = 99
    data = FORMAT_MAGIC + zlib.compress(json.dumps(doc).encode())
    with pytest.raises(ValueError, match="version 99"):
        SynthModel.from_bytes(data)


@pytest.mark.parametrize(
    "data", [b"", b"garbage", FORMAT_MAGIC + b"not zlib", b"\x80\x04\x95pickle"]
)
def test_corrupt_model_bytes(data: bytes) -> None:
    with pytest.raises(ValueError):
        SynthModel.from_bytes(data)


def test_model_is_plain_json(mixed_table: Table) -> None:
    doc = json.loads(zlib.decompress(fit(mixed_table).to_bytes()[len(FORMAT_MAGIC) :]))
    assert doc["version"] == 1 and doc["format"] == "synthos-gaussian-copula"
    assert [c["kind"] for c in doc["columns"]] == [
        "integer",
        "float",
        "categorical",
        "date",
        "boolean",
        "identifier",
    ]


# ---------------------------------------------------------------------- CLI


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.synth", *args],
        cwd=BACKEND,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_generate_and_report(mixed_table: Table, tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_bytes(_csv(mixed_table))
    out, rep = tmp_path / "out.csv", tmp_path / "rep.json"
    r = _cli(
        "generate",
        str(src),
        "--rows",
        "2500",
        "--seed",
        "3",
        "--out",
        str(out),
        "--report",
        str(rep),
        "--chunk-rows",
        "1000",
    )
    assert r.returncode == 0, r.stderr
    t = read_csv(out.read_bytes())
    assert t.n_rows == 2500 and t.names == mixed_table.names
    # the file is the concatenation of the chunks a worker fleet would write
    m = fit(mixed_table)
    parts = b"".join(
        _csv(sample(m, n, 3, i, row_offset=i * 1000))[
            (0 if i == 0 else len(",".join(m.names)) + 1) :
        ]
        for i, n in enumerate([1000, 1000, 500])
    )
    assert out.read_bytes() == parts
    ids = t.columns[5]
    assert len(set(ids)) == 2500 and not set(ids) & set(mixed_table.columns[5])
    report = json.loads(rep.read_text())
    assert 0.0 <= report["overall"] <= 1.0


def test_cli_profile(mixed_table: Table, tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_bytes(_csv(mixed_table))
    r = _cli("profile", str(src))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["rows"] == 300


@pytest.mark.parametrize(
    ("content", "needle"),
    [(None, "Cannot read"), (b"", "empty"), (b"a,b\n1\n", "Line 2"), (b"\x00\x01\x02", "binary")],
)
def test_cli_errors_are_clean(tmp_path: Path, content: bytes | None, needle: str) -> None:
    src = tmp_path / "in.csv"
    if content is not None:
        src.write_bytes(content)
    for cmd in (
        ["profile", str(src)],
        ["generate", str(src), "--rows", "5", "--out", str(tmp_path / "o")],
    ):
        r = _cli(*cmd)
        assert r.returncode == 2
        assert needle in r.stderr
        assert "Traceback" not in r.stderr
