"""The coordinator's HTTP and gRPC listeners against a hostile caller, over
real sockets to a real sic-coordinator (and redis-server; no workers):

  StaticFilesTest  only the dashboard's manifest is served: encoded slashes,
                   doubled slashes, dot segments, absolute paths, NUL,
                   overlong UTF-8, backslashes, dot files and a symbolic link
                   to a file outside web/ all get a JSON 404
  AuthTest         the start-up refusal of an exposed listener without a token,
                   --insecure, --auth-reads (REST, /metrics, gRPC), JSON-only
                   writes (415), the token on a dry run
  LimitsTest       the connection cap, header size, the slow-request timeout,
                   accept() out of file descriptors, one Redis connection for
                   /metrics and /readyz

usage: http_security_test.py BUILD_DIR [unittest args]"""

import http.client
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import Cluster, free_port  # noqa: E402

BIN = None
SOURCE_WEB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "web")
SPEC = {"name": "sec", "base": {"optim": {"steps": 10}}, "seeds": 2}


def request(port, method, target, headers=None, body=None):
    """(status, headers dict, body bytes); the target is sent exactly as given."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", "127.0.0.1")
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def raw_exchange(port, data, timeout=20):
    """Sends raw bytes; returns what comes back until the server closes (or timeout)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk


class Base(unittest.TestCase):
    def json_error(self, status, headers, body, code):
        self.assertEqual(status, code, body[:300])
        self.assertTrue(headers.get("content-type", "").startswith("application/json"), headers)
        message = json.loads(body)["error"]
        self.assertNotIn("\n", message)
        return message


class StaticFilesTest(Base):
    @classmethod
    def setUpClass(cls):
        # A copy of web/ with a symbolic link and a dot file planted in it.
        cls.tmp = tempfile.mkdtemp(prefix="sic-web-")
        cls.web = os.path.join(cls.tmp, "web")
        os.makedirs(os.path.join(cls.web, "js"))
        for name in ("index.html", "style.css"):
            shutil.copy(os.path.join(SOURCE_WEB, name), cls.web)
        for name in os.listdir(os.path.join(SOURCE_WEB, "js")):
            shutil.copy(os.path.join(SOURCE_WEB, "js", name), os.path.join(cls.web, "js"))
        echarts = os.path.join(SOURCE_WEB, "node_modules", "echarts", "dist", "echarts.esm.min.js")
        if os.path.exists(echarts):
            os.makedirs(os.path.join(cls.web, "node_modules", "echarts", "dist"))
            shutil.copy(echarts, os.path.join(cls.web, "node_modules", "echarts", "dist"))
        cls.secret = os.path.join(cls.tmp, "outside.js")
        with open(cls.secret, "w") as f:
            f.write("SECRET-OUTSIDE-WEB\n")
        os.symlink(cls.secret, os.path.join(cls.web, "js", "leak.js"))
        os.symlink(cls.secret, os.path.join(cls.web, "leak.html"))
        with open(os.path.join(cls.web, ".env"), "w") as f:
            f.write("SECRET-DOT-FILE\n")
        cls.c = Cluster(BIN, coordinator_args=["--web-dir", cls.web])

    @classmethod
    def tearDownClass(cls):
        cls.c.close()
        shutil.rmtree(cls.tmp)

    def test_the_dashboard_is_served(self):
        status, headers, body = request(self.c.http_port, "GET", "/")
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/html"))
        self.assertEqual(headers["cache-control"], "no-cache")
        with open(os.path.join(SOURCE_WEB, "index.html"), "rb") as f:
            self.assertEqual(body, f.read())
        status, headers, body = request(self.c.http_port, "HEAD", "/")
        self.assertEqual((status, body), (200, b""))
        status, headers, _ = request(self.c.http_port, "GET", "/js/app.js")
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/javascript"))
        if os.path.exists(os.path.join(self.web, "node_modules")):
            status, headers, _ = request(self.c.http_port, "GET", "/node_modules/echarts/dist/echarts.esm.min.js")
            self.assertEqual(status, 200)
            self.assertEqual(headers["cache-control"], "public, max-age=86400")

    def test_traversal_and_odd_paths_are_404(self):
        for target in (
                "/%2Fproc/self/environ", "/%2fproc/self/environ", "/%2Fproc/self/cwd/sic.db",
                "//etc/passwd", "//proc/self/environ", "/%2F%2Fetc/passwd",
                "/js/../index.html", "/js/%2e%2e/index.html", "/%2e%2e/%2e%2e/etc/passwd", "/../../etc/passwd",
                "/index.html%00", "/index.html%00.png", "/js/app.js%00",
                "/%c0%af", "/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd", "/..%c0%af..%c0%afetc/passwd",
                "/js\\..\\index.html", "/js%5c..%5cindex.html", "/..%5c..%5cetc/passwd",
                "/js/leak.js", "/leak.html", "/.env", "/%2eenv",
                "/" + self.secret, "/" + self.c.db_path, "/api/../index.html"):
            status, headers, body = request(self.c.http_port, "GET", target)
            with self.subTest(target=target):
                self.json_error(status, headers, body, 404)
                self.assertNotIn(b"root:", body)
                self.assertNotIn(b"SECRET", body)
                self.assertNotIn(self.c.token.encode(), body)

    def test_bytes_that_are_not_utf8_get_400(self):
        # They were a 500 (the JSON library threw on them).
        for target in ("/api/v1/sweeps?limit=%c0%af", "/api/v1/sweeps/1/summary?metrics=los%89.total",
                       "/api/v1/sweeps/1/trials?variant=%ff", "/api/v1/trials/1/artifacts/%c0%af"):
            with self.subTest(target=target):
                self.json_error(*request(self.c.http_port, "GET", target), 400)

    def test_only_get_and_head_on_files(self):
        status, headers, body = request(self.c.http_port, "POST", "/index.html", {"Content-Type": "application/json"}, b"")
        self.json_error(status, headers, body, 405)
        self.assertEqual(headers["allow"], "GET, HEAD")


