#!/usr/bin/env python3
"""`sluice sql` against DuckDB's GROUP BY on the same files.

For random out-of-order CSV streams whose disorder stays within the watermark's delay (so no
event is late and every window is final), each query's windows from `sluice sql` must equal
DuckDB's batch GROUP BY over the whole file: counts and integer values exactly, float sums and
averages to a relative 1e-9 (the order of additions differs), min and max as the same f32.

    sql_duckdb_test.py SLUICE_BINARY WORK_DIR

DuckDB comes from the Python that runs this script, or from a virtual environment under
WORK_DIR/duckdb-venv made with pip (PyPI). Where neither works the test exits 77 (skipped)
and says why.
"""
import math
import os
import random
import struct
import subprocess
import sys

SKIP = 77

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import pypi_venv  # noqa: E402


def find_duckdb(work):
    try:
        import duckdb  # noqa: F401

        return sys.executable
    except ImportError:
        pass
    try:
        return pypi_venv.python_with(work, "duckdb")
    except pypi_venv.Unavailable as e:
        print("SKIP: DuckDB is not installable here (%s)" % e)
        sys.exit(SKIP)


TABLE = """CREATE TABLE events (
  ts TIMESTAMP(3), host STRING, cpu FLOAT, status INT,
  WATERMARK FOR ts AS ts - INTERVAL '2' SECOND
) WITH ('connector' = 'csv', 'path' = '%s');
"""

# (sluice query, DuckDB query, kinds of the aggregate columns after the keys)
QUERIES = [
    ("SELECT window_start, window_end, host, COUNT(*), SUM(cpu), MIN(cpu), MAX(cpu), AVG(cpu) "
     "FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(ts), INTERVAL '10' SECOND)) "
     "WHERE status = 200 AND cpu BETWEEN 5 AND 95 AND host NOT LIKE 'db-_' "
     "GROUP BY window_start, window_end, host",
     "SELECT ts // 10000 * 10000 AS s, ts // 10000 * 10000 + 10000 AS e, host, COUNT(*), "
     "SUM(cpu), MIN(cpu), MAX(cpu), AVG(cpu) FROM events "
     "WHERE status = 200 AND cpu BETWEEN 5 AND 95 AND host NOT LIKE 'db-_' GROUP BY ALL",
     ["int", "sum", "f32", "f32", "sum"]),
    ("SELECT window_start, window_end, host, status, COUNT(*), MAX(cpu) "
     "FROM TABLE(HOP(TABLE events, DESCRIPTOR(ts), INTERVAL '2' SECOND, INTERVAL '10' SECOND)) "
     "WHERE host IN ('web-2', 'db-1') OR NOT status = 200 "
     "GROUP BY window_start, window_end, host, status",
     "SELECT w.s, w.s + 10000 AS e, host, status, COUNT(*), MAX(cpu) FROM events, "
     "LATERAL (SELECT generate_series AS s FROM generate_series((ts - 10000) // 2000 * 2000 + "
     "2000, ts // 2000 * 2000, 2000)) w "
     "WHERE host IN ('web-2', 'db-1') OR NOT status = 200 GROUP BY ALL",
     ["int", "f32"]),
    ("SELECT window_start, window_end, COUNT(*), AVG(cpu) "
     "FROM TABLE(CUMULATE(TABLE events, DESCRIPTOR(ts), INTERVAL '2' SECOND, "
     "INTERVAL '10' SECOND)) WHERE host <> 'web-1' GROUP BY window_start, window_end",
     "SELECT ts // 10000 * 10000 AS s, w.e, COUNT(*), AVG(cpu) FROM events, "
     "LATERAL (SELECT generate_series AS e FROM generate_series((ts // 2000 + 1) * 2000, "
     "ts // 10000 * 10000 + 10000, 2000)) w WHERE host <> 'web-1' GROUP BY ALL",
     ["int", "sum"]),
    ("SELECT window_start, window_end, host, COUNT(*) AS n, SUM(status) "
     "FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(ts), INTERVAL '5' SECOND)) "
     "GROUP BY window_start, window_end, host HAVING COUNT(*) > 40 AND MAX(cpu) > 90",
     "SELECT ts // 5000 * 5000 AS s, ts // 5000 * 5000 + 5000 AS e, host, COUNT(*), "
     "SUM(status) FROM events GROUP BY ALL HAVING COUNT(*) > 40 AND MAX(cpu) > 90",
     ["int", "int"]),
]


def write_events(path, seed, rows):
    rng = random.Random(seed)
    hosts = ["web-1", "web-1", "web-1", "web-2", "db-1", "db-2"]
    t = 1_700_000_000_000
    with open(path, "w") as f:
        f.write("ts,host,cpu,status\n")
        for _ in range(rows):
            t += rng.randrange(60)
            f.write("%d,%s,%.2f,%d\n" % (t - rng.randrange(1500), rng.choice(hosts),
                                         rng.randrange(10000) / 100, rng.choice([200, 200, 404, 500])))


def f32(x):
    return struct.unpack("f", struct.pack("f", float(x)))[0]


def same(kind, a, b):
    if kind == "int":
        return int(a) == int(b)
    if kind == "f32":
        return f32(a) == f32(b)
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)


def main():
    sluice, work = sys.argv[1], sys.argv[2]
    python = find_duckdb(work)
    os.makedirs(work, exist_ok=True)
    failures = 0
    for seed in (1, 2, 3):
        for rows in (1, 997, 20000):
            data = os.path.join(work, "sql-duckdb-%d-%d.csv" % (seed, rows))
            write_events(data, seed * 1000 + rows, rows)
            for number, (ours, theirs, kinds) in enumerate(QUERIES):
                run = subprocess.run([sluice, "sql", "--quiet", "--updates", "skip", "-e",
                                      TABLE % data + ours], capture_output=True, text=True)
                if run.returncode != 0:
                    print("sluice sql failed:", run.stderr)
                    return 1
                got = sorted(tuple(line.split(",")) for line in run.stdout.splitlines()[1:])
                duck = subprocess.run(
                    [python, "-c",
                     "import duckdb,sys\n"
                     "c = duckdb.connect()\n"
                     "c.execute(\"CREATE TABLE events AS SELECT * FROM read_csv(?, header=true, "
                     "columns={'ts': 'BIGINT', 'host': 'VARCHAR', 'cpu': 'FLOAT', "
                     "'status': 'INTEGER'})\", [sys.argv[1]])\n"
                     "for r in c.execute(sys.argv[2]).fetchall():\n"
                     "    print(','.join(repr(v) if isinstance(v, float) else str(v) "
                     "for v in r))\n",
                     data, theirs], capture_output=True, text=True)
                if duck.returncode != 0:
                    print("duckdb failed:", duck.stderr)
                    return 1
                want = sorted(tuple(line.split(",")) for line in duck.stdout.splitlines())
                keys = len(want[0]) - len(kinds) if want else 0
                ok = len(got) == len(want) and all(
                    g[:keys] == w[:keys] and all(same(k, a, b) for k, a, b in
                                                 zip(kinds, g[keys:], w[keys:]))
                    for g, w in zip(got, want))
                print("seed %d, %5d rows, query %d: %d windows %s" %
                      (seed, rows, number + 1, len(got), "equal" if ok else "DIFFER"))
                if not ok:
                    failures += 1
                    for g, w in zip(got, want):
                        if g != w:
                            print("  sluice %s\n  duckdb %s" % (g, w))
                            break
                    if len(got) != len(want):
                        print("  sluice has %d rows, duckdb %d" % (len(got), len(want)))
                elif rows >= 997 and not got:
                    print("  no windows: the query tests nothing")
                    failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
