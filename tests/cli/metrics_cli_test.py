#!/usr/bin/env python3
"""`sluice run --metrics-listen` scraped by a real HTTP client while the job runs.

A random out-of-order CSV stream (its disorder within the watermark's delay, so no event is
late) goes to `sluice run --input -` through a pipe in parts. After each part the test scrapes
GET /metrics with Python's urllib until the counters show the part: events in, aggregated and
input bytes must equal what was written, windows fired what stdout received; the histograms
must be well formed and observe the emitted rows. `promtool check metrics` (Debian's
prometheus package) lints every scrape where it is installed. Garbage on the socket is refused
and the job goes on; once stdin closes the job exits 0, its windows equal a brute-force count
and sum, and the port is closed. A bad --metrics-listen is a usage error (exit 2) and a port in
use a runtime error naming it (exit 1).

    metrics_cli_test.py SLUICE_BINARY WORK_DIR

Exits 77 (skipped) where the build has no HTTP server.
"""
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

SKIP = 77
QUERY = ["run", "--input", "-", "--schema", "ts:timestamp[ms],host:string,cpu:i64",
         "--time", "ts", "--max-delay", "2s", "--key", "host", "--window", "tumbling:1s",
         "--agg", "count,sum(cpu)", "--batch-timeout", "50ms"]
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')


JOB = []  # the job under test, killed when the test fails


def fail(message):
    print("FAIL: " + message)
    for job in JOB:
        job.kill()
    sys.exit(1)


def parse(text):
    """The samples of a text exposition, by name with labels."""
    values = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        m = SAMPLE.match(line)
        if not m:
            fail("not a sample line: %r" % line)
        values[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return values


def scrape(url):
    with urllib.request.urlopen(url, timeout=10) as reply:
        if reply.status != 200:
            fail("GET %s answered %d" % (url, reply.status))
        kind = reply.headers.get("Content-Type", "")
        if not kind.startswith("text/plain; version=0.0.4"):
            fail("Content-Type %r" % kind)
        return reply.read().decode()


def lint(text, promtool):
    if promtool is None:
        return
    check = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                           capture_output=True, timeout=60)
    if check.returncode != 0:
        fail("promtool check metrics: %s%s" % (check.stdout.decode(), check.stderr.decode()))


def check_histograms(v):
    for name in ("sluice_round_duration_seconds", "sluice_emission_latency_seconds"):
        buckets = sorted((float(k.split('"')[1]) if '"+Inf"' not in k else float("inf"), c)
                         for k, c in v.items() if k.startswith(name + "_bucket{"))
        if not buckets or buckets[-1][0] != float("inf"):
            fail("%s has no +Inf bucket" % name)
        counts = [c for _, c in buckets]
        if counts != sorted(counts):
            fail("%s buckets are not cumulative: %s" % (name, counts))
        if counts[-1] != v[name + "_count"]:
            fail("%s: +Inf bucket %s, count %s" % (name, counts[-1], v[name + "_count"]))


def make_events(rng, n, start):
    rows = []
    for i in range(n):
        t = start + i * 7 + rng.randrange(0, 1500)  # disorder below the 2 s delay
        rows.append((t, "host-%d" % rng.randrange(6), rng.randrange(-50, 100)))
    return rows


