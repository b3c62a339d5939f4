#!/usr/bin/env python3
"""Sluice against the tools a user would pick instead, on the same events and the same query.

For each key count, sluice-bench generates the telemetry events, times Sluice (and the
hand-fused loop) and writes the raw columns (--dump); DuckDB and Polars then run the same query
on exactly those arrays in memory, with the same number of threads. Every system's totals are
checked against one reference computed with numpy. Then `sluice run` is timed against DuckDB's
read_csv on one CSV of the same shape. Prints one table per key count and a summary, and writes
JSON (--json) and a PNG plot of events/s against key count (--plot).

bench/peers.sh sets up the Python packages (DuckDB, Polars, PyArrow, NumPy, Matplotlib from
PyPI) and runs this script.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

QUERY_SQL = (
    "SELECT host, ts // 10000 AS w, count(*) AS c, sum(cpu) AS s, max(cpu) AS m "
    "FROM {table} WHERE status = 200 AND cpu > 10 GROUP BY ALL"
)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--bench", required=True, help="path of sluice-bench")
    p.add_argument("--sluice", required=True, help="path of the sluice command (CSV comparison)")
    p.add_argument("--keys", default="100,1000,100000", help="key counts (default 100,1000,100000)")
    p.add_argument("--events", type=int, default=20_000_000, help="events per key count")
    p.add_argument("--repeat", type=int, default=3, help="timed runs per system; the best counts")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="threads of every system")
    p.add_argument("--order", choices=["on", "off"], default="on",
                   help="Sluice's EngineConfig::ordered_results (default on)")
    p.add_argument("--csv-rows", type=int, default=5_000_000,
                   help="rows of the CSV comparison (0: skip it)")
    p.add_argument("--csv-keys", type=int, default=1000, help="hosts of the CSV comparison")
    p.add_argument("--work", default="peers-work", help="scratch directory for data and logs")
    p.add_argument("--json", help="write the results here")
    p.add_argument("--plot", help="write a PNG plot of events/s against key count here")
    return p.parse_args()


def best_of(repeat, fn):
    """Runs fn() `repeat` times; returns (best seconds, last result)."""
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def load_columns(directory):
    import numpy as np

    return {
        "ts": np.fromfile(directory / "ts.i64", dtype="<i8"),
        "host": np.fromfile(directory / "host.u32", dtype="<u4"),
        "cpu": np.fromfile(directory / "cpu.f32", dtype="<f4"),
        "status": np.fromfile(directory / "status.i32", dtype="<i4"),
    }


def reference_totals(cols):
    """Groups, sum of counts, sum of sums and the largest max, by brute force with numpy."""
    import numpy as np

    keep = (cols["status"] == 200) & (cols["cpu"] > np.float32(10))
    window = cols["ts"][keep] // 10000
    host = cols["host"][keep].astype(np.int64)
    span = int(window.max() - window.min() + 1) if window.size else 1
    groups = np.unique(host * span + (window - (window.min() if window.size else 0))).size
    cpu = cols["cpu"][keep].astype(np.float64)
    return {
        "rows": int(groups),
        "count": int(keep.sum()),
        "sum": float(cpu.sum()),
        "max": float(cpu.max()) if cpu.size else float("nan"),
    }


def check(name, got, want):
    """Totals equal (sums within 1e-8 relative: any summation order); raises on a mismatch."""
    problems = []
    for k in ("rows", "count"):
        if got[k] != want[k]:
            problems.append(f"{k} {got[k]} != {want[k]}")
    if abs(got["sum"] - want["sum"]) > 1e-8 * max(1.0, abs(want["sum"])):
        problems.append(f"sum {got['sum']!r} != {want['sum']!r}")
    if got["max"] != want["max"]:
        problems.append(f"max {got['max']!r} != {want['max']!r}")
    if problems:
        raise SystemExit(f"peers.py: {name} disagrees with the reference: " + "; ".join(problems))


def run_duckdb(table, threads, repeat):
    import duckdb
    import pyarrow.compute as pc

    con = duckdb.connect(config={"threads": threads})
    con.register("events", table)
    sql = QUERY_SQL.format(table="events")
    seconds, res = best_of(repeat, lambda: con.sql(sql).to_arrow_table())
    totals = {
        "rows": res.num_rows,
        "count": int(pc.sum(res["c"]).as_py() or 0),
        "sum": float(pc.sum(res["s"]).as_py() or 0.0),
        "max": float(pc.max(res["m"]).as_py()),
    }
    return seconds, totals


def run_polars(table, repeat):
    import polars as pl

    df = pl.from_arrow(table)

    def query():
        return (
            df.lazy()
            .filter((pl.col("status") == 200) & (pl.col("cpu") > 10))
            .group_by(pl.col("host"), (pl.col("ts") // 10000).alias("w"))
            .agg(
                pl.len().alias("c"),
                pl.col("cpu").cast(pl.Float64).sum().alias("s"),
                pl.col("cpu").max().alias("m"),
            )
            .collect(engine="streaming")
        )

    seconds, res = best_of(repeat, query)
    totals = {
        "rows": res.height,
        "count": int(res["c"].sum()),
        "sum": float(res["s"].sum()),
        "max": float(res["m"].max()),
    }
    return seconds, totals


def run_sluice_bench(args, keys, directory):
    record = directory / "sluice.json"
    cmd = [args.bench, "telemetry", "--backend", "cpu", "--keys", str(keys), "--events",
           str(args.events), "--repeat", str(args.repeat), "--threads", str(args.threads),
           "--order", args.order, "--dump", str(directory), "--json", str(record)]
    log = directory / "sluice-bench.log"
    with open(log, "w") as out:
        rc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT).returncode
    if rc != 0:
        raise SystemExit(f"peers.py: {' '.join(cmd)} failed ({rc}); see {log}")
    return json.loads(record.read_text())


def table_rows(title, rows):
    """Prints rows of (system, events/s, note) with the ratio to the best peer."""
    peers = [r for r in rows if r[0].startswith(("DuckDB", "Polars"))]
    best_peer = max((r[1] for r in peers), default=0.0)
    print(title)
    print(f"  {'system':<22} {'events/s':>14} {'/ best peer':>12}")
    for name, rate, note in rows:
        ratio = f"{rate / best_peer:10.2f}" if best_peer > 0 else ""
        print(f"  {name:<22} {rate / 1e6:12.1f} M {ratio:>12}  {note}")


def write_csv(cols, rows, keys, path):
    """The first `rows` events as CSV: ts (ms), host as its name, cpu, status."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    names = pa.array([f"host-{i:06d}" for i in range(keys)])
    host = pa.DictionaryArray.from_arrays(pa.array(cols["host"][:rows] % keys), names)
    table = pa.table({
        "ts": pa.array(cols["ts"][:rows]),
        "host": pc.cast(host, pa.string()),
        "cpu": pa.array(np.round(cols["cpu"][:rows].astype(np.float64), 2)),
        "status": pa.array(cols["status"][:rows]),
    })
    pacsv.write_csv(table, path, write_options=pacsv.WriteOptions(quoting_style="none"))


