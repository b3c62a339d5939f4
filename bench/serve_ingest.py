#!/usr/bin/env python3
"""Ingest rate of `sluice serve`: line protocol and JSON lines over TCP and HTTP, 1 and 2
clients, next to the loopback ceiling (the same client's bytes into a socket that only reads).

    bench/serve_ingest.py SLUICE_BINARY [--events N] [--json FILE]

A run generates N points (1 000 hosts, 10 per ms of event time), starts `sluice serve` with a
10 s tumbling count and average per host written to /dev/null, sends every point, and stops the
clock when GET /metrics counts them all in the job. HTTP clients send 4 MB bodies on one
keep-alive connection each and wait for each answer, as a Telegraf output does.
"""
import argparse
import http.client
import json
import re
import socket
import subprocess
import threading
import time
import urllib.request

T0 = 1764694800000
SCHEMA = "ts:timestamp[ms],host:string,region:string,usage:f64,status:i64"


def line_protocol(n):
    return "".join("cpu,host=h%d,region=eu usage=%d.5,status=200i %d\n"
                   % (i % 1000, i % 100, T0 + i // 10) for i in range(n)).encode()


def json_lines(n):
    return "".join('{"ts":%d,"host":"h%d","region":"eu","usage":%d.5,"status":200}\n'
                   % (T0 + i // 10, i % 1000, i % 100) for i in range(n)).encode()


def start(binary):
    log = subprocess.Popen([binary, "serve", "--schema", SCHEMA, "--time", "ts", "--key", "host",
                            "--window", "tumbling:10s", "--agg", "count,avg(usage)",
                            "--listen", "0", "--tcp-listen", "0", "--precision", "ms",
                            "--output", "/dev/null"], stderr=subprocess.PIPE, text=True)
    ports = {}
    while len(ports) < 2:
        line = log.stderr.readline()
        if not line:
            raise SystemExit("sluice serve exited: %s" % log.wait())
        m = re.search(r"listening on (http|tcp)://127\.0\.0\.1:(\d+)", line)
        if m:
            ports[m.group(1)] = int(m.group(2))
    return log, ports


def events_in(port):
    body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port).read().decode()
    return float(re.search(r"^sluice_events_in_total (\S+)", body, re.M).group(1))


def parts_of(data, clients):
    cuts = [0] + [data.index(b"\n", i * len(data) // clients) + 1 for i in range(1, clients)]
    cuts.append(len(data))
    return [data[cuts[i]:cuts[i + 1]] for i in range(clients)]


def send_tcp(port, part):
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(part)


def sender_http(path):
    def send(port, part):
        conn = http.client.HTTPConnection("127.0.0.1", port)
        at = 0
        while at < len(part):
            end = part.index(b"\n", min(at + (4 << 20), len(part) - 1)) + 1
            conn.request("POST", path, body=part[at:end])
            reply = conn.getresponse()
            reply.read()
            if reply.status != 204:
                raise SystemExit("%s answered %d" % (path, reply.status))
            at = end
        conn.close()
    return send


def loopback_ceiling(data, clients):
    """Bytes/s of the same sends into sockets whose reader only reads."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    port = server.getsockname()[1]

    def drain():
        conn, _ = server.accept()
        while conn.recv(1 << 20):
            pass
        conn.close()

    readers = [threading.Thread(target=drain) for _ in range(clients)]
    for r in readers:
        r.start()
    began = time.time()
    senders = [threading.Thread(target=send_tcp, args=(port, p)) for p in parts_of(data, clients)]
    for s in senders:
        s.start()
    for s in senders + readers:
        s.join()
    server.close()
    return len(data) / (time.time() - began)


def measure(binary, data, events, send, clients, port_kind):
    job, ports = start(binary)
    began = time.time()
    threads = [threading.Thread(target=send, args=(ports[port_kind], p))
               for p in parts_of(data, clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    while events_in(ports["http"]) < events:
        time.sleep(0.005)
    took = time.time() - began
    job.terminate()
    job.wait()
    return took


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("sluice")
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--json")
    args = parser.parse_args()
    bodies = {"line protocol": line_protocol(args.events), "JSON lines": json_lines(args.events)}
    ways = [("tcp", "line protocol", send_tcp),
            ("tcp", "JSON lines", send_tcp),
            ("http", "line protocol", sender_http("/api/v2/write?bucket=b&precision=ms")),
            ("http", "JSON lines", sender_http("/ingest"))]
    records = []
    print("%-6s %-14s %7s %10s %8s %14s %8s" % ("via", "format", "clients", "M lines/s", "MB/s",
                                               "ceiling MB/s", "share"))
    for clients in (1, 2):
        for via, kind, send in ways:
            data = bodies[kind]
            took = measure(args.sluice, data, args.events, send, clients, via)
            ceiling = loopback_ceiling(data, clients)
            rate = len(data) / took
            records.append({"via": via, "format": kind, "clients": clients,
                            "events": args.events, "seconds": took,
                            "lines_per_second": args.events / took, "bytes_per_second": rate,
                            "loopback_bytes_per_second": ceiling})
            print("%-6s %-14s %7d %10.2f %8.0f %14.0f %7.1f%%" % (
                via, kind, clients, args.events / took / 1e6, rate / 1e6, ceiling / 1e6,
                100 * rate / ceiling))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(records, f, indent=1)


if __name__ == "__main__":
    main()
