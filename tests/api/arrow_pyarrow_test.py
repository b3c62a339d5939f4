#!/usr/bin/env python3
"""Arrow record batches from pyarrow into a Sluice job and its windows back into pyarrow,
through the Arrow C data interface (ctypes over a small shim library: no Arrow C++ in Sluice).

Random out-of-order events (a host column as plain utf8 in some batches and dictionary-encoded
in others, float64 and int32 columns, timestamp[ms] event times, some rows with nulls) go in
as pyarrow RecordBatches, sliced at random offsets; the windows come back as pyarrow
RecordBatches and must equal a brute-force count, sum, min and max per host and 10 s window,
with the nulls' rows counted as malformed; one and two workers. A batch of the wrong type is
refused with the column named, and the job goes on.

    arrow_pyarrow_test.py SHIM_LIBRARY WORK_DIR

pyarrow comes from the running Python or from PyPI into WORK_DIR/arrow-venv; where neither
works the test exits 77 (skipped).
"""
import ctypes
import os
import random
import subprocess
import sys

SKIP = 77
T0 = 1764694800000

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import pypi_venv  # noqa: E402


def ensure_pyarrow(work):
    """Re-runs this script under a Python that has pyarrow, if this one has not."""
    try:
        import pyarrow  # noqa: F401
        return
    except ImportError:
        pass
    try:
        python = pypi_venv.python_with(work, "pyarrow", timeout=900)
    except pypi_venv.Unavailable as e:
        print("SKIP: pyarrow is not installable here (%s)" % e)
        sys.exit(SKIP)
    sys.exit(subprocess.run([python] + sys.argv).returncode)


def fail(message):
    print("FAIL: " + message, flush=True)
    sys.exit(1)


class Shim:
    def __init__(self, path):
        lib = ctypes.CDLL(path)
        p, s, i = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
        lib.sluice_test_job_start.restype = p
        lib.sluice_test_job_start.argtypes = [s, s, s, s, s, s, i, s, i]
        lib.sluice_test_job_push.argtypes = [p, p, p, s, i]
        lib.sluice_test_job_finish.argtypes = [p, s, i]
        lib.sluice_test_job_malformed.restype = ctypes.c_longlong
        lib.sluice_test_job_malformed.argtypes = [p]
        lib.sluice_test_job_take_result.argtypes = [p, i, p, p]
        lib.sluice_test_job_free.argtypes = [p]
        self.lib = lib


def run_job(shim, batches, workers):
    import pyarrow as pa
    lib = shim.lib
    error = ctypes.create_string_buffer(4096)
    job = lib.sluice_test_job_start(
        b"ts:timestamp[ms],host:string,usage:f64,status:i32", b"ts", b"host", b"tumbling:10s",
        b"count,sum(usage),min(usage),max(usage)", b"120s", workers, error, len(error))
    if not job:
        fail("start: " + error.value.decode())
    # The two structs of the C data interface: 72 and 80 bytes, owned here.
    c_schema = ctypes.create_string_buffer(72)
    c_array = ctypes.create_string_buffer(80)
    for batch in batches:
        batch._export_to_c(ctypes.addressof(c_array), ctypes.addressof(c_schema))
        if lib.sluice_test_job_push(job, ctypes.addressof(c_array), ctypes.addressof(c_schema),
                                    error, len(error)) != 0:
            fail("push: " + error.value.decode())
    # A batch of the wrong type: refused, naming the column; the job goes on.
    bad = pa.RecordBatch.from_pydict({"ts": pa.array([T0], pa.timestamp("ms")),
                                      "host": pa.array(["x"]), "usage": pa.array(["high"]),
                                      "status": pa.array([1], pa.int32())})
    bad._export_to_c(ctypes.addressof(c_array), ctypes.addressof(c_schema))
    if lib.sluice_test_job_push(job, ctypes.addressof(c_array), ctypes.addressof(c_schema),
                                error, len(error)) == 0:
        fail("a string usage column was taken")
    if "'usage'" not in error.value.decode():
        fail("the refusal does not name the column: " + error.value.decode())
    # The refused array is still ours: release it through pyarrow.
    bad_schema = ctypes.create_string_buffer(72)
    bad.schema._export_to_c(ctypes.addressof(bad_schema))
    pa.RecordBatch._import_from_c(ctypes.addressof(c_array), ctypes.addressof(bad_schema))
    count = lib.sluice_test_job_finish(job, error, len(error))
    if count < 0:
        fail("finish: " + error.value.decode())
    malformed = lib.sluice_test_job_malformed(job)
    windows = {}
    for i in range(count):
        lib.sluice_test_job_take_result(job, i, ctypes.addressof(c_array),
                                        ctypes.addressof(c_schema))
        out = pa.RecordBatch._import_from_c(ctypes.addressof(c_array),
                                            ctypes.addressof(c_schema))
        names = out.schema.names
        if names[:3] != ["window_start", "window_end", "host"]:
            fail("result columns %s" % names)
        if str(out.schema.field("window_start").type) != "timestamp[ms, tz=UTC]":
            fail("window_start is %s" % out.schema.field("window_start").type)
        rows = out.to_pydict()
        for r in range(out.num_rows):
            start = rows["window_start"][r]
            key = (int(start.timestamp() * 1000), rows["host"][r])
            if key in windows:
                fail("window %s twice" % (key,))
            windows[key] = [rows["count"][r], rows["sum(usage)"][r], rows["min(usage)"][r],
                            rows["max(usage)"][r]]
    lib.sluice_test_job_free(job)
    return windows, malformed


