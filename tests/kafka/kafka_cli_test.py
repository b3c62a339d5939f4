#!/usr/bin/env python3
"""`sluice serve --kafka-source/--kafka-sink` end to end against a Kafka cluster on loopback.

The cluster is librdkafka's mock cluster (kafka_tool cluster: a real Kafka protocol server,
topics, consumer groups and committed offsets, in one process), fed and read by kafka_tool's
producer and consumer, and by PyPI's confluent-kafka where it installs.

Part 1 (a bounded read, every window, both ways): three partitions of random out-of-order JSON
events, the partitions 20 s of event time apart (so with one watermark for all, most events of
the laggard would be late; with one per partition none is, and a partition whose first
messages come after the others' holds the watermark until they do), with a garbage message, a wrong
type, a message without a value and a message of three lines one of which is bad. Two workers
read them to the end (--kafka-until-end); the windows, written to a file and to a topic, equal
a brute-force count, sum, min and max per host and 10 s window; the topic's messages are the
file's rows as JSON, keyed by {"host": ...}, each key in one partition; every malformed line is
counted and named by partition and offset; the group's committed offsets are the partitions'
ends.

Part 2 (commits trail the windows; a crash and a restart): two partitions; a server reads them
all with small batches and is killed (SIGKILL) once its committed offsets stop moving, the last
windows still open. Every event before a committed offset is in a written window that equals the
reference, no partition is committed to its end, and a second server of the same group, reading
to the end, writes every window the first did not, each equal to the reference (the events of a
window not written before the crash all lie after the committed offsets).

Part 3 (formats and errors): CSV values; line protocol with the event time from the message
timestamp and the windows to Kafka alone (nothing on stdout); a bad endpoint, a bad librdkafka
property and CSV with message time end with a clear error. (An unknown topic cannot be tried:
the mock cluster creates every topic asked for.)

Part 4 (SQL): `serve --sql FILE` with a 'kafka' source table whose event time is the message
timestamp (`METADATA FROM 'timestamp'`; the values' own ts is wrong on purpose), its consumer
group and a librdkafka property in the table's WITH, a WHERE, and INSERT INTO a 'kafka' sink
table with renamed columns: the sink's messages equal the reference of the rows the WHERE
keeps, nothing goes to stdout, and the table's group commits to the ends.

Part 5 (another client): confluent-kafka's Producer writes keyed JSON events, its Consumer reads
the windows Sluice sent, and they equal the reference.

Each server joins a group of its own but for the restart: the mock cluster lets a member that
left hold its group until its session times out (a real broker rebalances at once).

    kafka_cli_test.py SLUICE_BINARY KAFKA_TOOL WORK_DIR
"""
import csv
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import pypi_venv  # noqa: E402

T0 = 1764694800000  # ms
SCHEMA = "ts:timestamp[ms],host:string,v:i64"
AGGS = "count,sum(v),min(v),max(v)"
PROCESSES = []


def fail(message):
    print("FAIL: " + message, flush=True)
    for p in PROCESSES:
        if p.poll() is None:
            p.kill()
    sys.exit(1)


class Cluster:
    """A mock Kafka cluster of three brokers, alive until close()."""

    def __init__(self, tool, work, topics):
        self.tool = tool
        self.err = open(os.path.join(work, "cluster.err"), "w")
        self.process = subprocess.Popen([tool, "cluster", "3"] + topics, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=self.err, text=True)
        PROCESSES.append(self.process)
        line = self.process.stdout.readline()
        if not line.startswith("bootstrap="):
            fail("the mock cluster did not start: %r" % line)
        self.bootstrap = line.strip().split("=", 1)[1]

    def run(self, *args, timeout=120):
        r = subprocess.run([self.tool] + list(args), capture_output=True, text=True,
                           timeout=timeout)
        if r.returncode != 0:
            fail("kafka_tool %s: %s" % (args[0], r.stderr))
        return r.stdout

    def produce(self, topic, records, work):
        """records: (partition, timestamp ms, value bytes or None)."""
        path = os.path.join(work, topic + ".records")
        with open(path, "wb") as f:
            for partition, ts, value in records:
                f.write(b"%d %d %d\n" % (partition, ts, -1 if value is None else len(value)))
                if value is not None:
                    f.write(value)
        self.run("produce", self.bootstrap, topic, path)

    def offsets(self, what, topic, partitions, group=None):
        args = ["committed", self.bootstrap, group, topic] if what == "committed" else \
               ["ends", self.bootstrap, topic]
        out = self.run(*(args + [str(partitions)]))
        return {int(p): int(o) for p, o in (line.split() for line in out.splitlines())}

    def consume(self, topic, count):
        out = self.run("consume", self.bootstrap, topic, str(count), "120", timeout=180)
        return [line.split("\t") for line in out.splitlines()]

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=60)


