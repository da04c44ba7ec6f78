"""CSV reading/writing: the parser shared by upload validation, workers and CLI."""

from __future__ import annotations

import io

import pytest

from app.synth.table import CsvError, Table, read_csv, write_csv


def test_reads_simple_comma_csv() -> None:
    t = read_csv(b"a,b\n1,x\n2,y\n")
    assert t.names == ["a", "b"]
    assert t.columns == [["1", "2"], ["x", "y"]]
    assert t.n_rows == 2


def test_accepts_binary_stream() -> None:
    t = read_csv(io.BytesIO(b"a\n1\n"))
    assert t.columns == [["1"]]


def test_utf8_bom_is_stripped_from_first_name() -> None:
    t = read_csv("\ufeffname,city\nZoë,Zürich\n".encode())
    assert t.names == ["name", "city"]
    assert t.columns[0] == ["Zoë"]


def test_latin1_fallback() -> None:
    t = read_csv("name\nJosé\n".encode("latin-1"))
    assert t.columns[0] == ["José"]


def test_utf16_with_bom() -> None:
    t = read_csv("a,b\n1,é\n".encode("utf-16"))
    assert t.columns == [["1"], ["é"]]


@pytest.mark.parametrize("sep", [";", "\t", ","])
def test_delimiter_detection(sep: str) -> None:
    data = f"a{sep}b{sep}c\n1{sep}2{sep}3\n4{sep}5{sep}6\n".encode()
    t = read_csv(data)
    assert t.names == ["a", "b", "c"]
    assert t.columns[2] == ["3", "6"]


def test_semicolon_with_decimal_commas_not_mistaken_for_comma() -> None:
    t = read_csv(b"price;qty\n1,5;3\n2,25;4\n")
    assert t.names == ["price", "qty"]
    assert t.columns[0] == ["1,5", "2,25"]


def test_quoted_fields_with_delimiters_quotes_and_newlines() -> None:
    t = read_csv(b'a,b\n"x, y","say ""hi"""\n"multi\nline",z\n')
    assert t.columns[0] == ["x, y", "multi\nline"]
    assert t.columns[1] == ['say "hi"', "z"]


def test_blank_trailing_lines_are_fine() -> None:
    t = read_csv(b"a,b\n1,2\n\n\n\r\n")
    assert t.n_rows == 1


def test_missing_cells_stay_empty_strings() -> None:
    t = read_csv(b"a,b\n,2\n1,\n")
    assert t.columns == [["", "1"], ["2", ""]]


def test_crlf_line_endings() -> None:
    t = read_csv(b"a,b\r\n1,2\r\n3,4\r\n")
    assert t.columns == [["1", "3"], ["2", "4"]]


def _err(data: bytes, **kw: int) -> CsvError:
    with pytest.raises(CsvError) as exc:
        read_csv(data, **kw)
    assert isinstance(exc.value, ValueError)
    assert exc.value.message
    return exc.value


def test_empty_file() -> None:
    assert _err(b"").code == "empty_file"
    assert _err(b"\n\n  \n").code == "empty_file"


def test_binary_data() -> None:
    assert _err(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR").code == "binary_data"
    assert _err(bytes(range(1, 32)) * 50).code == "binary_data"


def test_ragged_row_names_the_line() -> None:
    e = _err(b"a,b\n1,2\n3\n4,5\n")
    assert e.code == "ragged_row"
    assert e.line == 3
    assert "Line 3" in e.message


def test_ragged_row_line_counts_multiline_fields() -> None:
    e = _err(b'a,b\n"x\ny",2\n1,2,3\n')
    assert e.code == "ragged_row"
    assert e.line == 4


def test_duplicate_column() -> None:
    e = _err(b"a,b,a\n1,2,3\n")
    assert e.code == "duplicate_column"
    assert "'a'" in e.message


def test_no_header() -> None:
    assert _err(b",,\n1,2,3\n").code == "no_header"


def test_too_many_columns() -> None:
    header = ",".join(f"c{i}" for i in range(11)).encode()
    assert (
        _err(header + b"\n" + b",".join([b"1"] * 11) + b"\n", max_columns=10).code
        == "too_many_columns"
    )


def test_too_many_cells() -> None:
    data = b"a,b\n" + b"1,2\n" * 6
    e = _err(data, max_cells=10)
    assert e.code == "too_many_cells"
    assert e.line == 7


def test_header_without_rows() -> None:
    assert _err(b"a,b\n").code == "no_rows"
    assert read_csv(b"a,b\n", allow_empty=True).n_rows == 0


def test_blank_header_names_get_placeholders() -> None:
    t = read_csv(b"a,,c\n1,2,3\n")
    assert t.names == ["a", "column_2", "c"]


def test_error_to_dict() -> None:
    e = _err(b"a,b\n1\n")
    assert e.to_dict() == {"code": "ragged_row", "message": e.message, "line": 2}


def test_write_csv_round_trip_with_special_characters() -> None:
    t = Table(["a", "b"], [["x, y", 'q"uote', "line\nbreak", None], ["1", "", "ü", "2"]])
    buf = io.BytesIO()
    n = write_csv(t, buf)
    assert n == len(buf.getvalue())
    back = read_csv(buf.getvalue())
    assert back.names == ["a", "b"]
    assert back.columns[0] == ["x, y", 'q"uote', "line\nbreak", ""]
    assert back.columns[1] == ["1", "", "ü", "2"]


def test_write_csv_without_header_concatenates() -> None:
    t = Table(["a"], [["1", "2"]])
    first, second = io.BytesIO(), io.BytesIO()
    write_csv(t, first, header=True)
    write_csv(t, second, header=False)
    assert (first.getvalue() + second.getvalue()).decode() == "a\n1\n2\n1\n2\n"


def test_table_helpers() -> None:
    t = Table.from_rows(["a", "b"], [("1", "x"), ("2", "y")])
    assert t.rows() == [("1", "x"), ("2", "y")]
    assert t.head(1).n_rows == 1
    assert t.take([1]).columns == [["2"], ["y"]]
    with pytest.raises(ValueError):
        Table(["a"], [["1"], ["2"]])
    with pytest.raises(ValueError):
        Table(["a", "b"], [["1"], ["2", "3"]])