class AuthTest(Base):
    def coordinator(self, *args, token=""):
        """Runs sic-coordinator with `args` until it exits or 10 s pass: (returncode or None, stderr)."""
        tmp = tempfile.mkdtemp(prefix="sic-auth-")
        self.addCleanup(shutil.rmtree, tmp)
        argv = [os.path.join(BIN, "coordinator", "sic-coordinator"), "--db", os.path.join(tmp, "sic.db"),
                "--redis", "127.0.0.1:%d" % free_port(), *args]
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                             env=dict(os.environ, SIC_TOKEN=token), cwd=tmp)
        try:
            _, err = p.communicate(timeout=10)
            return p.returncode, err
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
            return None, err

    def test_an_exposed_listener_without_a_token_is_refused(self):
        for flag, value in (("--http", "0.0.0.0:%d" % free_port()), ("--listen", "0.0.0.0:%d" % free_port()),
                            ("--http", "[::]:%d" % free_port())):
            other = ["--listen", "127.0.0.1:%d" % free_port()] if flag == "--http" else \
                    ["--http", "127.0.0.1:%d" % free_port()]
            with self.subTest(flag=flag, value=value):
                code, err = self.coordinator(flag, value, *other)
                self.assertEqual(code, 2, err)
                lines = err.strip().splitlines()
                self.assertEqual(len(lines), 1, err)
                self.assertIn(flag + " " + value, lines[0])
                self.assertIn("--token", lines[0])
                self.assertIn("--insecure", lines[0])

    def test_auth_reads_without_a_token_is_refused(self):
        code, err = self.coordinator("--auth-reads", "--http", "127.0.0.1:%d" % free_port(),
                                     "--listen", "127.0.0.1:%d" % free_port())
        self.assertEqual(code, 2, err)
        self.assertIn("--auth-reads needs a token", err)

    def test_insecure_starts_and_says_so(self):
        c = Cluster(BIN, token="", http_host="0.0.0.0", coordinator_args=["--insecure"])
        self.addCleanup(c.close)
        status, _, body = request(c.http_port, "GET", "/readyz")
        self.assertEqual(status, 200)
        self.assertIn("--insecure", json.loads(body)["warning"])
        self.assertIn("warning", c.log("coordinator"))

    def test_a_loopback_coordinator_needs_no_token_and_no_warning(self):
        c = Cluster(BIN, token="")
        self.addCleanup(c.close)
        status, _, body = request(c.http_port, "GET", "/readyz")
        self.assertEqual(status, 200)
        self.assertNotIn("warning", json.loads(body))

    def test_auth_reads(self):
        c = Cluster(BIN, coordinator_args=["--auth-reads"])
        self.addCleanup(c.close)
        sweep = c.submit(SPEC)
        bearer = {"Authorization": "Bearer " + c.token}
        reads = ["/api/v1/sweeps", "/api/v1/sweeps/%d" % sweep, "/api/v1/sweeps/%d/trials" % sweep,
                 "/api/v1/sweeps/%d/summary" % sweep, "/api/v1/sweeps/%d/export" % sweep, "/api/v1/workers",
                 "/api/v1/trials/1", "/api/v1/trials/1/curve", "/metrics"]
        for target in reads:
            with self.subTest(target=target):
                for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": c.token}):
                    status, h, body = request(c.http_port, "GET", target, headers)
                    self.assertIn("token", self.json_error(status, h, body, 401))
                    self.assertEqual(h["www-authenticate"], "Bearer")
                status, _, body = request(c.http_port, "GET", target, bearer)
                self.assertIn(status, (200, 404), body)  # 404: a trial with no curve yet is still an answer
        # Open: liveness, readiness (probes cannot send a Secret), the page itself.
        for target in ("/healthz", "/readyz"):
            self.assertEqual(request(c.http_port, "GET", target)[0], 200, target)
        # gRPC reads too; sicctl sends its token.
        for args in (["list"], ["show", str(sweep)], ["workers"], ["export", str(sweep)]):
            r = c.sicctl(*args, token="wrong")
            self.assertEqual(r.returncode, 1, args)
            self.assertEqual(r.stderr.strip(), "sicctl: missing or wrong token (set SIC_TOKEN or --token)")
            self.assertEqual(c.sicctl(*args).returncode, 0, args)

    def test_reads_are_open_without_auth_reads(self):
        c = Cluster(BIN)
        self.addCleanup(c.close)
        for target in ("/api/v1/sweeps", "/metrics"):
            self.assertEqual(request(c.http_port, "GET", target)[0], 200, target)
        self.assertEqual(c.sicctl("list", token="").returncode, 0)

    def test_writes_take_json_and_the_token(self):
        c = Cluster(BIN)
        self.addCleanup(c.close)
        spec = json.dumps(SPEC).encode()
        bearer = "Bearer " + c.token
        # What an HTML form can send, or no type at all: 415, nothing stored.
        for ctype in ("application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain", None,
                      "application/jsonp", "application/json-seq", "a pplication/json", "application/ json"):
            headers = {"Authorization": bearer}
            if ctype:
                headers["Content-Type"] = ctype
            for target in ("/api/v1/sweeps", "/api/v1/sweeps?dry_run=1", "/api/v1/sweeps/1/cancel"):
                with self.subTest(ctype=ctype, target=target):
                    status, h, body = request(c.http_port, "POST", target, headers, spec)
                    self.assertIn("application/json", self.json_error(status, h, body, 415))
        self.assertEqual(c.query("SELECT COUNT(*) FROM sweeps")[0][0], 0)
        # Without the token (a form post from another site): 401, dry run too.
        for target in ("/api/v1/sweeps", "/api/v1/sweeps?dry_run=1", "/api/v1/sweeps/1/cancel"):
            status, h, body = request(c.http_port, "POST", target, {"Content-Type": "text/plain"}, spec)
            self.json_error(status, h, body, 401)
            status, h, body = request(c.http_port, "POST", target, {"Content-Type": "application/json"}, spec)
            self.json_error(status, h, body, 401)
        # JSON with parameters, and the token: accepted.
        status, _, body = request(c.http_port, "POST", "/api/v1/sweeps?dry_run=1",
                                  {"Authorization": bearer, "Content-Type": "Application/JSON; charset=utf-8"}, spec)
        self.assertEqual(status, 200, body)
        status, _, body = request(c.http_port, "POST", "/api/v1/sweeps",
                                  {"Authorization": bearer, "Content-Type": "application/json"}, spec)
        self.assertEqual(status, 201, body)
        self.assertEqual(c.query("SELECT COUNT(*) FROM sweeps")[0][0], 1)

    def test_without_a_token_writes_still_take_only_json(self):
        # A loopback coordinator without a token: a page in the user's browser
        # must still not be able to submit with a form.
        c = Cluster(BIN, token="")
        self.addCleanup(c.close)
        spec = json.dumps(SPEC).encode()
        status, h, body = request(c.http_port, "POST", "/api/v1/sweeps", {"Content-Type": "text/plain"}, spec)
        self.json_error(status, h, body, 415)
        status, _, body = request(c.http_port, "POST", "/api/v1/sweeps", {"Content-Type": "application/json"}, spec)
        self.assertEqual(status, 201, body)