def serve(binary, cluster, topic, extra, work, name, group="sluice", until_end=True):
    args = [binary, "serve", "--schema", SCHEMA, "--time", "ts", "--key", "host",
            "--window", "tumbling:10s", "--agg", AGGS, "--listen", "off",
            "--kafka-source", "%s/%s" % (cluster.bootstrap, topic), "--kafka-group", group,
            "--kafka-commit-interval", "100ms"] + (["--kafka-until-end"] if until_end else [])
    out = open(os.path.join(work, name + ".out"), "w+")
    err = open(os.path.join(work, name + ".err"), "w+")
    p = subprocess.Popen(args + extra, stdout=out, stderr=err)
    p.began = time.time()
    PROCESSES.append(p)
    return p, out, err


def finished(p, out, err, name, timeout=300):
    try:
        code = p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        fail("%s did not end within %d s" % (name, timeout))
    out.seek(0)
    err.seek(0)
    print("    %s: %.1f s" % (name, time.time() - p.began), flush=True)
    return code, out.read(), err.read()


def summary(text, name):
    m = re.search(r"events=(\d+) filtered=(\d+) late=(\d+) malformed=(\d+) windows=(\d+)", text)
    if not m:
        fail("%s printed no summary: %s" % (name, text))
    return dict(zip(["events", "filtered", "late", "malformed", "windows"],
                    map(int, m.groups())))


def reference(events):
    """(window_start, host) -> (count, sum, min, max) over tumbling 10 s windows."""
    w = {}
    for ts, host, v in events:
        key = (ts - ts % 10000, host)
        c, s, lo, hi = w.get(key, (0, 0, v, v))
        w[key] = (c + 1, s + v, min(lo, v), max(hi, v))
    return w


def rows_of_csv(path):
    rows = {}
    with open(path, newline="") as f:
        lines = csv.reader(f)
        header = next(lines)
        if header != ["window_start", "window_end", "host", "count", "sum(v)", "min(v)",
                      "max(v)", "update"]:
            fail("%s: header %r" % (path, header))
        for line in lines:
            ws, we, host, c, s, lo, hi, update = line
            if update != "false" or int(we) - int(ws) != 10000:
                fail("%s: unexpected row %r" % (path, line))
            if (int(ws), host) in rows:
                fail("%s: window %s of %s written twice" % (path, ws, host))
            rows[(int(ws), host)] = (int(c), int(s), int(lo), int(hi))
    return rows


def rows_of_messages(messages, what):
    """The windows of the sink's messages; checks each key against its value and partition."""
    rows = {}
    partition_of_key = {}
    for partition, key, value in messages:
        r = json.loads(value)
        if json.loads(key) != {"host": r["host"]}:
            fail("%s: key %s for %s" % (what, key, value))
        if partition_of_key.setdefault(key, partition) != partition:
            fail("%s: key %s in partitions %s and %s" % (what, key, partition_of_key[key],
                                                         partition))
        if r["window_end"] - r["window_start"] != 10000 or r["update"] is not False:
            fail("%s: unexpected row %s" % (what, value))
        rows[(r["window_start"], r["host"])] = (r["count"], r["sum(v)"], r["min(v)"],
                                                r["max(v)"])
    return rows


def same(got, want, what):
    if got == want:
        return
    missing = sorted(set(want) - set(got))[:3]
    extra = sorted(set(got) - set(want))[:3]
    wrong = [(k, got[k], want[k]) for k in sorted(set(got) & set(want)) if got[k] != want[k]][:3]
    fail("%s: %d windows, %d expected; missing %s, extra %s, wrong %s" % (
        what, len(got), len(want), missing, extra, wrong))


def event_json(e):
    return json.dumps({"host": e[1], "v": e[2], "ts": e[0], "note": {"a": [1, None]}})


