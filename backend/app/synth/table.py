"""Tables of raw cell strings, and the one CSV reader/writer used everywhere.

The API's upload validation, the workers and the CLI all parse through
``read_csv`` so a file accepted at upload is parsed identically when fitted.

``Table`` keeps cells as the raw strings of the file (``""`` or ``None`` for
missing); interpretation (numbers, dates, missing tokens such as ``NA``)
belongs to profiling, not to parsing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import BinaryIO, Protocol

__all__ = ["CSV_BLOCK_ROWS", "CsvError", "Table", "read_csv", "write_csv"]

#: Rows rendered per block when writing, which bounds writer memory.
CSV_BLOCK_ROWS = 50_000
_DELIMITERS = (",", ";", "\t")
_SNIFF_CHARS = 65_536


class Table:
    """Column names plus columns of raw cell strings (missing = ``None`` or ``""``)."""

    __slots__ = ("columns", "names")

    def __init__(self, names: Sequence[str], columns: Sequence[Sequence[str | None]]) -> None:
        if len(names) != len(columns):
            raise ValueError(f"{len(names)} names but {len(columns)} columns")
        lengths = {len(c) for c in columns}
        if len(lengths) > 1:
            raise ValueError("columns have different lengths")
        self.names: list[str] = list(names)
        self.columns: list[list[str | None]] = [list(c) for c in columns]

    @property
    def n_rows(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    @property
    def n_columns(self) -> int:
        return len(self.names)

    @classmethod
    def from_rows(cls, names: Sequence[str], rows: Iterable[Sequence[str | None]]) -> Table:
        """Build a table from row tuples (handy in tests and callers holding records)."""
        rows = list(rows)
        cols: list[list[str | None]] = [[] for _ in names]
        for r in rows:
            if len(r) != len(names):
                raise ValueError("row length differs from header")
            for c, v in zip(cols, r, strict=False):
                c.append(v)
        return cls(names, cols)

    def rows(self) -> list[tuple[str | None, ...]]:
        return list(zip(*self.columns, strict=False)) if self.columns else []

    def head(self, n: int) -> Table:
        return Table(self.names, [c[:n] for c in self.columns])

    def take(self, indices: Sequence[int]) -> Table:
        return Table(self.names, [[c[i] for i in indices] for c in self.columns])

    def __repr__(self) -> str:
        return f"Table({self.n_rows} rows x {self.n_columns} columns: {self.names[:8]!r})"


class CsvError(ValueError):
    """An input file that cannot be read as a table; ``code`` is stable for API clients."""

    def __init__(self, code: str, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.line = line

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, "line": self.line}


def _decode(raw: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else cp1252, else Latin-1."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise CsvError(
                "bad_encoding", "The file starts like UTF-16 but is not valid UTF-16."
            ) from exc
    if b"\x00" in raw:
        raise CsvError(
            "binary_data", "The file contains NUL bytes; it looks like binary data, not CSV text."
        )
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    for enc in ("utf-8", "cp1252", "latin-1"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise CsvError(
        "bad_encoding", "The file is not valid UTF-8 or Latin-1 text."
    )  # pragma: no cover


def _check_binary(text: str) -> None:
    head = text[:_SNIFF_CHARS]
    if "\x00" in head:
        raise CsvError(
            "binary_data",
            "The file contains NUL characters; it looks like binary data, not CSV text.",
        )
    controls = sum(1 for ch in head if ch < " " and ch not in "\t\r\n\f")
    if head and controls / len(head) > 0.01:
        raise CsvError(
            "binary_data",
            "The file contains control characters; it looks like binary data, not CSV text.",
        )


def _sniff_delimiter(text: str) -> str:
    """Pick the delimiter that splits the first lines into the most, equally sized, fields."""
    lines = [ln for ln in text[:_SNIFF_CHARS].splitlines()[:20] if ln.strip()]
    if not lines:
        return ","
    best, best_score = ",", (-1, -1)
    for d in _DELIMITERS:
        try:
            counts = [len(r) for r in csv.reader(lines[:10], delimiter=d)]
        except csv.Error:
            continue
        if not counts or counts[0] < 2:
            continue
        consistent = sum(1 for c in counts if c == counts[0])
        score = (consistent, counts[0])
        if score > best_score:
            best, best_score = d, score
    return best


def read_csv(
    source: bytes | BinaryIO,
    *,
    max_columns: int = 500,
    max_cells: int = 50_000_000,
    allow_empty: bool = False,
) -> Table:
    """Parse CSV bytes into a ``Table`` or raise ``CsvError`` with a stable ``code``.

    Codes: ``empty_file``, ``binary_data``, ``bad_encoding``, ``no_header``,
    ``duplicate_column``, ``too_many_columns``, ``ragged_row``,
    ``too_many_cells``, ``malformed_csv``, ``no_rows`` (header but no data rows,
    unless ``allow_empty``).
    """
    raw = source if isinstance(source, (bytes, bytearray, memoryview)) else source.read()
    raw = bytes(raw)
    if not raw.strip(b" \t\r\n\xef\xbb\xbf"):
        raise CsvError("empty_file", "The file is empty.")
    text = _decode(raw)
    _check_binary(text)
    delimiter = _sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    columns: list[list[str | None]] = []
    n_cols = 0
    n_rows = 0
    line = 1
    try:
        for row in reader:
            start_line, line = line, reader.line_num + 1
            if not row or (len(row) == 1 and row[0] == "" and n_cols != 1):
                continue  # blank line
            if header is None:
                header = [h.strip() for h in row]
                if not any(header):
                    raise CsvError(
                        "no_header",
                        "The first line is empty; the file needs a header row.",
                        start_line,
                    )
                n_cols = len(header)
                if n_cols > max_columns:
                    raise CsvError(
                        "too_many_columns",
                        f"The file has {n_cols} columns; the limit is {max_columns}.",
                        start_line,
                    )
                header = [h or f"column_{i + 1}" for i, h in enumerate(header)]
                seen: set[str] = set()
                for h in header:
                    if h in seen:
                        raise CsvError(
                            "duplicate_column",
                            f"The column name {h!r} appears more than once.",
                            start_line,
                        )
                    seen.add(h)
                columns = [[] for _ in range(n_cols)]
                continue
            if len(row) != n_cols:
                raise CsvError(
                    "ragged_row",
                    f"Line {start_line} has {len(row)} fields but the header has {n_cols}.",
                    start_line,
                )
            n_rows += 1
            if n_rows * n_cols > max_cells:
                raise CsvError(
                    "too_many_cells",
                    f"The file has more than {max_cells:,} cells (rows x columns).",
                    start_line,
                )
            for col, value in zip(columns, row, strict=False):
                col.append(value)
    except csv.Error as exc:
        raise CsvError("malformed_csv", f"Line {line}: {exc}.", line) from exc
    if header is None:
        raise CsvError("empty_file", "The file has no content.")
    if n_rows == 0 and not allow_empty:
        raise CsvError("no_rows", "The file has a header but no data rows.", None)
    return Table(header, columns)


class CsvRenderable(Protocol):
    """What ``write_csv`` accepts besides ``Table``: a sampled result rendering cells by block.

    ``render_block`` returns one list per column of cells that are already
    CSV-escaped (quoted where needed), so they can be joined without a
    per-cell check; that is what makes writing a million rows fast.
    """

    names: list[str]

    @property
    def n_rows(self) -> int: ...

    def render_block(self, start: int, stop: int) -> list[list[str]]: ...


def write_csv(data: Table | CsvRenderable, stream: BinaryIO, *, header: bool = True) -> int:
    """Write UTF-8 CSV (comma, ``\\n`` line ends, minimal quoting); return bytes written.

    Without ``header`` the output can be appended to another part, so chunk
    parts written by different workers concatenate into one CSV.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    written = 0

    def flush() -> None:
        nonlocal written
        data_bytes = buf.getvalue().encode("utf-8")
        stream.write(data_bytes)
        written += len(data_bytes)
        buf.seek(0)
        buf.truncate()

    if header:
        writer.writerow(data.names)
    n = data.n_rows
    for start in range(0, n, CSV_BLOCK_ROWS):
        stop = min(n, start + CSV_BLOCK_ROWS)
        if isinstance(data, Table):
            writer.writerows(zip(*(c[start:stop] for c in data.columns), strict=False))
        elif data.names:
            buf.write("\n".join(map(",".join, zip(*data.render_block(start, stop), strict=False))))
            buf.write("\n")
        else:
            buf.write("\n" * (stop - start))
        flush()
    flush()
    return written
