"""Hostile input against a live coordinator (issue 10): a table of requests a
hostile caller could send over HTTP and gRPC, each one of a class that once
leaked a file, crashed the process or cost it unbounded CPU or memory.

After every request:
  - the coordinator process is alive;
  - the answer is a 4xx with a one-line JSON error (HTTP), or a non-zero
    sicctl exit with one line on stderr (gRPC);
  - the database is unchanged (a digest of every table's rows but the audit log's);
  - the request cost the coordinator under 1 s of CPU time, and its resident
    memory stays within 50 MB of where it was before the first request.

The cost bound is CPU seconds the coordinator spent (from /proc), not wall
time: on a loaded 2-core CI machine wall time says more about the neighbours
than about us, while CPU time is what a hostile caller could make us burn.

usage: hostile_input_test.py BUILD_DIR [unittest args]"""

import hashlib
import json
import os
import socket
import sqlite3
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import Cluster  # noqa: E402

BIN = None
MIB = 1 << 20
CPU_BOUND_S = 1.0
RSS_BOUND_MB = 50.0

TINY = {
    "name": "victim",
    "base": {
        "model": {"n_units": 16, "mlp_hidden": 32},
        "data": {"batch_size": 8, "seq_len": 10},
        "optim": {"lr": 1e-3, "steps": 20},
        "eval": {"enabled": False},
    },
    "seeds": 2,
}


def nested_brackets(total_bytes):
    """{"x": [[[[ ... ]]]]} of about total_bytes."""
    depth = (total_bytes - 10) // 2
    return '{"x":' + "[" * depth + "]" * depth + "}"