def stream(rng, start, n, step_ms, jitter_ms, hosts):
    """n events in event-time order give or take jitter_ms."""
    return [(start + i * step_ms + rng.randrange(jitter_ms), rng.choice(hosts),
             rng.randrange(-1000, 1000)) for i in range(n)]


def part_bounded(binary, cluster, work):
    rng = random.Random(1)
    hosts = ["web-%d" % i for i in range(12)] + ["a,b", "quote\"d", "ünï"]
    events = []
    records = []
    for p in range(3):
        part = stream(rng, T0 + 20000 * p, 3000, 15, 2000, hosts)
        i = 0
        offset = 0
        malformed_at = {(1, 100): b'{"ts": garbage', (1, 200): None, (2, 50): "wrong type"}
        while i < len(part):
            if (p, offset) in malformed_at:
                bad = malformed_at[(p, offset)]
                if bad == "wrong type":
                    bad = b'{"ts": %d, "host": 5, "v": 1}' % part[i][0]
                records.append((p, part[i][0], bad))
            elif p == 0 and offset == 300:
                # Three lines: the second is malformed, the others are rows.
                value = "\n".join([event_json(part[i]), '{"ts": 1, "host": "x"}',
                                   event_json(part[i + 1])])
                records.append((p, part[i][0], value.encode()))
                events += part[i:i + 2]
                i += 2
            else:
                records.append((p, part[i][0], event_json(part[i]).encode()))
                events.append(part[i])
                i += 1
            offset += 1
    cluster.produce("events", records, work)
    output = os.path.join(work, "bounded.csv")
    p, out, err = serve(binary, cluster, "events",
                        ["--max-delay", "3s", "--workers", "2", "--output", output,
                         "--kafka-sink", "%s/windows" % cluster.bootstrap], work, "bounded")
    code, _, text = finished(p, out, err, "bounded")
    if code != 0:
        fail("bounded read exited %d: %s" % (code, text))
    s = summary(text, "bounded read")
    want = reference(events)
    if s["events"] != len(events) or s["late"] != 0 or s["malformed"] != 4:
        fail("bounded read: %s, expected %d events, none late, 4 malformed: %s" % (
            s, len(events), text))
    for where in ["partition 1 offset 100:", "partition 0 offset 300 line 2:",
                  "partition 1 offset 200: a message without a value",
                  "partition 2 offset 50:"]:
        if where not in text:
            fail("bounded read: no report of %r in %s" % (where, text))
    same(rows_of_csv(output), want, "bounded read, the file")
    same(rows_of_messages(cluster.consume("windows", len(want)), "the sink"), want,
         "bounded read, the sink topic")
    ends = cluster.offsets("ends", "events", 3)
    committed = cluster.offsets("committed", "events", 3, "sluice")
    if committed != ends:
        fail("bounded read: committed %s, ends %s" % (committed, ends))
    print("bounded: %d messages in 3 partitions, %d events, %d windows in the file and the "
          "topic; committed %s" % (len(records), len(events), len(want), committed))