def csv_comparison(args, directory):
    """`sluice run` against DuckDB's read_csv + GROUP BY on one CSV file."""
    import duckdb

    csv = directory / "events.csv"
    write_csv(load_columns(directory), args.csv_rows, args.csv_keys, csv)
    out = directory / "sluice-run.csv"
    cmd = [args.sluice, "run", "--input", str(csv), "--backend", "cpu",
           "--schema", "ts:timestamp[ms],host:string,cpu:f64,status:i32", "--time", "ts",
           "--max-delay", "2s", "--window", "tumbling:10s", "--key", "host",
           "--where", "status == 200 and cpu > 10", "--agg", "count,sum(cpu),max(cpu)",
           "--output", str(out)]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))

    def sluice_run():
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"peers.py: sluice run failed: {done.stderr}")
        return done.stderr

    sluice_s, _ = best_of(args.repeat, sluice_run)
    con = duckdb.connect(config={"threads": args.threads})
    sql = QUERY_SQL.format(table=f"read_csv('{csv}')")
    duck_s, res = best_of(args.repeat, lambda: con.sql(sql).fetchall())
    # Same groups and counts in both (sums are of the same decimal text, within rounding).
    sluice_rows = con.sql(f"SELECT count(*), sum(\"count\") FROM read_csv('{out}')").fetchall()[0]
    duck_rows = (len(res), sum(r[2] for r in res))
    if tuple(sluice_rows) != duck_rows:
        raise SystemExit(f"peers.py: sluice run gave {sluice_rows}, DuckDB {duck_rows}")
    return {"rows": args.csv_rows, "bytes": csv.stat().st_size, "sluice_run_seconds": sluice_s,
            "duckdb_read_csv_seconds": duck_s, "groups": duck_rows[0]}


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [r["keys"] for r in results]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, field, style in (("Sluice", "sluice", "o-"), ("DuckDB", "duckdb", "s-"),
                               ("Polars", "polars", "^-"), ("hand-fused loop", "loop", "k--")):
        ax.plot(keys, [r[field] / 1e6 for r in results], style, label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("distinct hosts (keys)")
    ax.set_ylabel("M events/s (best run)")
    ax.set_title(f"Telemetry query, {results[0]['events'] / 1e6:.0f} M events, "
                 f"{results[0]['threads']} threads")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main():
    args = parse_args()
    os.environ.setdefault("POLARS_MAX_THREADS", str(args.threads))
    import duckdb
    import polars
    import pyarrow as pa

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    print(f"peers.py: {args.events} events per key count, {args.threads} threads, best of "
          f"{args.repeat}; DuckDB {duckdb.__version__}, Polars {polars.__version__}, "
          f"results {'ordered' if args.order == 'on' else 'unordered'}")
    results = []
    for keys in [int(k) for k in args.keys.split(",")]:
        directory = work / f"keys-{keys}"
        directory.mkdir(parents=True, exist_ok=True)
        bench = run_sluice_bench(args, keys, directory)
        cols = load_columns(directory)
        want = reference_totals(cols)
        last = bench["runs"][-1]
        check("Sluice", {"rows": last["result_rows"], "count": last["count_sum"],
                         "sum": last["cpu_sum"], "max": last["cpu_max"]}, want)
        table = pa.table(cols)
        duck_s, duck_totals = run_duckdb(table, args.threads, args.repeat)
        check("DuckDB", duck_totals, want)
        polars_s, polars_totals = run_polars(table, args.repeat)
        check("Polars", polars_totals, want)
        n = len(cols["ts"])
        row = {
            "keys": keys, "events": n, "threads": args.threads, "groups": want["rows"],
            "sluice": bench["events_per_second"]["best"],
            "duckdb": n / duck_s, "polars": n / polars_s,
            "loop": bench["fused_loop"]["best"] if bench["fused_loop"]["measured"] else 0.0,
            "memcpy_read_gbps": bench["memcpy"]["read_gbps"],
        }
        row["sluice_to_best_peer"] = row["sluice"] / max(row["duckdb"], row["polars"])
        row["sluice_to_loop"] = row["sluice"] / row["loop"] if row["loop"] else float("nan")
        results.append(row)
        table_rows(f"\n{keys} hosts ({want['rows']} groups, totals checked against numpy):", [
            ("Sluice", row["sluice"], f"{row['sluice_to_loop'] * 100:.0f} % of the loop"),
            ("DuckDB", row["duckdb"], ""),
            ("Polars (streaming)", row["polars"], ""),
            ("hand-fused loop", row["loop"], "bench/fused_ceiling.cpp"),
        ])
    print("\n| hosts | Sluice | DuckDB | Polars | Sluice / best peer | hand-fused loop | "
          "Sluice / loop |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print(f"| {r['keys']:,} | {r['sluice'] / 1e6:.1f} M | {r['duckdb'] / 1e6:.1f} M | "
              f"{r['polars'] / 1e6:.1f} M | {r['sluice_to_best_peer']:.2f} | "
              f"{r['loop'] / 1e6:.1f} M | {r['sluice_to_loop']:.2f} |")
    csv = None
    if args.csv_rows > 0:
        # The CSV is cut from the events generated for its key count.
        directory = work / f"keys-{args.csv_keys}"
        if not (directory / "ts.i64").exists():
            directory.mkdir(parents=True, exist_ok=True)
            run_sluice_bench(args, args.csv_keys, directory)
        csv = csv_comparison(args, directory)
        print(f"\nCSV, {csv['rows']:,} rows ({csv['bytes'] / 1e6:.0f} MB, {args.csv_keys} hosts): "
              f"sluice run {csv['sluice_run_seconds']:.2f} s, DuckDB read_csv + GROUP BY "
              f"{csv['duckdb_read_csv_seconds']:.2f} s "
              f"(ratio {csv['duckdb_read_csv_seconds'] / csv['sluice_run_seconds']:.2f})")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "events": args.events, "threads": args.threads, "repeat": args.repeat,
            "ordered_results": args.order == "on", "duckdb": duckdb.__version__,
            "polars": polars.__version__, "results": results, "csv": csv}, indent=2))
    if args.plot:
        plot(results, args.plot)
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    sys.exit(main())
