"""Column kind inference on every kind and the awkward cases."""

from __future__ import annotations

import pytest

from app.synth.infer import infer_column


@pytest.mark.parametrize(
    ("cells", "kind"),
    [
        (["1", "2", "3", "2", "-5"], "integer"),
        (["1.5", "2", "3.25", "-0.5"], "float"),
        (["1e10", "2.5E-3", "3"], "float"),
        (["true", "false", "TRUE"], "boolean"),
        (["yes", "no", "no"], "boolean"),
        (["0", "1", "1", "0"], "boolean"),
        (["Y", "N"], "boolean"),
        (["a", "b", "a", "b", "a", "c"], "categorical"),
        (["2020-01-01", "2021-12-31", "2020-02-29"], "date"),
        (["2020-01-01 10:00:00", "2021-12-31 23:59:59"], "datetime"),
        (["2020-01-01T10:00:00Z", "2021-12-31T23:59:59Z"], "datetime"),
        (["31/12/2020", "15/01/2021"], "date"),
        (["12/31/2020", "01/15/2021"], "date"),
        (["x7f3", "a9k2", "zz11", "q0q0", "m3m3"], "identifier"),
        (["the cat sat", "a dog ran off", "birds fly high"], "text"),
        (["same", "same", "same"], "constant"),
        (["", None, "NA", "null"], "empty"),
        ([], "empty"),
    ],
)
def test_kinds(cells: list[str | None], kind: str) -> None:
    assert infer_column("c", cells).kind == kind


def test_missing_tokens_and_rate() -> None:
    col = infer_column("c", ["1", "", "NA", None, "4"])
    assert col.kind == "integer"
    assert col.n_missing == 3
    assert col.missing_token == ""  # "", None both map to the empty spelling
    assert col.values is not None and col.values.tolist() == [1.0, 4.0]


def test_missing_token_keeps_input_spelling() -> None:
    assert infer_column("c", ["1", "NA", "NA", "2"]).missing_token == "NA"


def test_mixed_types_fall_back_to_strings() -> None:
    col = infer_column("c", ["1", "2", "x", "3", "2", "1", "x"])
    assert col.kind == "categorical"


def test_leading_zeros_are_not_numbers() -> None:
    col = infer_column("zip", ["01234", "02345", "01234", "02345", "01234"])
    assert col.kind == "categorical"


def test_huge_integers_flagged() -> None:
    col = infer_column("big", ["123456789012345678901234567890", "5", "7"])
    assert col.kind == "integer" and col.big_integers


def test_inf_and_nan_words_are_not_floats() -> None:
    assert infer_column("c", ["inf", "1.5", "2.5", "inf"]).kind == "categorical"


def test_decimals_recorded() -> None:
    col = infer_column("c", ["1.50", "2.25", "3.10"])
    assert col.decimals == 2 and col.fixed_decimals
    col = infer_column("c", ["1.5", "2.25"])
    assert col.decimals == 2 and not col.fixed_decimals


def test_sequence_integers_are_identifiers() -> None:
    col = infer_column("row", [str(i) for i in range(100, 150)])
    assert col.kind == "identifier" and col.sequence_id


def test_id_named_unique_integers_are_identifiers() -> None:
    col = infer_column("user_id", [str(i * 7 + 3) for i in range(40)])
    assert col.kind == "identifier"


def test_unique_measurements_stay_numeric() -> None:
    col = infer_column("income", [str(1000 + i * i) for i in range(40)])
    assert col.kind == "integer"


def test_unicode_categories() -> None:
    col = infer_column("city", ["Zürich", "東京", "Zürich", "東京", "São Paulo", "Zürich"])
    assert col.kind == "categorical"
    assert "東京" in col.strings


def test_whitespace_is_stripped_before_parsing() -> None:
    assert infer_column("c", [" 1", "2 ", " 3 "]).kind == "integer"