def part_crash(binary, cluster, work):
    rng = random.Random(2)
    hosts = ["h%d" % i for i in range(6)]
    per_partition = [stream(rng, T0, 3000, 50, 1000, hosts) for _ in range(2)]
    cluster.produce("stream", [(p, e[0], event_json(e).encode())
                               for p, part in enumerate(per_partition) for e in part], work)
    want = reference([e for part in per_partition for e in part])
    ends = cluster.offsets("ends", "stream", 2)
    first = os.path.join(work, "crash-first.csv")
    p, out, err = serve(binary, cluster, "stream",
                        ["--max-delay", "2s", "--batch-rows", "300", "--output", first,
                         # Short, so that the restart need not wait long for the dead member.
                         "--kafka-option", "session.timeout.ms=6000,max.poll.interval.ms=6000"],
                        work,
                        "crash-first", group="g2", until_end=False)
    committed = None
    deadline = time.time() + 120
    while time.time() < deadline:
        time.sleep(0.7)
        if p.poll() is not None:
            fail("the first server exited %d" % p.returncode)
        now = cluster.offsets("committed", "stream", 2, "g2")
        if now == committed and all(o > 0 for o in now.values()):
            break
        committed = now
    else:
        fail("the committed offsets kept moving (or stayed unset): %s" % committed)
    p.send_signal(signal.SIGKILL)
    p.wait()
    written = rows_of_csv(first)
    for part, events in enumerate(per_partition):
        if not 0 < committed[part] < ends[part]:
            fail("partition %d committed to %d of %d with windows open" % (
                part, committed[part], ends[part]))
        for e in events[:committed[part]]:
            key = (e[0] - e[0] % 10000, e[1])
            if written.get(key) != want[key]:
                fail("offset before the commit of partition %d: window %s is %s, want %s" % (
                    part, key, written.get(key), want[key]))
    second = os.path.join(work, "crash-second.csv")
    p, out, err = serve(binary, cluster, "stream",
                        ["--max-delay", "2s", "--output", second, "--kafka-option",
                         "session.timeout.ms=6000,max.poll.interval.ms=6000"],
                        work, "crash-second", group="g2")
    code, _, text = finished(p, out, err, "crash-second")
    if code != 0:
        fail("the second server exited %d: %s" % (code, text))
    again = rows_of_csv(second)
    fresh = {k: v for k, v in again.items() if k not in written}
    same(fresh, {k: v for k, v in want.items() if k not in written},
         "windows first written after the restart")
    if cluster.offsets("committed", "stream", 2, "g2") != ends:
        fail("after the restart the group is not committed to the ends %s" % ends)
    print("crash: killed with %s committed of %s, %d windows written; the restart wrote the "
          "other %d, each complete" % (committed, ends, len(written), len(fresh)))


def part_formats(binary, cluster, work):
    rng = random.Random(3)
    hosts = ["cpu-%d" % i for i in range(5)]
    # CSV records in schema order, some messages of two; one malformed record.
    events = stream(rng, T0, 1200, 40, 1500, hosts)
    records = []
    i = 0
    while i < len(events):
        if i == 500:
            records.append((0, 0, b"not,a,row"))
        n = 2 if i % 7 == 0 and i + 1 < len(events) else 1
        value = "".join("%d,%s,%d\n" % e for e in events[i:i + n]).encode()
        records.append((0, events[i][0], value))
        i += n
    cluster.produce("csv", records, work)
    output = os.path.join(work, "csv.csv")
    p, out, err = serve(binary, cluster, "csv", ["--max-delay", "2s", "--kafka-format", "csv",
                                                 "--output", output], work, "csv", group="g-csv")
    code, _, text = finished(p, out, err, "csv")
    s = summary(text, "csv") if code == 0 else fail("csv exited %d: %s" % (code, text))
    if s["malformed"] != 1 or s["events"] != len(events):
        fail("csv: %s for %d events and one malformed record" % (s, len(events)))
    same(rows_of_csv(output), reference(events), "CSV values")

    # Line protocol without timestamps: the event time is the message's; another measurement is
    # ignored. The windows go to Kafka alone.
    events = stream(rng, T0, 1500, 30, 1500, hosts)
    records = []
    for k, e in enumerate(events):
        records.append((k % 2, e[0], b"cpu,host=%s v=%di" % (e[1].encode(), e[2])))
        if k % 50 == 0:
            records.append((k % 2, e[0], b"mem,host=%s v=1i" % e[1].encode()))
    cluster.produce("lp", records, work)
    p, out, err = serve(binary, cluster, "lp",
                        ["--max-delay", "2s", "--kafka-format", "line", "--kafka-time",
                         "message", "--measurement", "cpu",
                         "--kafka-sink", "%s/lp-windows" % cluster.bootstrap], work, "lp",
                        group="g-lp")
    code, stdout, text = finished(p, out, err, "lp")
    if code != 0:
        fail("line protocol exited %d: %s" % (code, text))
    if stdout:
        fail("line protocol: with --kafka-sink alone stdout got %r" % stdout[:200])
    want = reference(events)
    same(rows_of_messages(cluster.consume("lp-windows", len(want)), "lp sink"), want,
         "line protocol with message timestamps")

    def refused(extra, code, pattern):
        p, out, err = serve(binary, cluster, "csv", extra, work, "refused")
        got, _, text = finished(p, out, err, "refused", timeout=90)
        if got != code or not re.search(pattern, text):
            fail("%s: exit %d (want %d), stderr %r (want /%s/)" % (extra, got, code, text,
                                                                  pattern))
    refused(["--kafka-format", "csv", "--kafka-time", "message"], 2, "CSV values carry")
    refused(["--kafka-option", "no.such.property=1"], 2, "no.such.property")
    refused(["--kafka-sink", "nobrokers"], 2, "expected BROKERS/TOPIC")
    print("formats: CSV (%d windows) and line protocol by message time (%d windows, to Kafka "
          "alone) equal the reference; bad use refused" % (len(reference(events)), len(want)))


