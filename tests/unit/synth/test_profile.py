"""Profile JSON: stable field names per kind, privacy floor on listed categories."""

from __future__ import annotations

import json

from app.synth.profile import profile_table
from app.synth.table import Table


def test_profile_fields(mixed_table: Table) -> None:
    p = profile_table(mixed_table)
    json.dumps(p, allow_nan=False)
    assert p["rows"] == 300 and p["profile_version"] == 1
    by = {c["name"]: c for c in p["columns"]}
    for c in p["columns"]:
        assert {"name", "kind", "missing_count", "missing_rate", "distinct"} <= set(c)
    assert by["age"]["kind"] == "integer" and {"min", "max", "mean", "std"} <= set(by["age"])
    assert isinstance(by["age"]["min"], int)
    assert by["score"]["kind"] == "float" and by["score"]["decimals"] == 2
    assert by["score"]["missing_rate"] == 0.1 and by["score"]["missing_count"] == 30
    assert by["colour"]["kind"] == "categorical"
    assert [c["value"] for c in by["colour"]["categories"]] == ["red", "green", "blue"]
    assert by["joined"]["kind"] == "date" and by["joined"]["format"] == "%Y-%m-%d"
    assert by["joined"]["min"] >= "2015-01-01"
    assert by["active"]["kind"] == "boolean"
    assert by["active"]["true_value"] == "yes" and by["active"]["false_value"] == "no"
    assert by["customer_id"]["kind"] == "identifier"
    assert by["customer_id"]["min_length"] == 10 == by["customer_id"]["max_length"]
    assert "categories" not in by["customer_id"]


def test_profile_hides_rare_categories() -> None:
    t = Table(["c"], [["a"] * 10 + ["b"] * 6 + ["secret"] * 2])
    c = profile_table(t, rare_category_floor=5)["columns"][0]
    assert c["categories"] == [{"value": "a", "count": 10}, {"value": "b", "count": 6}]
    assert c["rare_categories"] == 1 and c["other_count"] == 2
    assert "secret" not in json.dumps(c)


def test_profile_edge_kinds() -> None:
    t = Table(
        ["empty", "const", "text", "big"],
        [["", "", ""], ["k", "k", "k"], ["a b c", "d e f", "g h"], ["1e308", "-1e308", "5"]],
    )
    p = profile_table(t, rare_category_floor=1)
    kinds = [c["kind"] for c in p["columns"]]
    assert kinds == ["empty", "constant", "text", "float"]
    assert p["columns"][0]["missing_rate"] == 1.0 and p["columns"][0]["distinct"] == 0
    json.dumps(p, allow_nan=False)


def test_profile_of_header_only_table() -> None:
    p = profile_table(Table(["a"], [[]]))
    assert p["rows"] == 0 and p["columns"][0]["kind"] == "empty"