def main():
    shim_path, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    ensure_pyarrow(work)
    import pyarrow as pa
    rng = random.Random(int(os.environ.get("SLUICE_TEST_SEED", "20261203")))
    hosts = ["web-%d" % i for i in range(12)] + ["é ü", "a,b"]
    events = [(T0 + rng.randrange(60000), rng.choice(hosts), rng.randrange(0, 400) / 4,
               rng.choice([200, 404, 500])) for _ in range(20000)]
    rng.shuffle(events)
    batches, reference, nulls = [], {}, 0
    at = 0
    while at < len(events):
        n = rng.choice([1, 7, 500, 3000])
        part = events[at:at + n + 5]
        at += n + 5
        ts = [e[0] for e in part]
        host = [e[1] for e in part]
        usage = [e[2] for e in part]
        status = [e[3] for e in part]
        for j in range(len(part)):
            if rng.random() < 0.02:
                usage[j] = None
            elif rng.random() < 0.01:
                host[j] = None
        host_array = pa.array(host)
        if rng.random() < 0.5:
            host_array = host_array.dictionary_encode()
        batch = pa.RecordBatch.from_arrays(
            [pa.array(ts, pa.timestamp("ms")), host_array, pa.array(usage, pa.float64()),
             pa.array(status, pa.int32()), pa.array([str(s) for s in status])],
            names=["ts", "host", "usage", "status", "ignored"])
        # Slices share the parent's buffers at an offset.
        offset = rng.randrange(0, 5)
        batch = batch.slice(offset, len(part) - offset)
        for j in range(offset, len(part)):
            if usage[j] is None or host[j] is None:
                nulls += 1
                continue
            key = (ts[j] - ts[j] % 10000, host[j])
            w = reference.setdefault(key, [0, 0.0, usage[j], usage[j]])
            w[0] += 1
            w[1] += usage[j]
            w[2] = min(w[2], usage[j])
            w[3] = max(w[3], usage[j])
        batches.append(batch)
    shim = Shim(shim_path)
    for workers in (1, 2):
        windows, malformed = run_job(shim, batches, workers)
        if malformed != nulls:
            fail("%d workers: %d rows counted malformed, %d had nulls" % (workers, malformed,
                                                                         nulls))
        if set(windows) != set(reference):
            fail("%d workers: %d windows, expected %d" % (workers, len(windows), len(reference)))
        for key, want in reference.items():
            have = windows[key]
            if have[0] != want[0] or abs(have[1] - want[1]) > 1e-9 * max(1, abs(want[1])) or \
                    have[2:] != want[2:]:
                fail("%d workers: window %s is %s, expected %s" % (workers, key, have, want))
    print("pyarrow %s: %d batches, %d events (%d with nulls), %d windows, 1 and 2 workers; ok"
          % (pa.__version__, len(batches), len(events), nulls, len(reference)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
