#!/usr/bin/env python3
"""Read rate of `sluice serve --kafka-source` next to the bare consumer's, in the same run.

    bench/kafka_ingest.py SLUICE_BINARY KAFKA_TOOL [--events N] [--partitions P] [--json FILE]

KAFKA_TOOL is the test build's kafka_tool (build/tests/sluice_kafka_tool). A run starts
librdkafka's mock cluster on loopback, produces N events as one JSON line per message over P
partitions (1 000 hosts, 10 per ms of event time), then reads the topic twice: with
kafka_tool's consumer, which only copies each message to /dev/null (the ceiling: what
librdkafka and the cluster deliver to one consumer), and with `sluice serve --kafka-until-end`
running a 10 s tumbling count and average per host to /dev/null (events/s from its first push to
the end, the group join excluded as for the ceiling). Each figure is the best of three reads.
"""
import argparse
import json
import os
import re
import subprocess
import tempfile
import time

T0 = 1764694800000
SCHEMA = "ts:timestamp[ms],host:string,region:string,usage:f64,status:i64"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sluice")
    ap.add_argument("kafka_tool")
    ap.add_argument("--events", type=int, default=300_000)
    ap.add_argument("--partitions", type=int, default=6)
    ap.add_argument("--json")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="kafka-ingest-")
    cluster = subprocess.Popen([a.kafka_tool, "cluster", "1", "events:%d" % a.partitions],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    bootstrap = cluster.stdout.readline().strip().split("=", 1)[1]
    records = os.path.join(work, "events.records")
    value_bytes = 0
    with open(records, "wb") as f:
        for i in range(a.events):
            ts = T0 + i // 10
            v = b'{"ts":%d,"host":"h%d","region":"eu","usage":%d.5,"status":200}' % (
                ts, i % 1000, i % 100)
            value_bytes += len(v)
            f.write(b"%d %d %d\n" % (i % a.partitions, ts, len(v)))
            f.write(v)
    began = time.time()
    subprocess.run([a.kafka_tool, "produce", bootstrap, "events", records], check=True,
                   stderr=subprocess.DEVNULL)
    produce_s = time.time() - began

    ceiling = 0.0
    for _ in range(3):
        r = subprocess.run([a.kafka_tool, "consume", bootstrap, "events", str(a.events), "600"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                           check=True)
        seconds = float(re.search(r"in ([0-9.e+-]+) s", r.stderr).group(1))
        ceiling = max(ceiling, a.events / seconds)
    sluice = 0.0
    for n in range(3):
        r = subprocess.run([a.sluice, "serve", "--schema", SCHEMA, "--time", "ts", "--key",
                            "host", "--window", "tumbling:10s", "--agg", "count,avg(usage)",
                            "--max-delay", "1s", "--listen", "off", "--output", "/dev/null",
                            "--kafka-source", "%s/events" % bootstrap,
                            "--kafka-group", "bench-%d" % n, "--kafka-until-end"],
                           stderr=subprocess.PIPE, text=True, check=True)
        m = re.search(r"events=(\d+) .* events/s=(\d+)", r.stderr)
        if int(m.group(1)) != a.events:
            raise SystemExit("sluice read %s of %d events: %s" % (m.group(1), a.events, r.stderr))
        sluice = max(sluice, float(m.group(2)))
    cluster.stdin.close()
    cluster.wait()
    mean_bytes = value_bytes / a.events
    print("%d JSON events in %d partitions (%.0f bytes each), produced at %.0f events/s"
          % (a.events, a.partitions, mean_bytes, a.events / produce_s))
    print("%-44s %12s %10s" % ("", "events/s", "MB/s"))
    print("%-44s %12.0f %10.1f" % ("bare librdkafka consumer (ceiling)", ceiling,
                                    ceiling * mean_bytes / 1e6))
    print("%-44s %12.0f %10.1f  (%.0f %% of the ceiling)" % (
        "sluice serve --kafka-source, count+avg", sluice, sluice * mean_bytes / 1e6,
        100 * sluice / ceiling))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"events": a.events, "partitions": a.partitions,
                       "bytes_per_event": mean_bytes, "ceiling_events_per_s": ceiling,
                       "sluice_events_per_s": sluice}, f, indent=1)


if __name__ == "__main__":
    main()
