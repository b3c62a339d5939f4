#!/usr/bin/env python3
"""`sluice serve` end to end, with real clients on loopback.

Part 1 (every endpoint): a random out-of-order stream of cpu points (20 hosts, one minute of
event time, the watermark's delay covering the disorder, so no event is late) is cut into
chunks, and six threads send them at once, each chunk a different way: InfluxDB v2 writes in
ms, us and ns precision (some gzip), v1 writes in ms and u, JSON lines over POST /ingest (time
as a number or as RFC 3339 text), and line protocol and JSON lines over TCP. Chunks carry
malformed lines at known places (the HTTP answer must name each by its line number, the good
lines of the same body are kept) and points of another measurement (ignored). Meanwhile a slow
client sends a body line by line for a second and a half; writes of other clients must be
answered while it is slow. Then one point far ahead moves the watermark: GET /windows must
come to hold every window of the stream, equal to a brute-force count, sum, min and max per
host and 10 s window; GET /metrics counts every event, malformed line and body byte
(`promtool check metrics` lints it where Debian's prometheus package is installed). Oversized,
truncated, garbage and badly gzipped bodies, a bad precision, a bad limit and unknown paths get
413, 400 and 404 and the job goes on. SIGTERM drains: the process exits 0 and its output holds
every window, the last one included, equal to the reference.

Part 2 (a real client): PyPI's influxdb-client (the official InfluxDB v2 Python library, in a
virtual environment of WORK_DIR, where installable) pings and writes random points in batches
to a server with two workers; the windows equal the reference.

Part 3 (a SQL script): `serve --sql FILE` with a 'serve' source table (measurement cpu), a
WHERE, renamed aggregates and INSERT INTO a JSON file table, fed line protocol over HTTP and
TCP with points of another measurement; the file's windows equal the reference of the rows the
WHERE keeps. EXPLAIN prints the plan; flags the script replaces, and a file source table, are
refused with exit 2.

Part 4 (no --schema): the first write lacks a column the query reads and is refused (400
naming it); the next fixes the types (tags strings, fields by their literals, the time
timestamp[ns]); random points over HTTP, TCP and JSON lines then give windows equal to the
reference.

Part 5 (backpressure): the windows go to a FIFO that the test does not read. A TCP client
sends 48 MiB of points with 50 000 keys, so that the fired windows soon fill the FIFO: the
server must stop reading (the client's bytes stop moving for seconds while its memory stays
flat), and once the FIFO is read everything flows and the counts add up to what was sent.

    serve_cli_test.py SLUICE_BINARY WORK_DIR

Exits 77 (skipped) where the build has no HTTP server.
"""
import csv
import gzip
import http.client
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import pypi_venv  # noqa: E402

SKIP = 77
T0 = 1764694800000  # ms: 2025-12-02T17:00:00Z
SCHEMA = "ts:timestamp[ms],host:string,region:string,usage:f64,status:i64"
QUERY = ["serve", "--schema", SCHEMA, "--time", "ts", "--max-delay", "120s", "--key", "host",
         "--window", "tumbling:10s", "--agg", "count,sum(usage),min(usage),max(usage)",
         "--measurement", "cpu", "--precision", "ms", "--listen", "0", "--tcp-listen", "0",
         "--batch-timeout", "20ms", "--max-body", "256k", "--windows-kept", "100000",
         "--updates", "skip"]
JOBS = []  # servers under test, killed when the test fails


def fail(message):
    print("FAIL: " + message, flush=True)
    for job in JOBS:
        job.kill()
    sys.exit(1)


def start(binary, args, work, name):
    err = open(os.path.join(work, name + ".err"), "w+", errors="replace")
    job = subprocess.Popen([binary] + args, stdout=subprocess.DEVNULL, stderr=err)
    JOBS.append(job)
    urls = {}
    deadline = time.time() + 60
    while time.time() < deadline and len(urls) < 2 - ("off" in args):
        err.seek(0)
        for m in re.finditer(r"listening on (http|tcp)://127\.0\.0\.1:(\d+)", err.read()):
            urls[m.group(1)] = int(m.group(2))
        if job.poll() is not None:
            err.seek(0)
            fail("%s exited %d: %s" % (name, job.returncode, err.read()))
        time.sleep(0.05)
    if len(urls) < 2 - ("off" in args):
        fail("%s did not say where it listens" % name)
    return job, err, urls