SQL_SCRIPT = """
CREATE TABLE readings (
  ts TIMESTAMP(3) METADATA FROM 'timestamp',
  host STRING,
  v BIGINT,
  WATERMARK FOR ts AS ts - INTERVAL '3' SECOND
) WITH (
  'connector' = 'kafka',
  'topic' = 'sql-in',
  'properties.bootstrap.servers' = '%(bootstrap)s',
  'properties.group.id' = 'g-sql',
  'properties.fetch.wait.max.ms' = '20',
  'format' = 'json'
);
CREATE TABLE per_host (
  window_start TIMESTAMP(3), window_end TIMESTAMP(3), host STRING,
  n BIGINT, total BIGINT, lo BIGINT, hi BIGINT
) WITH ('connector' = 'kafka', 'topic' = 'sql-out',
        'properties.bootstrap.servers' = '%(bootstrap)s', 'properties.linger.ms' = '5');
INSERT INTO per_host
SELECT window_start, window_end, host, COUNT(*), SUM(v), MIN(v), MAX(v)
FROM TABLE(TUMBLE(TABLE readings, DESCRIPTOR(ts), INTERVAL '10' SECOND))
WHERE v >= -500
GROUP BY window_start, window_end, host;
"""


def part_sql(binary, cluster, work):
    rng = random.Random(5)
    hosts = ["gpu-%d" % i for i in range(7)]
    events = stream(rng, T0, 2400, 25, 2500, hosts)
    records = [(k % 2, e[0], json.dumps({"host": e[1], "v": e[2], "ts": 0}).encode())
               for k, e in enumerate(events)]
    cluster.produce("sql-in", records, work)
    script = os.path.join(work, "per_host.sql")
    with open(script, "w") as f:
        f.write(SQL_SCRIPT % {"bootstrap": cluster.bootstrap})
    args = [binary, "serve", "--sql", script, "--listen", "off", "--kafka-until-end",
            "--kafka-commit-interval", "100ms"]
    out = open(os.path.join(work, "sql.out"), "w+")
    err = open(os.path.join(work, "sql.err"), "w+")
    p = subprocess.Popen(args, stdout=out, stderr=err)
    p.began = time.time()
    PROCESSES.append(p)
    code, stdout, text = finished(p, out, err, "sql")
    if code != 0:
        fail("serve --sql exited %d: %s" % (code, text))
    if stdout:
        fail("serve --sql: INSERT INTO a Kafka table, yet stdout got %r" % stdout[:200])
    kept = [e for e in events if e[2] >= -500]
    want = reference(kept)
    got = {}
    for _, key, value in cluster.consume("sql-out", len(want)):
        r = json.loads(value)
        if json.loads(key) != {"host": r["host"]} or set(r) != {
                "window_start", "window_end", "host", "n", "total", "lo", "hi"}:
            fail("serve --sql: message %s keyed %s" % (value, key))
        got[(r["window_start"], r["host"])] = (r["n"], r["total"], r["lo"], r["hi"])
    same(got, want, "serve --sql, the sink table's topic")
    ends = cluster.offsets("ends", "sql-in", 2)
    committed = cluster.offsets("committed", "sql-in", 2, "g-sql")
    if committed != ends:
        fail("serve --sql: group g-sql committed %s of %s" % (committed, ends))

    # `sluice sql` reads a file and writes the same sink table.
    data = os.path.join(work, "readings.csv")
    with open(data, "w") as f:
        f.write("ts,host,v\n" + "".join("%d,%s,%d\n" % e for e in events))
    file_script = (SQL_SCRIPT % {"bootstrap": cluster.bootstrap}).replace(
        "ts TIMESTAMP(3) METADATA FROM 'timestamp'", "ts TIMESTAMP(3)")
    file_script = re.sub(r"\) WITH \(\n  'connector' = 'kafka'.*?\n\);",
                         ") WITH ('connector' = 'csv', 'path' = '%s');" % data, file_script,
                         count=1, flags=re.S).replace("'sql-out'", "'sql-file-out'")
    r = subprocess.run([binary, "sql", "-e", file_script], capture_output=True, text=True,
                       timeout=300)
    if r.returncode != 0 or r.stdout:
        fail("sluice sql into a Kafka table: exit %d, %s%s" % (r.returncode, r.stdout, r.stderr))
    got = {}
    for _, key, value in cluster.consume("sql-file-out", len(want)):
        r = json.loads(value)
        got[(r["window_start"], r["host"])] = (r["n"], r["total"], r["lo"], r["hi"])
    same(got, want, "sluice sql into a Kafka table")
    print("sql: %d messages read by message time, %d kept by WHERE, %d windows in the sink "
          "table's topic equal the reference; committed to the ends; sluice sql of the same rows "
          "from a file wrote the same windows" % (len(events), len(kept), len(want)))