class LimitsTest(Base):
    def test_connections_over_the_cap_get_503_and_the_server_recovers(self):
        c = Cluster(BIN, coordinator_args=["--http-max-connections", "4"])
        self.addCleanup(c.close)
        held = [socket.create_connection(("127.0.0.1", c.http_port), timeout=20) for _ in range(4)]
        try:
            answer = raw_exchange(c.http_port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertTrue(answer.startswith(b"HTTP/1.1 503"), answer[:100])
            self.assertIn(b"too many connections", answer)
        finally:
            for s in held:
                s.close()
        # Once they are gone (the server sees them close), it serves again.
        deadline = time.time() + 20
        while time.time() < deadline:
            answer = raw_exchange(c.http_port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            if answer.startswith(b"HTTP/1.1 200"):
                break
            time.sleep(0.1)
        self.assertTrue(answer.startswith(b"HTTP/1.1 200"), answer[:100])

    def test_headers_over_16_kib_get_431(self):
        c = Cluster(BIN)
        self.addCleanup(c.close)
        status, h, body = request(c.http_port, "GET", "/healthz", {"X-Big": "a" * (20 << 10)})
        self.json_error(status, h, body, 431)
        # Under the limit is fine.
        self.assertEqual(request(c.http_port, "GET", "/healthz", {"X-Big": "a" * (10 << 10)})[0], 200)

    def test_a_slow_request_is_cut_off(self):
        c = Cluster(BIN, coordinator_args=["--http-request-timeout-s", "1"])
        self.addCleanup(c.close)
        # Begun and never finished: closed after the request timeout, long
        # before the 60 s a keep-alive connection may idle (recv would time out).
        self.assertEqual(raw_exchange(c.http_port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n", timeout=20), b"")
        # A whole request on a fresh connection is answered.
        self.assertTrue(raw_exchange(c.http_port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                        .startswith(b"HTTP/1.1 200"))

    def test_accept_out_of_descriptors_backs_off_and_recovers(self):
        c = Cluster(BIN, coordinator_args=["--http-max-connections", "1000"])
        self.addCleanup(c.close)
        pid = c.coordinator.pid
        in_use = len(os.listdir("/proc/%d/fd" % pid))
        soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (in_use + 8, hard))
        held = []
        try:
            for _ in range(40):
                held.append(socket.create_connection(("127.0.0.1", c.http_port), timeout=20))
            time.sleep(1)

            def cpu_seconds():
                with open("/proc/%d/stat" % pid) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

            before = cpu_seconds()
            time.sleep(2)
            used = cpu_seconds() - before
            # A loop retrying accept() at once burns a whole core (about 2 s here).
            self.assertLess(used, 0.5, "coordinator used %.2f s of CPU in 2 s while out of descriptors" % used)
        finally:
            for s in held:
                s.close()
            resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
        deadline = time.time() + 20
        status = None
        while time.time() < deadline and status != 200:
            try:
                status = request(c.http_port, "GET", "/healthz")[0]
            except OSError:
                time.sleep(0.1)
        self.assertEqual(status, 200)
        log = c.log("coordinator")
        # Logged once per episode, not once per retry (30 retries in these 3 s). A descriptor
        # the coordinator frees meanwhile (seen on a loaded machine) lets one accept through,
        # which ends an episode and may start another: a few, each ended.
        episodes = log.count("cannot accept connections")
        self.assertGreaterEqual(episodes, 1, log)
        self.assertLessEqual(episodes, 3, log)
        self.assertEqual(log.count("accepting connections again"), episodes, log)

    def test_metrics_and_readyz_share_one_redis_connection(self):
        c = Cluster(BIN)
        self.addCleanup(c.close)

        def connections_received():
            info = raw_redis(c, b"INFO stats")
            for line in info.splitlines():
                if line.startswith(b"total_connections_received:"):
                    return int(line.split(b":")[1])
            raise AssertionError(info)

        request(c.http_port, "GET", "/metrics")  # the first opens it
        before = connections_received()
        for _ in range(20):
            self.assertEqual(request(c.http_port, "GET", "/metrics")[0], 200)
            self.assertEqual(request(c.http_port, "GET", "/readyz")[0], 200)
            self.assertEqual(request(c.http_port, "GET", "/api/v1/workers")[0], 200)
        # Our own two INFO connections, and slack for the pumps reconnecting.
        self.assertLessEqual(connections_received() - before, 3)


def raw_redis(c, command):
    """The bulk-string reply of one Redis command, after AUTH, on a connection of its own."""
    with socket.create_connection(("127.0.0.1", c.redis_port), timeout=10) as s:
        s.sendall(b"AUTH " + c.redis_password.encode() + b"\r\n" + command + b"\r\n")
        f = s.makefile("rb")
        assert f.readline() == b"+OK\r\n"
        header = f.readline()
        assert header.startswith(b"$"), header
        return f.read(int(header[1:]))


if __name__ == "__main__":
    BIN = os.path.abspath(sys.argv.pop(1))
    unittest.main()