def stop(job, err, name):
    job.terminate()
    try:
        code = job.wait(timeout=60)
    except subprocess.TimeoutExpired:
        fail("%s did not end within 60 s of SIGTERM" % name)
    err.seek(0)
    text = err.read()
    if code != 0:
        fail("%s exited %d after SIGTERM: %s" % (name, code, text))
    return text


def request(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request(method, path, body=body, headers=headers or {})
    reply = conn.getresponse()
    data = reply.read()
    conn.close()
    return reply.status, data


def escape_tag(text):
    return text.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def line_protocol(e, tick_ms_divisor):
    """One point; its timestamp in ms times 1000 / tick (ms: 1, us: 1000, ns: 10^6)."""
    ts, host, region, usage, status = e
    return "cpu,host=%s,region=%s usage=%r,status=%di,note=\"a \\\"b\\\", c\" %d" % (
        escape_tag(host), escape_tag(region), usage, status, ts * tick_ms_divisor)


def json_line(e, iso):
    ts, host, region, usage, status = e
    when = ts
    if iso:
        when = datetime.fromtimestamp(ts / 1000, tz=timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ts % 1000)
    return json.dumps({"extra": {"nested": [1, 2, {"x": None}]}, "usage": usage, "ts": when,
                       "host": host, "status": status, "region": region})


def reference(events):
    """(window_start, host) -> [count, sum, min, max] over tumbling 10 s windows."""
    windows = {}
    for ts, host, _, usage, _ in events:
        key = (ts - ts % 10000, host)
        w = windows.setdefault(key, [0, 0.0, usage, usage])
        w[0] += 1
        w[1] += usage
        w[2] = min(w[2], usage)
        w[3] = max(w[3], usage)
    return windows


def same_windows(got, expected, what):
    if set(got) != set(expected):
        missing = sorted(set(expected) - set(got))[:3]
        extra = sorted(set(got) - set(expected))[:3]
        fail("%s: %d windows, expected %d (missing %s, extra %s)" % (
            what, len(got), len(expected), missing, extra))
    for key, want in expected.items():
        have = got[key]
        if have[0] != want[0] or abs(have[1] - want[1]) > 1e-9 * max(1.0, abs(want[1])) or \
                have[2] != want[2] or have[3] != want[3]:
            fail("%s: window %s is %s, expected %s" % (what, key, have, want))


def windows_of_json(rows):
    out = {}
    for r in rows:
        key = (r["window_start"], r["host"])
        if key in out:
            fail("GET /windows: window %s twice" % (key,))
        out[key] = [r["count"], r["sum(usage)"], r["min(usage)"], r["max(usage)"]]
    return out


def windows_of_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows or rows[0] != ["window_start", "window_end", "host", "count", "sum(usage)",
                               "min(usage)", "max(usage)"]:
        fail("output header %s" % (rows[:1],))
    out = {}
    for c in rows[1:]:
        out[(int(c[0]), c[2])] = [int(c[3]), float(c[4]), float(c[5]), float(c[6])]
    return out


def metric(port, name):
    status, body = request(port, "GET", "/metrics")
    if status != 200:
        fail("GET /metrics answered %d" % status)
    for line in body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1]), body.decode()
    fail("no %s in /metrics" % name)


def with_bad_lines(lines, rng):
    """`lines` with one to three malformed lines inserted; their 1-based numbers."""
    bad = ["cpu,host=x usage=", "cpu,host=x usage=1,status=2.5i 1", "garbage",
           "cpu,host=x status=1i 1", '{"ts": 1, "host": "x"', "cpu,host=y usage=abc 5"]
    out = list(lines)
    for _ in range(rng.randint(1, 3)):
        # Not first: a TCP connection's first line tells its format.
        out.insert(rng.randint(1, max(1, len(out))), rng.choice(bad))
    numbers = [i + 1 for i, line in enumerate(out) if line in bad]
    return out, numbers


def check_rejection(status, body, numbers, what):
    if status != 400:
        fail("%s with malformed lines %s answered %d: %r" % (what, numbers, status, body))
    text = body.decode()
    for n in numbers[:10]:
        if "line %d:" % n not in text:
            fail("%s: the answer does not name line %d: %s" % (what, n, text))


