"""Hostile sweep specs against a live coordinator (issue "Safe to expose").

A real redis-server and sic-coordinator; each spec that once killed the
coordinator or ate its memory is sent as a dry run over REST
(POST /api/v1/sweeps?dry_run=1) and over gRPC (sicctl sweep FILE --dry-run):
  (a) int_uniform over the whole int64 range (was SIGFPE),
  (b) 1 MiB of nested brackets (was a stack overflow),
  (c) eval.arenas a string of 20,000 arenas with 10,000 seeds (was 9 s, 300 MB),
and their 1 MiB relatives. Each is answered with a 4xx / an error status and a
one-line reason, the coordinator stays up, and after all the 1 MiB payloads
its resident memory has grown by less than 50 MB.

usage: spec_limits_test.py BUILD_DIR [unittest args]"""

import http.client
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import Cluster  # noqa: E402

BIN = None
MIB = 1 << 20


def arenas(n):
    return ",".join(["2"] * n)


def deep(total_bytes):
    depth = (total_bytes - 8) // 2
    return '{"x":' + "[" * depth + "]" * depth + "}"


def long_arenas(total_bytes):
    head, tail = '{"base": {"eval": {"arenas": "', '"}}, "seeds": 10000}'
    n = (total_bytes - len(head) - len(tail) + 1) // 2
    return head + arenas(n) + tail


def expanded_bytes():
    grid = {"loss.k%s%d" % ("k" * 120, i): ["a" * 250, "b" * 250] for i in range(7)}
    return json.dumps({"seeds": 78, "grid": grid})


CRASHERS = {
    "int_uniform_full_range": json.dumps({"random": {"samples": 1, "params": {
        "run.seed": {"int_uniform": [-9223372036854775808, 9223372036854775807]}}}}),
    "nested_brackets_40k": deep(40000),
    "arenas_40k": '{"base": {"eval": {"arenas": "%s"}}, "seeds": 10000}' % arenas(20000),
    "expanded_bytes": expanded_bytes(),
}
# The 1 MiB relatives: just under the limit (parsed, then refused) and just over.
HUGE = {
    "nested_brackets_1mib": deep(MIB),
    "arenas_1mib": long_arenas(MIB),
    "seeds_1mib": '{"ablations": {"a": {"loss.lambda_cap": 0}}, "seeds": [%s]}' % ", ".join(
        str(i) for i in range(10000)) + " " * (MIB - 70000),
    "over_1mib": '{"description": "%s"}' % ("x" * (MIB + 10)),
}


class SpecLimitsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Cluster(BIN)

    @classmethod
    def tearDownClass(cls):
        cls.c.close()

    def rest(self, spec):
        conn = http.client.HTTPConnection("127.0.0.1", self.c.http_port, timeout=60)
        try:
            conn.request("POST", "/api/v1/sweeps?dry_run=1", body=spec.encode(),
                         headers={"Authorization": "Bearer " + self.c.token, "Content-Type": "application/json"})
        except (BrokenPipeError, ConnectionResetError):
            pass  # a body over the server's limit: it answers 413 and closes before reading it all
        r = conn.getresponse()
        body = r.read()
        conn.close()
        return r.status, body

    def grpc(self, name, spec):
        path = os.path.join(self.c.dir, name + ".json")
        with open(path, "w") as f:
            f.write(spec)
        r = self.c.sicctl("--token", self.c.token, "sweep", path, "--dry-run")
        os.remove(path)
        return r

    def assert_alive(self, after):
        self.assertIsNone(self.c.coordinator.poll(), "coordinator died after %s:\n%s" % (after, self.c.log("coordinator")))

    def refuse(self, name, spec):
        status, body = self.rest(spec)
        self.assert_alive(name + " over REST")
        self.assertTrue(400 <= status < 500, "%s: HTTP %d %s" % (name, status, body[:300]))
        message = json.loads(body)["error"]
        self.assertNotIn("\n", message)
        self.assertLess(len(message), 1000, message[:300])
        r = self.grpc(name, spec)
        self.assert_alive(name + " over gRPC")
        self.assertNotEqual(r.returncode, 0, name + ": " + r.stdout[:300])
        line = r.stderr.strip()
        self.assertEqual(len(line.splitlines()), 1, line[:600])
        self.assertLess(len(line), 1000, line[:300])
        self.assertNotIn("cannot reach", line)
        return message, line

    def rss(self):
        with open("/proc/%d/status" % self.c.coordinator.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def test_crashers_are_refused_with_one_line_and_the_coordinator_lives(self):
        for name, spec in CRASHERS.items():
            with self.subTest(name):
                message, line = self.refuse(name, spec)
                if name == "int_uniform_full_range":
                    self.assertIn("random.params.run.seed", message)
                if name == "arenas_40k":
                    self.assertIn("eval.arenas: 39999 characters is over the limit of 256", message)
                if name == "nested_brackets_40k":
                    self.assertIn("nested deeper than", message)
                if name == "expanded_bytes":
                    self.assertIn("over the limit of 67108864", message)
        # Still serving good specs.
        status, body = self.rest(json.dumps({"seeds": 2}))
        self.assertEqual(status, 200, body[:300])
        self.assertEqual(len(json.loads(body)["trials"]), 2)

    def test_one_mib_payloads_leave_no_memory_behind(self):
        self.refuse("warm_up", HUGE["nested_brackets_1mib"])
        before = self.rss()
        for _ in range(3):
            for name, spec in HUGE.items():
                with self.subTest(name):
                    self.refuse(name, spec)
        grown = self.rss() - before
        print("coordinator RSS %.1f MB before, grew by %.1f MB after 12 payloads of 1 MiB" % (before / MIB, grown / MIB),
              file=sys.stderr)
        self.assertLess(grown, 50 * MIB, "coordinator RSS grew by %.1f MB" % (grown / MIB))


if __name__ == "__main__":
    BIN = sys.argv.pop(1)
    unittest.main()