CONFLUENT = r"""
import json, sys
from confluent_kafka import Consumer, Producer
bootstrap, events, count = sys.argv[1], json.load(open(sys.argv[2])), int(sys.argv[3])
producer = Producer({"bootstrap.servers": bootstrap})
for ts, host, v in events:
    producer.produce("py-in", key=host, value=json.dumps({"ts": ts, "host": host, "v": v}))
    producer.poll(0)
if producer.flush(60) != 0:
    sys.exit("confluent-kafka: not every event was delivered")
print("produced", len(events), flush=True)
input()  # Sluice reads them meanwhile
consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "py-reader",
                     "auto.offset.reset": "earliest"})
consumer.subscribe(["py-out"])
rows = []
while len(rows) < count:
    m = consumer.poll(60)
    if m is None:
        sys.exit("confluent-kafka: only %d windows came" % len(rows))
    if m.error():
        continue
    rows.append([m.partition(), m.key().decode(), m.value().decode()])
consumer.close()
json.dump(rows, sys.stdout)
"""


def confluent_python(work):
    try:
        return pypi_venv.python_with(work, "confluent-kafka")
    except pypi_venv.Unavailable as e:
        print("confluent-kafka: not installable here (%s): that part is skipped" % e)
        return None


def part_confluent(binary, cluster, work):
    python = confluent_python(work)
    if python is None:
        return
    rng = random.Random(4)
    events = [(T0 + rng.randrange(60000), "host-%d" % rng.randrange(9), rng.randrange(100))
              for _ in range(4000)]
    want = reference(events)
    path = os.path.join(work, "py-events.json")
    with open(path, "w") as f:
        json.dump(events, f)
    client = subprocess.Popen([python, "-c", CONFLUENT, cluster.bootstrap, path, str(len(want))],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    PROCESSES.append(client)
    if not client.stdout.readline().startswith("produced"):
        fail("confluent-kafka's producer: %s" % client.stderr.read())
    # Keyed by host: a partition's events are in no time order, so the delay covers a minute.
    p, out, err = serve(binary, cluster, "py-in",
                        ["--max-delay", "60s", "--workers", "2",
                         "--kafka-sink", "%s/py-out" % cluster.bootstrap], work, "confluent",
                        group="g-py")
    code, _, text = finished(p, out, err, "confluent")
    if code != 0:
        fail("serve for confluent-kafka exited %d: %s" % (code, text))
    stdout, stderr = client.communicate(input="\n", timeout=300)
    if client.returncode != 0:
        fail("confluent-kafka's consumer: %s" % stderr)
    same(rows_of_messages(json.loads(stdout), "confluent-kafka's consumer"), want,
         "confluent-kafka in and out")
    print("confluent-kafka: %d events produced, %d windows consumed; equal to the reference" % (
        len(events), len(want)))


def main():
    binary, tool, work = sys.argv[1:4]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    cluster = Cluster(tool, work, ["events:3", "windows:4", "stream:2", "csv:1", "lp:2",
                                   "lp-windows:3", "py-in:3", "py-out:2", "sql-in:2", "sql-out:2", "sql-file-out:1"])
    try:
        for part in [part_bounded, part_crash, part_formats, part_sql, part_confluent]:
            began = time.time()
            part(binary, cluster, work)
            print("  (%s: %.1f s)" % (part.__name__, time.time() - began), flush=True)
    finally:
        cluster.close()
    print("PASS")


if __name__ == "__main__":
    main()
