"""A throwaway sweep-service cluster for end-to-end tests and the demo: a real
redis-server (password, AOF) on a free loopback port in a temp dir, a
sic-coordinator (gRPC and HTTP on free ports) and any number of sic-worker
processes, and a sicctl runner.
Everything it starts is stopped by close() (and by the context manager)."""

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self, bin_dir, token="tok3n", redis_password="pa55", lease_ms=3000,
                 max_deliveries=3, max_trials=None, worker_timeout_s=30, aof=True, keep=False,
                 coordinator_args=(), db_path=None, http_host="127.0.0.1"):
        self.bin = os.path.abspath(bin_dir)
        self.dir = tempfile.mkdtemp(prefix="sic-cluster-")
        self.token = token
        self.redis_password = redis_password
        self.lease_ms = lease_ms
        self.max_deliveries = max_deliveries
        self.max_trials = max_trials
        self.worker_timeout_s = worker_timeout_s
        self.aof = aof
        self.keep = keep
        self.coordinator_args = list(coordinator_args)
        self._db_path = db_path
        self.http_host = http_host
        self.redis = None
        self.coordinator = None
        self.workers = {}
        # A free port can be taken by a test running beside this one before
        # the server binds it: try again with another.
        for attempt in range(3):
            self.redis_port = free_port()
            try:
                self.start_redis()
                break
            except RuntimeError:
                if attempt == 2:
                    raise
        for attempt in range(3):
            self.grpc_port = free_port()
            self.http_port = free_port()
            try:
                self.start_coordinator()
                break
            except RuntimeError:
                self.kill_coordinator()
                if attempt == 2:
                    raise

    # ---- processes
    def _spawn(self, name, argv, env=None):
        e = dict(os.environ)
        e.update(env or {})
        with open(os.path.join(self.dir, name + ".log"), "ab") as log:
            return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=e, cwd=self.dir)

    def start_redis(self):
        self.redis = self._spawn("redis", [
            "redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--dir", self.dir,
            "--save", "", "--appendonly", "yes" if self.aof else "no", "--appendfsync", "always", "--requirepass", self.redis_password])
        deadline = time.time() + 10
        while time.time() < deadline and self.redis.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", self.redis_port), timeout=0.5) as s:
                    s.sendall(b"AUTH %s\r\nPING\r\n" % self.redis_password.encode())
                    if b"PONG" in s.recv(100):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill_redis(self):
        self.redis.send_signal(signal.SIGKILL)
        self.redis.wait()

    def wipe_redis_data(self):
        """Deletes what a killed Redis would restart from (AOF and snapshot)."""
        subprocess.run(["rm", "-rf", os.path.join(self.dir, "appendonlydir"), os.path.join(self.dir, "dump.rdb")])

    def start_coordinator(self):
        argv = [os.path.join(self.bin, "coordinator", "sic-coordinator"), "--listen", self.address,
                "--db", self.db_path, "--redis", "127.0.0.1:%d" % self.redis_port,
                "--redis-password", self.redis_password, "--http", "%s:%d" % (self.http_host, self.http_port)]
        if self.max_trials:
            argv += ["--max-trials", str(self.max_trials)]
        argv += ["--worker-timeout-s", str(self.worker_timeout_s)] + self.coordinator_args
        self.coordinator = self._spawn("coordinator", argv, {"SIC_TOKEN": self.token})
        deadline = time.time() + 10
        while time.time() < deadline and self.coordinator.poll() is None:
            if self.sicctl("list").returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError("sic-coordinator did not start: " + self.log("coordinator"))

    def kill_coordinator(self):
        if self.coordinator.poll() is None:
            self.coordinator.send_signal(signal.SIGKILL)
        self.coordinator.wait()

    def start_worker(self, name, *extra, checkpoint_dir=None):
        argv = [os.path.join(self.bin, "worker", "sic-worker"), "--name", name,
                "--redis", "127.0.0.1:%d" % self.redis_port, "--redis-password", self.redis_password,
                "--checkpoint-dir", checkpoint_dir or os.path.join(self.dir, "checkpoints"),
                "--lease-ms", str(self.lease_ms),
                "--progress-ms", "200", "--max-deliveries", str(self.max_deliveries),
                "--threads-per-trial", "1", *extra]
        self.workers[name] = self._spawn("worker-" + name, argv)
        return self.workers[name]

    def kill_worker(self, name, sig=signal.SIGKILL):
        p = self.workers.pop(name)
        p.send_signal(sig)
        return p.wait(timeout=60)

    def close(self):
        procs = list(self.workers.values()) + [self.coordinator, self.redis]
        for p in procs:
            if p and p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            if p:
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        if not self.keep:
            subprocess.run(["rm", "-rf", self.dir])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- clients
    @property
    def address(self):
        return "127.0.0.1:%d" % self.grpc_port

    @property
    def http_url(self):
        return "http://127.0.0.1:%d" % self.http_port

    @property
    def db_path(self):
        return self._db_path or os.path.join(self.dir, "sic.db")

    def redis_command(self, *args):
        """One command to this cluster's Redis (RESP over a socket); the reply as
        Python values (bytes, int, list), or RuntimeError for an error reply."""
        def encode(a):
            a = a if isinstance(a, bytes) else str(a).encode()
            return b"$%d\r\n%s\r\n" % (len(a), a)
        with socket.create_connection(("127.0.0.1", self.redis_port), timeout=10) as s:
            f = s.makefile("rb")
            for argv in (["AUTH", self.redis_password], list(args)):
                s.sendall(b"*%d\r\n" % len(argv) + b"".join(encode(a) for a in argv))
                reply = self._read_reply(f)
            return reply

    def _read_reply(self, f):
        line = f.readline().rstrip(b"\r\n")
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else f.read(n + 2)[:-2]
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read_reply(f) for _ in range(n)]
        raise RuntimeError("redis: unexpected reply %r" % line)

    def sicctl(self, *args, token=None, timeout=120):
        env = dict(os.environ, SIC_COORDINATOR=self.address, SIC_TOKEN=self.token if token is None else token)
        return subprocess.run([os.path.join(self.bin, "sicctl", "sicctl"), *args], env=env,
                              capture_output=True, text=True, timeout=timeout)

    def wait_workers(self, names, timeout=60):
        """Waits until every named worker is in the registry (it has connected
        and can claim), so that a test of work sharing does not race their start."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            r = self.sicctl("--format", "json", "workers")
            if r.returncode == 0 and set(names) <= {w["worker"] for w in json.loads(r.stdout or "[]")}:
                return
            time.sleep(0.1)
        raise TimeoutError("workers %s never registered: %s" % (sorted(names), r.stdout or r.stderr))

    def submit(self, spec):
        path = os.path.join(self.dir, "spec-%d.json" % time.time_ns())
        with open(path, "w") as f:
            f.write(spec if isinstance(spec, str) else json.dumps(spec))
        r = self.sicctl("sweep", path)
        if r.returncode != 0:
            raise RuntimeError("submit failed: " + r.stderr)
        return int(r.stdout.split()[1].rstrip(":"))

    def trials(self, sweep_id):
        r = self.sicctl("--format", "json", "show", str(sweep_id))
        return json.loads(r.stdout) if r.returncode == 0 else None

    def wait_done(self, sweep_id, timeout=180):
        deadline = time.time() + timeout
        while time.time() < deadline:
            trials = self.trials(sweep_id)
            if trials and all(t["status"] in ("succeeded", "failed", "stopped", "canceled") for t in trials):
                return trials
            time.sleep(0.3)
        raise TimeoutError("sweep %d not done: %s" % (sweep_id, self.trials(sweep_id)))

    def query(self, sql, *params):
        with sqlite3.connect(self.db_path) as db:
            return db.execute(sql, params).fetchall()

    def log(self, name, tail=4000):
        """The last `tail` characters of a process's log (None: all of it); "" when unreadable."""
        try:
            with open(os.path.join(self.dir, name + ".log"), errors="replace") as f:
                text = f.read()
        except OSError:
            return ""
        return text if tail is None else text[-tail:]