# Spec bodies of the classes that crashed or cost gigabytes on main.
HOSTILE_SPECS = {
    # Signed overflow in the int_uniform span, then a modulo by zero (SIGFPE).
    "int_uniform_full_range": json.dumps({"random": {"samples": 1, "params": {"run.seed": {
        "int_uniform": [-9223372036854775808, 9223372036854775807]}}}}),
    # Stack overflow copying a deep value.
    "nested_brackets_1mib": nested_brackets(MIB - 1024),
    "nested_brackets_small": nested_brackets(40000),
    # 20,000 arenas times 10,000 seeds: seconds of CPU and hundreds of MB.
    "arenas_times_seeds": json.dumps({"base": {"eval": {"arenas": ",".join(["2"] * 20000)}}, "seeds": 10000}),
    # The same idea at the full 1 MiB.
    "arenas_1mib": json.dumps({"base": {"eval": {"arenas": ",".join(["2"] * ((MIB - 200) // 2))}},
                               "seeds": 10000}),
    # Long strings where names go.
    "long_ablation_name": json.dumps({"ablations": {"a" * 500000: {"loss.lambda_cap": 0}}}),
    "long_key": json.dumps({"grid": {"loss." + "x" * 500000: [1, 2]}}),
    "many_grid_values": json.dumps({"grid": {"loss.lambda_cap": [i * 1e-6 for i in range(60000)]}}),
    "huge_number": '{"seeds": 1e999999}',
    "deep_base": '{"base": ' + "{\"a\":" * 5000 + "1" + "}" * 5000 + "}",
    "not_json": "\x00\xff{{{",
}


def raw_http(port, data, timeout=30):
    """Sends bytes, returns (status, headers dict, body bytes); status 0 if the
    server closed without an answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # it may answer (413) and close before reading it all
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            chunks.append(chunk)
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    if not lines or not lines[0].startswith(b"HTTP/1."):
        return 0, {}, raw
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        headers[k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")
    return status, headers, body


def request(method, target, body=b"", headers=None):
    h = {"Host": "127.0.0.1", "Connection": "close"}
    h.update(headers or {})
    if body or method == "POST":
        h["Content-Length"] = str(len(body))
    text = "%s %s HTTP/1.1\r\n" % (method, target)
    text += "".join("%s: %s\r\n" % kv for kv in h.items())
    return text.encode("latin-1") + b"\r\n" + body


def proc_cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


class HostileInputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Cluster(BIN)
        cls.pid = cls.c.coordinator.pid
        # Stored data to protect: one sweep waiting (no workers), one canceled.
        cls.c.submit(TINY)
        other = cls.c.submit(dict(TINY, name="canceled"))
        r = cls.c.sicctl("cancel", str(other))
        assert r.returncode == 0, r.stderr
        deadline = time.time() + 30
        while time.time() < deadline:  # the enqueue pump settles every trial
            if cls.c.query("SELECT COUNT(*) FROM trials WHERE status = 'pending'")[0][0] == 0:
                break
            time.sleep(0.1)
        cls.digest = cls.database_digest()
        cls.rss_before = proc_rss_mb(cls.pid)
        cls.requests, cls.worst_cpu, cls.worst_rss = 0, (0.0, ""), 0.0
        cls.spec_dir = os.path.join(cls.c.dir, "specs")
        os.makedirs(cls.spec_dir)

    @classmethod
    def tearDownClass(cls):
        cls.c.close()
        # The figures behind the bounds, for the record (docs/security.md).
        print("hostile_input: %d requests; most coordinator CPU for one: %.3f s (%s); "
              "most memory growth: %.1f MB" % (cls.requests, cls.worst_cpu[0], cls.worst_cpu[1], cls.worst_rss),
              file=sys.stderr)

    @classmethod
    def database_digest(cls):
        h = hashlib.sha256()
        with sqlite3.connect(cls.c.db_path) as db:
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
            for t in tables:
                if t == "audit":
                    continue  # it records every refused write: it grows by design (roles_test checks it)
                h.update(t.encode())
                for row in db.execute('SELECT * FROM "%s" ORDER BY 1' % t):
                    h.update(repr(row).encode())
        return h.hexdigest()

    # ---- the checks made after every request
    def after(self, what, cpu_before):
        self.assertIsNone(self.c.coordinator.poll(), "%s: the coordinator died:\n%s" % (what, self.c.log("coordinator")))
        spent = proc_cpu_seconds(self.pid) - cpu_before
        self.assertLess(spent, CPU_BOUND_S, "%s: cost %.2f s of coordinator CPU" % (what, spent))
        grown = proc_rss_mb(self.pid) - self.rss_before
        cls = type(self)
        cls.requests += 1
        cls.worst_cpu = max(cls.worst_cpu, (spent, what))
        cls.worst_rss = max(cls.worst_rss, grown)
        self.assertLess(grown, RSS_BOUND_MB, "%s: coordinator memory grew by %.0f MB" % (what, grown))
        self.assertEqual(self.database_digest(), self.digest, "%s: the database changed" % what)

    def http(self, what, data, allowed=range(400, 500)):
        cpu = proc_cpu_seconds(self.pid)
        status, headers, body = raw_http(self.c.http_port, data)
        self.assertIn(status, allowed, "%s: answered %d: %r" % (what, status, body[:300]))
        self.assertTrue(headers.get("content-type", "").startswith("application/json"),
                        "%s: content type %r" % (what, headers.get("content-type")))
        self.assertEqual(body.count(b"\n"), 1, "%s: not one line: %r" % (what, body[:300]))
        self.assertIsInstance(json.loads(body)["error"], str, what)
        self.after(what, cpu)
        return status, body

    def grpc(self, what, *args, token=None):
        cpu = proc_cpu_seconds(self.pid)
        r = self.c.sicctl(*args, token=token, timeout=60)
        self.assertNotEqual(r.returncode, 0, "%s: sicctl succeeded: %s" % (what, r.stdout[:300]))
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, "%s: %r" % (what, r.stderr[:500]))
        self.assertTrue(r.stderr.startswith("sicctl: "), what)
        self.assertNotIn("cannot reach the coordinator", r.stderr, what)
        self.after(what, cpu)
        return r

    def auth(self):
        return {"Authorization": "Bearer " + self.c.token, "Content-Type": "application/json"}

    # ---- files outside the dashboard
    def test_paths_outside_the_dashboard(self):
        for target in ["/%2Fproc/self/environ", "/%2fproc/self/environ", "/%2Fproc/self/cwd/sic.db",
                       "//etc/passwd", "///etc/passwd", "/js/../../../../etc/passwd", "/..%2f..%2fetc/passwd",
                       "/%2e%2e/%2e%2e/etc/passwd", "/js/%2e%2e/%2e%2e/sic.db", "/index.html%00.js",
                       "/%c0%af%c0%afetc/passwd", "/%c0%ae%c0%ae/etc/passwd", "/..\\..\\etc\\passwd",
                       "/node_modules/../../sic.db", "/node_modules/echarts/package.json", "/.git/config",
                       "/api/v1/trials/1/artifacts/..%2F..%2F..%2Fetc%2Fpasswd", "/sic.db", "/%00"]:
            status, body = self.http("GET " + target, request("GET", target), allowed=(400, 404))
            self.assertNotIn(b"root:", body)
            self.assertNotIn(b"SIC_TOKEN", body)

    # ---- specs that crashed or cost gigabytes, over REST and over gRPC
    def test_hostile_specs_over_rest(self):
        for name, text in HOSTILE_SPECS.items():
            body = text.encode("utf-8", "surrogateescape")
            for target in ("/api/v1/sweeps?dry_run=1", "/api/v1/sweeps"):
                self.http("POST %s %s" % (target, name), request("POST", target, body, self.auth()),
                          allowed=(400, 413))

    def test_hostile_specs_over_grpc(self):
        for name, text in HOSTILE_SPECS.items():
            path = os.path.join(self.spec_dir, name + ".json")
            with open(path, "wb") as f:
                f.write(text.encode("utf-8", "surrogateescape"))
            self.grpc("sicctl sweep --dry-run " + name, "sweep", path, "--dry-run")
            self.grpc("sicctl sweep " + name, "sweep", path)

    def test_bodies_over_the_limit(self):
        big = b'{"name": "' + b"a" * (MIB + 10) + b'"}'
        self.http("POST 1 MiB + body", request("POST", "/api/v1/sweeps?dry_run=1", big, self.auth()), allowed=(413,))
        # A length announced but never sent in full: answered or dropped, never a crash.
        cpu = proc_cpu_seconds(self.pid)
        with socket.create_connection(("127.0.0.1", self.c.http_port), timeout=5) as s:
            s.sendall(b"POST /api/v1/sweeps HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n{")
        self.after("truncated body", cpu)

    # ---- writes without the right credentials or content type
    def test_writes_need_token_and_json(self):
        spec = json.dumps(TINY).encode()
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        for target in ("/api/v1/sweeps", "/api/v1/sweeps/1/cancel"):
            self.http("POST %s without token" % target, request("POST", target, spec, {"Content-Type": "application/json"}),
                      allowed=(401,))
            self.http("POST %s wrong token" % target,
                      request("POST", target, spec, {"Content-Type": "application/json", "Authorization": "Bearer nope"}),
                      allowed=(401,))
            self.http("POST %s token prefix" % target,
                      request("POST", target, spec, {"Content-Type": "application/json",
                                                     "Authorization": "Bearer " + self.c.token[:-1]}),
                      allowed=(401,))
            self.http("POST %s as a form" % target,
                      request("POST", target, spec, dict(form, Authorization="Bearer " + self.c.token)),
                      allowed=(401, 415))
            self.http("POST %s as a form without token" % target, request("POST", target, spec, form),
                      allowed=(401, 415))
        self.grpc("sicctl sweep without token", "sweep", os.devnull, token="")
        self.grpc("sicctl cancel with a wrong token", "cancel", "1", token="wrong")
        self.grpc("sicctl retry with a wrong token", "retry", "1", "--failed", token="wrong")

    # ---- malformed HTTP and bad parameters
    def test_malformed_requests_and_parameters(self):
        cases = [
            ("garbage request line", b"\x00\x01\x02 / HTTP/1.1\r\n\r\n"),
            ("no version", b"GET /\r\n\r\n"),
            ("huge header", request("GET", "/api/v1/sweeps", headers={"X-A": "b" * 200000})),
            ("many headers", b"GET /api/v1/sweeps HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 20000 + b"\r\n"),
            ("huge query", request("GET", "/api/v1/sweeps/1/trials?sort=" + "a" * (MIB - 100))),
            ("many query params", request("GET", "/api/v1/sweeps/1/trials?" + "a=1&" * 30000)),
            ("bad chunked body", b"POST /api/v1/sweeps HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                                 b"Content-Type: application/json\r\n\r\nzz\r\n"),
            ("method FOO", request("FOO", "/api/v1/sweeps")),
            ("DELETE a sweep", request("DELETE", "/api/v1/sweeps/1", headers=self.auth())),
            ("PUT a trial", request("PUT", "/api/v1/trials/1", b"{}", self.auth())),
            ("sweep id overflow", request("GET", "/api/v1/sweeps/99999999999999999999999")),
            ("negative sweep id", request("GET", "/api/v1/sweeps/-1")),
            ("sweep id with NUL", request("GET", "/api/v1/sweeps/1%00")),
            ("limit not a number", request("GET", "/api/v1/sweeps/1/trials?limit=abc")),
            ("limit too big", request("GET", "/api/v1/sweeps/1/trials?limit=99999999999999999999")),
            ("offset negative", request("GET", "/api/v1/sweeps/1/trials?offset=-5")),
            ("sort injection", request("GET", "/api/v1/sweeps/1/trials?sort=loss.total%3B%20DROP%20TABLE%20trials")),
            ("metrics list too long", request("GET", "/api/v1/sweeps/1/summary?metrics=" + ",".join(
                "m%d" % i for i in range(5000)))),
            ("export format", request("GET", "/api/v1/sweeps/1/export?format=xml")),
            ("picture of no trial", request("GET", "/api/v1/trials/999999/ratemaps.png?arena=..%2F..")),
            ("cancel of no sweep", request("POST", "/api/v1/sweeps/999999/cancel", b"{}", self.auth())),
        ]
        for what, data in cases:
            self.http(what, data, allowed=(400, 404, 405, 413, 414, 415, 431))
        self.grpc("show of no sweep", "show", "999999")
        self.grpc("cancel of no sweep", "cancel", "999999")
        self.grpc("export of no sweep", "export", "999999", "--format", "csv")

    # ---- last: everything above left it serving
    def test_z_still_serving(self):
        status, _, body = raw_http(self.c.http_port, request("GET", "/api/v1/sweeps"))
        self.assertEqual(status, 200, body[:300])
        self.assertEqual(json.loads(body)["total"], 2)
        r = self.c.sicctl("list")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.database_digest(), self.digest)


if __name__ == "__main__":
    BIN = sys.argv.pop(1)
    unittest.main()
