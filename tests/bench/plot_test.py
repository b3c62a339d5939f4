#!/usr/bin/env python3
"""bench/plot.py on records that sluice-bench writes here.

Two small `sluice-bench telemetry --json` runs (two key counts) and a peers file go through
bench/plot.py: it must write a PNG and print, per point, the events/s and ratios the records
hold; a file that is not a record must be refused naming it.

    plot_test.py SLUICE_BENCH PLOT_PY WORK_DIR

matplotlib comes from the Python that runs this, or from a virtual environment under
WORK_DIR/plot-venv (pip, PyPI); where neither works the test exits 77 (skipped).
"""
import json
import os
import subprocess
import sys

SKIP = 77


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def find_matplotlib(work):
    try:
        import matplotlib  # noqa: F401

        return sys.executable
    except ImportError:
        pass
    python = os.path.join(work, "plot-venv", "bin", "python")
    try:
        if not os.path.exists(python):
            subprocess.run([sys.executable, "-m", "venv", os.path.dirname(os.path.dirname(python))],
                           check=True, capture_output=True, timeout=300)
        if subprocess.run([python, "-c", "import matplotlib"], capture_output=True).returncode:
            subprocess.run([python, "-m", "pip", "install", "--quiet", "matplotlib"], check=True,
                           capture_output=True, timeout=600)
        return python
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as e:
        print("SKIP: matplotlib is not installable here: %s" % e)
        sys.exit(SKIP)


def main():
    bench, plot, work = sys.argv[1:4]
    os.makedirs(os.path.join(work, "records"), exist_ok=True)
    python = find_matplotlib(work)
    records = []
    for keys in (10, 1000):
        path = os.path.join(work, "records", "telemetry_k%d.json" % keys)
        run = subprocess.run([bench, "telemetry", "--events", "300000", "--keys", str(keys),
                              "--threads", "1", "--repeat", "1", "--json", path],
                             capture_output=True, timeout=600)
        if run.returncode != 0:
            fail("sluice-bench exit %d: %s" % (run.returncode, run.stderr.decode()[-2000:]))
        records.append(json.load(open(path)))
    peers = os.path.join(work, "peers.json")
    with open(peers, "w") as f:
        json.dump({"threads": 1, "results": [
            {"keys": 10, "duckdb": 2.5e7, "polars": 1.5e7, "loop": 9e7},
            {"keys": 1000, "duckdb": 2.0e7, "polars": 1.0e7, "loop": 6e7}]}, f)
    png = os.path.join(work, "bench.png")
    if os.path.exists(png):
        os.remove(png)
    out = subprocess.run([python, plot, "--peers", peers, "--out", png,
                          os.path.join(work, "records")],
                         capture_output=True, timeout=600)
    if out.returncode != 0:
        fail("plot.py exit %d: %s" % (out.returncode, out.stderr.decode()))
    with open(png, "rb") as f:
        if f.read(8) != b"\x89PNG\r\n\x1a\n":
            fail("not a PNG")
    text = out.stdout.decode()
    for r in records:
        keys = r["config"]["keys"]
        rate = "%.2f M" % (r["events_per_second"]["best"] / 1e6)
        ceiling = "%.3f" % r["ratio_to_ceiling"]["best"]
        row = [l for l in text.splitlines() if l.startswith("| Sluice cpu") and
               ("| %d |" % keys) in l]
        if len(row) != 1 or rate not in row[0] or ceiling not in row[0]:
            fail("no row with %s and %s for %d keys in:\n%s" % (rate, ceiling, keys, text))
    for peer in ("DuckDB (1 threads) | 10 | 25.00 M", "Polars (1 threads) | 1000 | 10.00 M"):
        if peer not in text:
            fail("no peer row %r in:\n%s" % (peer, text))
    bad = os.path.join(work, "bad")
    os.makedirs(bad, exist_ok=True)
    with open(os.path.join(bad, "other.json"), "w") as f:
        f.write('{"benchmark": "state-memory"}')
    refused = subprocess.run([python, plot, "--out", png, bad], capture_output=True, timeout=600)
    if refused.returncode == 0 or b"other.json" not in refused.stderr:
        fail("a foreign record: exit %d, %s" % (refused.returncode, refused.stderr))
    print("ok: %d records plotted" % len(records))


if __name__ == "__main__":
    main()