class ClusterTestCase(unittest.TestCase):
    """A test case that starts clusters from the build folder in BIN (set it
    before unittest.main), closes each after its test, and prints every
    process's log when the test failed."""
    BIN = None

    def cluster(self, **kw):
        c = Cluster(self.BIN, **kw)
        self.addCleanup(c.close)
        self.addCleanup(lambda: self.dump_logs(c))
        return c

    def wait_for(self, what, fn, timeout=180, every=0.1):
        """fn()'s first true value, polled every `every` s; fails the test after `timeout` s."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = fn()
            if value:
                return value
            time.sleep(every)
        self.fail("timed out waiting for " + what)

    def dump_logs(self, c):
        # Cleanups run with the outcome's success reset (Python 3.11), so ask
        # the result whether this test has failed.
        result = getattr(getattr(self, "_outcome", None), "result", None)
        if result is None or not any(t is self for t, _ in result.failures + result.errors):
            return
        names = sorted(f[:-4] for f in os.listdir(c.dir) if f.endswith(".log"))
        for name in names:
            sys.stderr.write("---- %s log\n%s\n" % (name, c.log(name)))
        self.dump_unsettled(c, names)

    def dump_unsettled(self, c, names, most=8, lines=30):
        """For a failed test: the trials still in flight, their attempts, and
        the lines of the logs `names` that name them (the tails above rarely
        reach back to where a stuck trial went wrong)."""
        try:
            stuck = c.query("SELECT id, status, worker, round, ticket FROM trials "
                            "WHERE status IN ('pending', 'queued', 'running') ORDER BY id LIMIT ?", most)
            for trial_id, status, worker, rnd, ticket in stuck:
                attempts = c.query("SELECT round, ticket, delivery, worker, started_at, finished_at, outcome "
                                   "FROM attempts WHERE trial_id = ? ORDER BY rowid", trial_id)
                sys.stderr.write("---- trial %d: %s on %r, round %d, ticket %d; attempts %s\n"
                                 % (trial_id, status, worker, rnd, ticket, attempts))
        except sqlite3.Error as e:
            sys.stderr.write("---- trials unreadable: %s\n" % e)
            return
        for name in names:
            text = c.log(name, tail=None).splitlines()
            for trial_id, *_ in stuck:
                tags = ("trial %d " % trial_id, "trial %d:" % trial_id, "trial %d," % trial_id)
                named = [l for l in text if any(t in l for t in tags)]
                if named:
                    sys.stderr.write("---- %s on trial %d (last %d of %d lines)\n%s\n"
                                     % (name, trial_id, min(lines, len(named)), len(named),
                                        "\n".join(named[-lines:])))
