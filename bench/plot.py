#!/usr/bin/env python3
"""PNG charts of sluice-bench records and of the peer comparison.

    bench/plot.py [--peers peers.json] [--out bench.png] RECORD.json|DIR ...

RECORD.json: what `sluice-bench telemetry --json FILE` writes (a DIR: every *.json in it, e.g.
the OUT_DIR of bench/run_telemetry_matrix.sh). peers.json: what `bench/peers.sh BUILD --json
FILE` writes. The chart has two panels against the key count (log scales): events/s (best run)
per series, and each series' ratio to its ceiling (the bytes it reads per second against the
memory-copy bandwidth of its mode: memcpy on the CPU, device-to-device or pinned host-to-device
on a GPU) and to the hand-fused loop. A series is one (backend, mode, workers, threads per
worker) of Sluice; the peers add DuckDB, Polars and the loop of their own run. The same figures
are printed as a table, so the chart can be checked against the records.

Needs matplotlib (bench/peers.sh installs it into its virtual environment).
"""
import argparse
import json
import math
import sys
from collections import defaultdict
from pathlib import Path


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("records", nargs="+", help="sluice-bench --json files, or folders of them")
    p.add_argument("--peers", help="bench/peers.py --json output to draw beside Sluice")
    p.add_argument("--out", default="bench.png", help="the PNG to write (default bench.png)")
    p.add_argument("--title", help="the chart's title (default: the records' machine)")
    return p.parse_args()


def load_records(paths):
    records = []
    for path in map(Path, paths):
        files = sorted(path.glob("*.json")) if path.is_dir() else [path]
        for f in files:
            try:
                r = json.loads(f.read_text())
            except (OSError, json.JSONDecodeError) as e:
                raise SystemExit(f"plot.py: {f}: {e}")
            if r.get("benchmark") != "telemetry" or "config" not in r:
                raise SystemExit(f"plot.py: {f}: not a sluice-bench telemetry record")
            records.append((f, r))
    if not records:
        raise SystemExit("plot.py: no records")
    return records


def series_name(r):
    c = r["config"]
    name = f"Sluice {c['backend']}"
    if c["backend"] == "gpu":
        name += f" {c['mode']}"
    name += f", {c['workers'] or 1} worker{'s' if (c['workers'] or 1) > 1 else ''}"
    if c["backend"] == "cpu":
        name += f" x {c['threads_per_worker']} threads"
    return name


def number(v):
    return v if isinstance(v, (int, float)) and not math.isnan(v) else float("nan")


def collect(records):
    """{series: [(keys, events/s, ratio to ceiling, ratio to loop, ceiling name)]} by keys."""
    series = defaultdict(dict)
    for f, r in records:
        keys = r["config"]["keys"]
        best = number(r["events_per_second"]["best"])
        ceiling = number(r["ratio_to_ceiling"]["best"])
        loop = number(r["fused_loop"].get("ratio_best", float("nan")))
        name = series_name(r)
        if keys in series[name]:
            # Two records of one point: the better run stands (as "best of" does within one).
            if series[name][keys][1] >= best:
                continue
        series[name][keys] = (keys, best, ceiling, loop, r["ceiling"]["name"])
    return {n: [pts[k] for k in sorted(pts)] for n, pts in series.items()}


def peer_series(path):
    data = json.loads(Path(path).read_text())
    rows = sorted(data["results"], key=lambda r: r["keys"])
    out = {}
    for name, field in (("DuckDB", "duckdb"), ("Polars", "polars"), ("hand-fused loop", "loop")):
        pts = [(r["keys"], r[field]) for r in rows if r.get(field)]
        if pts:
            out[f"{name} ({data['threads']} threads)"] = pts
    return out


def main():
    args = parse_args()
    records = load_records(args.records)
    series = collect(records)
    peers = peer_series(args.peers) if args.peers else {}

    print("| series | keys | events/s | ratio to ceiling | ratio to loop |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, pts in series.items():
        for keys, rate, ceiling, loop, ceiling_name in pts:
            print(f"| {name} | {keys} | {rate / 1e6:.2f} M | {ceiling:.3f} ({ceiling_name}) | "
                  f"{loop:.3f} |")
    for name, pts in peers.items():
        for keys, rate in pts:
            print(f"| {name} | {keys} | {rate / 1e6:.2f} M | | |")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (rates, ratios) = plt.subplots(1, 2, figsize=(12, 4.8))
    markers = "osD^v<>ph"
    for i, (name, pts) in enumerate(series.items()):
        keys = [p[0] for p in pts]
        rates.plot(keys, [p[1] / 1e6 for p in pts], markers[i % len(markers)] + "-", label=name)
        ceiling_name = pts[0][4]
        ratios.plot(keys, [p[2] for p in pts], markers[i % len(markers)] + "-",
                    label=f"{name}: / {ceiling_name}")
        if any(not math.isnan(p[3]) for p in pts):
            ratios.plot(keys, [p[3] for p in pts], markers[i % len(markers)] + ":",
                        label=f"{name}: / hand-fused loop")
    for name, pts in peers.items():
        style = "k--" if name.startswith("hand-fused") else "x--"
        rates.plot([p[0] for p in pts], [p[1] / 1e6 for p in pts], style, label=name)
    for ax in (rates, ratios):
        ax.set_xscale("log")
        ax.set_xlabel("distinct keys")
        ax.grid(True, which="both", alpha=0.3)
    rates.set_yscale("log")
    rates.set_ylabel("M events/s (best run)")
    rates.set_title("Throughput")
    rates.legend(fontsize=8)
    ratios.set_ylabel("ratio (1 = the ceiling)")
    ratios.set_title("Against the ceilings")
    ratios.axhline(1.0, color="grey", linewidth=0.8)
    ratios.legend(fontsize=8)
    first = records[0][1]
    events = first["config"]["events"]
    fig.suptitle(args.title or f"sluice-bench telemetry, {events / 1e6:g} M events per point, "
                 f"{first['machine']['cpu_model']} ({first['machine']['cores']} cores)",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"plot: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