def send_chunk(kind, events, ports, rng, counts, lock):
    ms = [line_protocol(e, 1) for e in events]
    other = ["mem,host=h0 used=1i %d" % events[0][0]] if events else []
    if kind in ("v2-ms", "v2-us", "v2-ns-gzip", "v1-ms", "v1-u", "v1-n-gzip"):
        divisor = {"ms": 1, "us": 1000, "u": 1000, "ns": 1000000, "n": 1000000}[
            kind.split("-")[1]]
        lines = [line_protocol(e, divisor) for e in events] + other
        lines, bad = with_bad_lines(lines, rng)
        body = "\n".join(lines).encode()
        headers = {"Content-Type": "text/plain"}
        if kind.endswith("gzip"):
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        precision = kind.split("-")[1]
        path = ("/api/v2/write?bucket=b&org=o&precision=" if kind.startswith("v2")
                else "/write?db=d&precision=") + precision
        status, reply = request(ports["http"], "POST", path, body, headers)
        check_rejection(status, reply, bad, kind)
        with lock:
            counts["bad"] += len(bad)
            counts["bytes"] += len("\n".join(lines))
    elif kind.startswith("ingest"):
        lines = [json_line(e, kind.endswith("iso")) for e in events]
        lines, bad = with_bad_lines(lines, rng)
        text = "\r\n".join(lines) + "\r\n"
        status, reply = request(ports["http"], "POST", "/ingest", text.encode())
        check_rejection(status, reply, bad, kind)
        problems = json.loads(reply)
        if problems["accepted"] != len(events) or problems["rejected"] != len(bad):
            fail("%s: answer %s, expected %d accepted and %d rejected" % (
                kind, problems, len(events), len(bad)))
        with lock:
            counts["bad"] += len(bad)
            counts["bytes"] += len(text)
    else:  # tcp-lp, tcp-json: sent in random pieces, cut anywhere
        lines = ms + other if kind == "tcp-lp" else [json_line(e, False) for e in events]
        lines, bad = with_bad_lines(lines, rng)
        data = ("\n".join(lines) + "\n").encode()
        with socket.create_connection(("127.0.0.1", ports["tcp"]), timeout=60) as s:
            at = 0
            while at < len(data):
                step = rng.randint(1, 4000)
                s.sendall(data[at:at + step])
                at += step
        with lock:
            counts["bad"] += len(bad)
            counts["bytes"] += len(data)


def slow_client(port, events, result):
    """A v2 write whose body arrives a line every 0.15 s."""
    lines = [(line_protocol(e, 1) + "\n").encode() for e in events]
    body = b"".join(lines)
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    s.sendall(b"POST /api/v2/write?bucket=b&precision=ms HTTP/1.1\r\nHost: x\r\n"
              b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body))
    for line in lines:
        s.sendall(line)
        time.sleep(0.15)
    reply = s.recv(4096).decode(errors="replace")
    s.close()
    result["status"] = reply.split(" ")[1] if " " in reply else reply
    result["bytes"] = len(body)