def main():
    if len(sys.argv) != 3:
        fail("usage: metrics_cli_test.py SLUICE_BINARY WORK_DIR")
    sluice, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    probe = subprocess.run([sluice] + QUERY + ["--metrics-listen", "0", "--quiet"],
                           input=b"ts,host,cpu\n", capture_output=True, timeout=60)
    if b"no HTTP server" in probe.stderr:
        print("SKIP: " + probe.stderr.decode().strip())
        sys.exit(SKIP)
    promtool = shutil.which("promtool")
    if promtool is None:
        print("note: promtool not found (Debian's prometheus package): the format is checked "
              "by this test's parser only")

    # Usage and runtime errors.
    bad = subprocess.run([sluice] + QUERY + ["--metrics-listen", "localhost:99999"],
                         input=b"", capture_output=True, timeout=60)
    if bad.returncode != 2 or b"--metrics-listen" not in bad.stderr:
        fail("bad address: exit %d, %s" % (bad.returncode, bad.stderr))
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    busy = subprocess.run([sluice] + QUERY + ["--metrics-listen", "127.0.0.1:%d" % port],
                          input=b"", capture_output=True, timeout=60)
    taken.close()
    if busy.returncode != 1 or ("127.0.0.1:%d" % port).encode() not in busy.stderr:
        fail("port in use: exit %d, %s" % (busy.returncode, busy.stderr))

    rng = random.Random(20261203)
    parts = [make_events(rng, n, 1_800_000_000_000 + k * 40_000) for k, n in
             enumerate((1500, 1, 2501))]
    job = subprocess.Popen([sluice] + QUERY + ["--metrics-listen", "127.0.0.1:0"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    JOB.append(job)
    url = None
    err_lines = []
    while url is None:
        line = job.stderr.readline().decode()
        if not line:
            fail("no metrics address on stderr: %s" % "".join(err_lines))
        err_lines.append(line)
        m = re.search(r"metrics at (http://\S+)", line)
        if m:
            url = m.group(1)
    stdout_rows = []
    reader = threading.Thread(
        target=lambda: stdout_rows.extend(job.stdout.read().decode().splitlines()), daemon=True)
    reader.start()
    threading.Thread(target=lambda: err_lines.extend(
        l.decode() for l in job.stderr), daemon=True).start()
    host, port = url.split("//")[1].split("/")[0].split(":")
    written = b"ts,host,cpu\n"
    job.stdin.write(written)
    rows_in = 0
    for part in parts:
        text = "".join("%d,%s,%d\n" % r for r in part).encode()
        job.stdin.write(text)
        job.stdin.flush()
        written += text
        rows_in += len(part)
        deadline = time.monotonic() + 20
        while True:
            text_now = scrape(url)
            v = parse(text_now)
            if v["sluice_events_in_total"] == rows_in and \
                    v["sluice_events_aggregated_total"] == rows_in and \
                    v.get("sluice_input_bytes_total") == len(written):
                break
            if time.monotonic() > deadline:
                fail("after %d rows (%d bytes): %s" % (rows_in, len(written), {
                    k: v.get(k) for k in ("sluice_events_in_total", "sluice_input_bytes_total",
                                          "sluice_events_aggregated_total")}))
            time.sleep(0.05)
        lint(text_now, promtool)
        check_histograms(v)
        if v["sluice_events_late_total"] != 0 or v["sluice_events_malformed_total"] != 0:
            fail("late or malformed events: %s" % text_now)
        if v["sluice_emission_latency_seconds_count"] > v["sluice_windows_fired_total"]:
            fail("more latencies than windows fired")
        if v['sluice_info{backend="cpu",rank="0",ranks="1",version="%s"}' % version(sluice)] != 1:
            fail("sluice_info: %s" % text_now)
        # Garbage and a truncated request on the same port: refused, the job goes on.
        for junk in (bytes(rng.randrange(256) for _ in range(2000)), b"GET /metr"):
            with socket.create_connection((host, int(port)), timeout=10) as s:
                s.sendall(junk)
                s.shutdown(socket.SHUT_WR)
                reply = s.recv(100)
                if reply.startswith(b"HTTP/1.1 200"):
                    fail("garbage answered 200")
    try:
        urllib.request.urlopen(url.replace("/metrics", "/nope"), timeout=10)
        fail("/nope answered 200")
    except urllib.error.HTTPError as e:
        if e.code != 404:
            fail("/nope answered %d" % e.code)
    final = parse(scrape(url))
    if final["sluice_windows_fired_total"] == 0 or final["sluice_emission_latency_seconds_count"] == 0:
        fail("nothing fired while the job ran: %s" % final)
    if final["sluice_watermark_lag_seconds"] > 0:
        fail("the events lie in the future, the lag must be negative: %s" % final)
    job.stdin.close()
    code = job.wait(timeout=60)
    reader.join(timeout=60)
    if code != 0:
        fail("exit %d: %s" % (code, "".join(err_lines)))

    # The windows against a brute-force count and sum.
    want = {}
    for part in parts:
        for t, h, cpu in part:
            start = t - t % 1000
            n, s = want.get((start, h), (0, 0))
            want[(start, h)] = (n + 1, s + cpu)
    header, rows = stdout_rows[0], stdout_rows[1:]
    if header != "window_start,window_end,host,count,sum(cpu),update":
        fail("header %r" % header)
    got = {}
    for row in rows:
        start, end, h, n, s, update = row.split(",")
        if int(end) - int(start) != 1000 or update != "false" or (int(start), h) in got:
            fail("row %r" % row)
        got[(int(start), h)] = (int(n), int(s))
    if got != want:
        fail("%d windows, %d expected; first differing: %s" % (len(got), len(want), sorted(
            set(got.items()) ^ set(want.items()))[:3]))
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
        fail("the port still listens after the job ended")
    except OSError:
        pass
    print("ok: %d rows in %d windows; scraped %d counters%s" % (
        rows_in, len(got), len(final), "" if promtool is None else ", promtool clean"))


def version(sluice):
    out = subprocess.run([sluice, "--version"], capture_output=True, timeout=60).stdout.decode()
    return out.split()[1]


if __name__ == "__main__":
    main()
