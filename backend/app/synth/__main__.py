"""Local command line: ``python -m app.synth generate|profile`` (run from ``backend/``).

Generation uses exactly the chunked path the workers use: chunk ``i`` of
``--chunk-rows`` rows is ``sample(model, rows_i, seed, i, row_offset=i * chunk_rows)``,
so the file equals
the concatenation of the parts a worker fleet would write.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .model import fit, sample
from .profile import profile_table
from .table import CsvError, Table, read_csv, write_csv


def default_chunk_rows(n_columns: int) -> int:
    """Rows per chunk so one chunk's arrays stay around a few tens of MB."""
    return max(1_000, min(100_000, 2_000_000 // max(1, n_columns)))


def _load(path: str, max_columns: int) -> Table:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise CsvError("unreadable_file", f"Cannot read {path}: {exc.strerror or exc}.") from exc
    return read_csv(data, max_columns=max_columns)


def _generate(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    table = _load(args.input, args.max_columns)
    model = fit(table, rare_category_floor=args.rare_floor)
    t_fit = time.perf_counter() - t0
    chunk = args.chunk_rows or default_chunk_rows(table.n_columns)
    first = None
    written = 0
    t1 = time.perf_counter()
    out_path = Path(args.out)
    try:
        with out_path.open("wb") as f:
            n_chunks = max(1, -(-args.rows // chunk))
            for i in range(n_chunks):
                rows_i = min(chunk, args.rows - i * chunk)
                part = sample(model, rows_i, args.seed, i, row_offset=i * chunk)
                if first is None:
                    first = part
                written += write_csv(part, f, header=(i == 0))
    except OSError as exc:
        print(f"error: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    t_sample = time.perf_counter() - t1
    print(
        f"fitted {table.n_rows} rows x {table.n_columns} columns in {t_fit:.2f}s; "
        f"wrote {args.rows} rows ({written / 1e6:.1f} MB) in {t_sample:.2f}s to {args.out}",
        file=sys.stderr,
    )
    if args.report:
        assert first is not None
        report = quality(table, first, args.seed)
        Path(args.report).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"quality {report['overall']:.3f}; report written to {args.report}", file=sys.stderr)
    return 0


def quality(table: Table, first: object, seed: int) -> dict:
    from .quality import quality_report

    return quality_report(table, first, seed=seed)  # type: ignore[arg-type]


def _profile(args: argparse.Namespace) -> int:
    table = _load(args.input, args.max_columns)
    json.dump(
        profile_table(table, rare_category_floor=args.rare_floor),
        sys.stdout,
        indent=2,
        ensure_ascii=False,
    )
    sys.stdout.write("\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m app.synth", description="Synthos synthesis engine"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="fit INPUT.csv and write N synthetic rows")
    gen.add_argument("input")
    gen.add_argument("--rows", type=int, required=True)
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--out", required=True)
    gen.add_argument("--report", help="write the quality report JSON here")
    gen.add_argument("--chunk-rows", type=int, default=0, help="rows per chunk (default: by width)")
    prof = sub.add_parser("profile", help="print the JSON profile of INPUT.csv")
    prof.add_argument("input")
    for p in (gen, prof):
        p.add_argument(
            "--rare-floor",
            type=int,
            default=5,
            help="categories seen fewer times are not reproduced",
        )
        p.add_argument("--max-columns", type=int, default=500)
    args = parser.parse_args(argv)
    if args.command == "generate" and (args.rows < 0 or args.seed < 0):
        print("error: --rows and --seed must be non-negative", file=sys.stderr)
        return 2
    try:
        return _generate(args) if args.command == "generate" else _profile(args)
    except CsvError as exc:
        where = f" (line {exc.line})" if exc.line else ""
        print(f"error: {exc.message}{where} [{exc.code}]", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