def part_endpoints(binary, work, promtool):
    rng = random.Random(int(os.environ.get("SLUICE_TEST_SEED", "20261203")))
    hosts = ["h%d" % i for i in range(18)] + ["web 1,a=b", "db\\2"]
    events = []
    for _ in range(6000):
        events.append((T0 + rng.randrange(60000), rng.choice(hosts), rng.choice(["eu", "us"]),
                       float(rng.randrange(0, 1000)) / 4, rng.choice([200, 404, 500])))
    rng.shuffle(events)
    slow_events, events = events[:10], events[10:]
    output = os.path.join(work, "windows.csv")
    job, err, ports = start(binary, QUERY + ["--output", output], work, "serve")

    kinds = ["v2-ms", "v2-us", "v2-ns-gzip", "v1-ms", "v1-u", "v1-n-gzip", "ingest",
             "ingest-iso", "tcp-lp", "tcp-json"]
    chunks = [(kinds[i % len(kinds)], events[i * 200:(i + 1) * 200])
              for i in range((len(events) + 199) // 200)]
    counts = {"bad": 0, "bytes": 0}
    lock = threading.Lock()
    errors = []

    def sender(my_chunks, seed):
        my_rng = random.Random(seed)
        try:
            for kind, chunk in my_chunks:
                send_chunk(kind, chunk, ports, my_rng, counts, lock)
        except SystemExit:
            errors.append("a check failed")
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    slow = {}
    slow_thread = threading.Thread(target=slow_client, args=(ports["http"], slow_events, slow))
    slow_thread.start()
    time.sleep(0.2)
    # Other clients are served while the slow one is slow.
    began = time.time()
    status, _ = request(ports["http"], "POST", "/api/v2/write?bucket=b&precision=ms",
                        "\n".join(line_protocol(e, 1) for e in events[:1]).encode())
    if status != 204 or time.time() - began > 1.0:
        fail("a write beside a slow client answered %d after %.2f s" % (
            status, time.time() - began))
    counts["bytes"] += len(line_protocol(events[0], 1))
    events.append(events[0])  # sent twice: once here, once in its chunk
    threads = [threading.Thread(target=sender, args=(chunks[i::6], i)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    slow_thread.join()
    if errors:
        fail("senders: %s" % errors)
    if slow.get("status") != "204":
        fail("the slow client's write answered %s" % slow)
    counts["bytes"] += slow["bytes"]
    events += slow_events

    # Bad requests: answered, and the job goes on.
    for method, path, body, headers, want in [
            ("POST", "/api/v2/write?precision=ms", b"x" * (300 << 10), {}, 413),
            ("POST", "/api/v2/write?precision=ms", b"\x1f\x8b\x08garbage",
             {"Content-Encoding": "gzip"}, 400),
            ("POST", "/api/v2/write?precision=fortnight", b"cpu usage=1 1", {}, 400),
            ("POST", "/write?precision=us", b"\x00\xff\xfe garbage\n\n", {}, 400),
            ("POST", "/ingest", b"[1,2,3]\n{\"ts\":", {}, 400),
            ("GET", "/windows?limit=many", None, {}, 400),
            ("GET", "/nothing", None, {}, 404),
            ("GET", "/health", None, {}, 200),
            ("GET", "/ping", None, {}, 204)]:
        status, reply = request(ports["http"], method, path, body, headers)
        if status != want:
            fail("%s %s answered %d, expected %d: %r" % (method, path, status, want, reply[:200]))
    counts["bad"] += 1 + 2  # the garbage line protocol and JSON bodies' lines
    counts["bytes"] += len(b"\x00\xff\xfe garbage\n\n") + len(b"[1,2,3]\n{\"ts\":")
    # A truncated request: the connection closes mid-body.
    with socket.create_connection(("127.0.0.1", ports["http"])) as s:
        s.sendall(b"POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"ts\": 1")
    with socket.create_connection(("127.0.0.1", ports["tcp"])) as s:
        s.sendall(bytes(rng.randrange(256) for _ in range(5000)) + b"\n")  # garbage on TCP
    time.sleep(0.5)
    garbage_rejected, _ = metric(ports["http"], "sluice_events_malformed_total")

    # One point far ahead: the watermark passes every window of the stream.
    ahead = (T0 + 10 ** 7, "h0", "eu", 1.0, 200)
    status, _ = request(ports["http"], "POST", "/api/v2/write?precision=ms",
                        line_protocol(ahead, 1).encode())
    if status != 204:
        fail("the last write answered %d" % status)
    expected = reference(events)
    deadline = time.time() + 60
    while True:
        status, body = request(ports["http"], "GET", "/windows?limit=1000000")
        rows = json.loads(body)
        if status == 200 and len(rows) >= len(expected) or time.time() > deadline:
            break
        time.sleep(0.1)
    same_windows(windows_of_json(rows), expected, "GET /windows")
    status, body = request(ports["http"], "GET", "/windows?limit=3")
    if len(json.loads(body)) != 3:
        fail("GET /windows?limit=3 gave %d rows" % len(json.loads(body)))
    events.append(ahead)

    events_in, text = metric(ports["http"], "sluice_events_in_total")
    malformed, _ = metric(ports["http"], "sluice_events_malformed_total")
    if events_in != len(events):
        fail("sluice_events_in_total %d, sent %d good points" % (events_in, len(events)))
    if malformed < counts["bad"] or malformed != garbage_rejected:
        fail("sluice_events_malformed_total %d, sent %d malformed lines (and TCP garbage: %d "
             "before the last write)" % (malformed, counts["bad"], garbage_rejected))
    if promtool:
        check = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                               capture_output=True, timeout=60)
        if check.returncode != 0:
            fail("promtool check metrics: %s%s" % (check.stdout.decode(), check.stderr.decode()))
    bytes_in, _ = metric(ports["http"], "sluice_input_bytes_total")
    if bytes_in < counts["bytes"]:
        fail("sluice_input_bytes_total %d, sent at least %d" % (bytes_in, counts["bytes"]))

    summary = stop(job, err, "serve")
    same_windows(windows_of_csv(output), reference(events), "the output after SIGTERM")
    if "every open window was fired" not in summary:
        fail("no drain note on stderr: %s" % summary)
    print("endpoints: %d events in %d chunks over 10 ways and a slow client, %d malformed lines "
          "rejected, %d windows; ok" % (len(events), len(chunks), malformed, len(expected)))


INFLUX_CLIENT = r"""
import json, sys
from influxdb_client import InfluxDBClient, Point, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS
url, path = sys.argv[1], sys.argv[2]
events = json.load(open(path))
with InfluxDBClient(url=url, token="unused", org="unused") as client:
    if not client.ping():
        sys.exit("ping failed")
    write = client.write_api(write_options=SYNCHRONOUS)
    for at in range(0, len(events), 500):
        points = [Point("cpu").tag("host", h).tag("region", r).field("usage", float(u))
                  .field("status", int(s)).time(ts, WritePrecision.MS)
                  for ts, h, r, u, s in events[at:at + 500]]
        write.write(bucket="telemetry", record=points)
print("wrote", len(events))
"""


def influx_client_python(work):
    """A Python with PyPI's influxdb-client, or None."""
    try:
        return pypi_venv.python_with(work, "influxdb-client")
    except pypi_venv.Unavailable as e:
        print("influxdb-client: not installable here (%s): that part is skipped" % e)
        return None


def part_influx_client(binary, work):
    """PyPI's InfluxDB v2 client writes random points; the windows equal the reference."""
    python = influx_client_python(work)
    if python is None:
        return
    rng = random.Random(7)
    hosts = ["web-%d" % i for i in range(8)] + ["a b", "c,d", "e=f"]
    events = [(T0 + rng.randrange(30000), rng.choice(hosts), rng.choice(["eu", "us"]),
               float(rng.randrange(0, 400)) / 4, rng.choice([200, 500])) for _ in range(3000)]
    events.append((T0 + 10 ** 7, "web-0", "eu", 1.0, 200))
    data = os.path.join(work, "influx-points.json")
    with open(data, "w") as f:
        json.dump(events, f)
    output = os.path.join(work, "influx-windows.csv")
    # Two workers: the windows do not depend on how many.
    job, err, ports = start(binary, QUERY + ["--output", output, "--workers", "2"], work,
                            "serve-influx")
    client = subprocess.run([python, "-c", INFLUX_CLIENT, "http://127.0.0.1:%d" % ports["http"],
                             data], capture_output=True, text=True, timeout=300)
    if client.returncode != 0:
        fail("influxdb-client: %s%s" % (client.stdout, client.stderr))
    stop(job, err, "serve-influx")
    same_windows(windows_of_csv(output), reference(events), "influxdb-client's points")
    print("influxdb-client: %d points in %d writes; windows ok" % (len(events),
                                                                 (len(events) + 499) // 500))


SQL_SCRIPT = """
-- what Telegraf's outputs.influxdb_v2 (or any line-protocol client) writes
CREATE TABLE cpu (
  ts TIMESTAMP(3), host STRING, region STRING, usage DOUBLE, status BIGINT,
  WATERMARK FOR ts AS ts - INTERVAL '120' SECOND
) WITH ('connector' = 'serve', 'measurement' = 'cpu');
CREATE TABLE per_host (
  window_start TIMESTAMP(3), window_end TIMESTAMP(3), host STRING,
  n BIGINT, total DOUBLE, lo DOUBLE, hi DOUBLE
) WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'json');
%sINSERT INTO per_host
SELECT window_start, window_end, host, COUNT(*), SUM(usage), MIN(usage), MAX(usage)
FROM TABLE(TUMBLE(TABLE cpu, DESCRIPTOR(ts), INTERVAL '10' SECOND))
WHERE status = 200
GROUP BY window_start, window_end, host;
"""


def part_sql(binary, work):
    """serve --sql: a 'serve' table fed over HTTP and TCP, windows to a JSON file table."""
    rng = random.Random(11)
    hosts = ["db-%d" % i for i in range(6)]
    events = [(T0 + rng.randrange(40000), rng.choice(hosts), rng.choice(["eu", "us"]),
               float(rng.randrange(0, 400)) / 8, rng.choice([200, 200, 500]))
              for _ in range(2500)]
    output = os.path.join(work, "sql-windows.jsonl")
    script = os.path.join(work, "per_host.sql")
    with open(script, "w") as f:
        f.write(SQL_SCRIPT % (output, ""))
    job, err, ports = start(binary, ["serve", "--sql", script, "--listen", "0", "--tcp-listen",
                                     "0", "--precision", "ms", "--batch-timeout", "20ms"], work,
                            "serve-sql")
    half = len(events) // 2
    for at in range(0, half, 400):
        lines = [line_protocol(e, 1) for e in events[at:min(at + 400, half)]]
        lines.append("mem,host=db-0 used=1i %d" % T0)  # another measurement: ignored
        status, body = request(ports["http"], "POST", "/api/v2/write?bucket=b&precision=ms",
                               "\n".join(lines).encode())
        if status != 204:
            fail("serve --sql: a write got %d %s" % (status, body[:200]))
    with socket.create_connection(("127.0.0.1", ports["tcp"]), timeout=60) as tcp:
        tcp.sendall("".join(line_protocol(e, 1) + "\n" for e in events[half:]).encode())
    deadline = time.time() + 60
    while metric(ports["http"], "sluice_events_in_total")[0] < len(events):
        if time.time() > deadline:
            fail("serve --sql: the TCP points did not arrive")
        time.sleep(0.05)
    stop(job, err, "serve-sql")
    got = {}
    with open(output) as f:
        for line in f:
            r = json.loads(line)
            if set(r) != {"window_start", "window_end", "host", "n", "total", "lo", "hi"}:
                fail("serve --sql: a row with the columns %s" % sorted(r))
            got[(r["window_start"], r["host"])] = [r["n"], r["total"], r["lo"], r["hi"]]
    kept = [e for e in events if e[4] == 200]
    same_windows(got, reference(kept), "serve --sql's windows")

    # EXPLAIN prints the plan and exits; what the script says cannot come from flags too.
    with open(script, "w") as f:
        f.write(SQL_SCRIPT % (output, "EXPLAIN "))
    plan = subprocess.run([binary, "serve", "--sql", script, "--listen", "0"],
                          capture_output=True, text=True, timeout=60)
    if plan.returncode != 0 or "the HTTP and TCP clients" not in plan.stdout or \
            "where (status == 200)" not in plan.stdout or "n, total, lo, hi" not in plan.stdout:
        fail("serve --sql EXPLAIN: exit %d, %s%s" % (plan.returncode, plan.stdout, plan.stderr))
    refused = subprocess.run([binary, "serve", "--sql", script, "--window", "tumbling:1s"],
                             capture_output=True, text=True, timeout=60)
    if refused.returncode != 2 or "--window: the script of --sql says it" not in refused.stderr:
        fail("serve --sql --window: exit %d, %s" % (refused.returncode, refused.stderr))
    with open(script, "w") as f:
        f.write((SQL_SCRIPT % (output, "")).replace("'connector' = 'serve', 'measurement' = 'cpu'",
                                                   "'connector' = 'csv', 'path' = 'x.csv'"))
    refused = subprocess.run([binary, "serve", "--sql", script], capture_output=True, text=True,
                             timeout=60)
    if refused.returncode != 2 or "line 6, column 23: sluice serve reads what clients write" \
            not in refused.stderr:
        fail("serve --sql of a file table: exit %d, %s" % (refused.returncode, refused.stderr))
    print("serve --sql: %d points over HTTP and TCP, %d kept by WHERE, %d windows ok; EXPLAIN "
          "and bad use checked" % (len(events), len(kept), len(got)))


def part_inferred(binary, work):
    """serve without --schema: the first write that gives every column read fixes the types."""
    rng = random.Random(13)
    hosts = ["api-%d" % i for i in range(5)] + ["x y"]
    events = [(T0 + rng.randrange(30000), rng.choice(hosts), rng.choice(["eu", "us", "ap"]),
               float(rng.randrange(0, 400)) / 4, rng.choice([200, 404])) for _ in range(3000)]
    output = os.path.join(work, "inferred-windows.csv")
    args = ["serve", "--time", "ts", "--max-delay", "120s", "--key", "host", "--where",
            "region != 'ap'", "--window", "tumbling:10s",
            "--agg", "count,sum(usage),min(usage),max(usage)", "--measurement", "cpu",
            "--precision", "ms", "--listen", "0", "--tcp-listen", "0", "--batch-timeout", "20ms",
            "--updates", "skip", "--output", output]
    job, err, ports = start(binary, args, work, "serve-inferred")
    status, body = request(ports["http"], "POST", "/api/v2/write?bucket=b&precision=ms",
                           ("cpu,host=a,region=eu status=200i %d\n" % T0).encode())
    if status != 400 or b"column 'usage'" not in body:
        fail("no --schema: a first write without usage got %d %s" % (status, body[:300]))
    third = len(events) // 3
    for at in range(0, third, 500):
        lines = [line_protocol(e, 1) for e in events[at:min(at + 500, third)]]
        status, body = request(ports["http"], "POST", "/api/v2/write?bucket=b&precision=ms",
                               "\n".join(lines).encode())
        if status != 204:
            fail("no --schema: a write got %d %s" % (status, body[:300]))
    with socket.create_connection(("127.0.0.1", ports["tcp"]), timeout=60) as tcp:
        tcp.sendall("".join(line_protocol(e, 1) + "\n" for e in events[third:2 * third]).encode())
    # JSON lines: the time column is timestamp[ns] now, so their times are ns.
    lines = [json.dumps({"ts": e[0] * 1000000, "host": e[1], "region": e[2], "usage": e[3]})
             for e in events[2 * third:]]
    status, body = request(ports["http"], "POST", "/ingest", "\n".join(lines).encode())
    if status != 204:
        fail("no --schema: JSON lines got %d %s" % (status, body[:300]))
    deadline = time.time() + 60
    while metric(ports["http"], "sluice_events_in_total")[0] < len(events):
        if time.time() > deadline:
            fail("no --schema: the TCP points did not arrive")
        time.sleep(0.05)
    malformed = metric(ports["http"], "sluice_events_malformed_total")[0]
    text = stop(job, err, "serve-inferred")
    if "schema ts:timestamp[ns],host:string,region:string,usage:f64 (from the first write)" \
            not in text:
        fail("no --schema: the inferred schema is not reported: %s" % text)
    if malformed != 1:
        fail("no --schema: %s malformed lines counted, 1 expected (the refused write)" % malformed)
    with open(output, newline="") as f:
        rows = list(csv.reader(f))
    if rows[0] != ["window_start", "window_end", "host", "count", "sum(usage)", "min(usage)",
                   "max(usage)"]:
        fail("no --schema: header %s" % rows[0])
    got = {}
    for c in rows[1:]:
        if int(c[0]) % 1000000:
            fail("no --schema: window start %s is not in ns of whole ms" % c[0])
        got[(int(c[0]) // 1000000, c[2])] = [int(c[3]), float(c[4]), float(c[5]), float(c[6])]
    kept = [e for e in events if e[2] != "ap"]
    same_windows(got, reference(kept), "no --schema")
    for extra, says in [(["--kafka-source", "127.0.0.1:9/t"], "--kafka-source needs --schema"),
                        (["--types", "usage:f65"], "--types"),
                        (["--types", "status:i64"],
                         "--types: the query does not read column 'status' (it reads ts, host, "
                         "region, usage)")]:
        r = subprocess.run([binary] + args + extra, capture_output=True, text=True, timeout=60)
        if r.returncode != 2 or says not in r.stderr:
            fail("no --schema with %s: exit %d, %s" % (extra, r.returncode, r.stderr))
    # An output that cannot be opened fails the first write that fixes the schema, and serve
    # ends with it: no later write could help.
    unwritable = os.path.join(work, "no-such-dir", "windows.csv")
    bad_args = [unwritable if a == output else a for a in args]
    job, err, ports = start(binary, bad_args, work, "serve-inferred-unwritable")
    status, body = request(ports["http"], "POST", "/api/v2/write?bucket=b&precision=ms",
                           (line_protocol(events[0], 1) + "\n").encode())
    if status != 400 or b"the job could not start" not in body:
        fail("no --schema, unwritable output: the write got %d %s" % (status, body[:300]))
    try:
        code = job.wait(timeout=30)
    except subprocess.TimeoutExpired:
        fail("no --schema, unwritable output: serve still runs 30 s after the failed start")
    err.seek(0)
    text = err.read()
    if code != 1 or "no-such-dir" not in text:
        fail("no --schema, unwritable output: exit %d: %s" % (code, text))
    print("no --schema: a write without usage refused, then %d points over HTTP, TCP and JSON "
          "lines typed by the first write; %d windows ok" % (len(events), len(got)))


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def part_backpressure(binary, work):
    fifo = os.path.join(work, "windows.fifo")
    if os.path.exists(fifo):
        os.remove(fifo)
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # open, but not read yet
    job, err, ports = start(
        binary, ["serve", "--schema", "ts:timestamp[ms],host:string,usage:f64", "--time", "ts",
                 "--key", "host", "--window", "tumbling:1s", "--agg", "count",
                 "--listen", "off", "--tcp-listen", "0", "--precision", "ms", "--batch-rows",
                 "8192", "--batch-timeout", "10ms", "--output", fifo], work, "serve-fifo")
    keys = 50000
    total = 48 << 20
    sent = [0]
    lines_sent = [0]
    done = threading.Event()

    def client():
        s = socket.create_connection(("127.0.0.1", ports["tcp"]))
        i = 0
        while sent[0] < total:
            chunk = "".join("cpu,host=k%d usage=1 %d\n" % ((i + j) % keys, T0 + (i + j) // 100)
                            for j in range(2000)).encode()
            s.sendall(chunk)
            i += 2000
            sent[0] += len(chunk)
            lines_sent[0] = i
        s.close()
        done.set()

    t = threading.Thread(target=client, daemon=True)
    t.start()
    # Wait until the client's bytes stop moving: the FIFO is full and the server reads no more.
    last, still_since = -1, time.time()
    deadline = time.time() + 120
    while time.time() < deadline and not done.is_set():
        if sent[0] != last:
            last, still_since = sent[0], time.time()
        elif time.time() - still_since > 1.5:
            break
        time.sleep(0.1)
    if done.is_set():
        fail("no backpressure: the server took all %d bytes while its output was not read" % total)
    if time.time() >= deadline:
        fail("the client kept moving for 120 s with the output not read")
    stuck_at, rss_before = sent[0], rss_kib(job.pid)
    time.sleep(2.5)
    grew = rss_kib(job.pid) - rss_before
    if sent[0] != stuck_at:
        fail("the client moved on (%d -> %d bytes) while the output was not read" % (
            stuck_at, sent[0]))
    if grew > 16 << 10:
        fail("the server grew by %d KiB while the client was held back" % grew)
    # Read the FIFO: everything flows.
    os.set_blocking(reader, True)
    got = []

    def drain():
        with os.fdopen(reader, "rb") as f:
            got.append(f.read())

    d = threading.Thread(target=drain)
    d.start()
    if not done.wait(300):
        fail("the client did not finish once the output was read")
    time.sleep(0.5)
    stop(job, err, "serve-fifo")
    d.join(60)
    text = got[0].decode().splitlines() if got else []
    counted = sum(int(line.split(",")[3]) for line in text[1:])
    if counted != lines_sent[0]:
        fail("the windows count %d events, the client sent %d" % (counted, lines_sent[0]))
    print("backpressure: held back at %.1f MiB of %d MiB with the output blocked (server +%d "
          "KiB meanwhile); then %d events, %d windows; ok" % (
              stuck_at / 2 ** 20, total >> 20, grew, lines_sent[0], len(text) - 1))


def main():
    binary, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    version = subprocess.run([binary, "serve", "--schema", "t:i64", "--time", "t", "--window",
                              "global", "--agg", "count", "--listen", "0", "--help"],
                             capture_output=True, text=True)
    probe = subprocess.run([binary, "serve", "--schema", "t:i64", "--time", "t", "--window",
                            "global", "--agg", "count", "--listen", "x:y"], capture_output=True,
                           text=True)
    if "no HTTP server" in probe.stderr:
        print("skipped: this build has no HTTP server")
        return SKIP
    if version.returncode != 0 or "POST /api/v2/write" not in version.stdout:
        fail("sluice serve --help: %s" % version.stderr)
    if probe.returncode != 2 or "--listen" not in probe.stderr:
        fail("a bad --listen: exit %d, %s" % (probe.returncode, probe.stderr))
    part_endpoints(binary, work, shutil.which("promtool"))
    part_influx_client(binary, work)
    part_sql(binary, work)
    part_inferred(binary, work)
    part_backpressure(binary, work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
