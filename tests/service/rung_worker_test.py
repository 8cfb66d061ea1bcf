#!/usr/bin/env python3
"""Real sic-worker processes and a real redis-server, without a coordinator
(which does not schedule rungs yet): TrialJobs are written to sic:trials:cpu as the
coordinator would, and the events read back from sic:results.

- a rung job (stop_at_step) pauses: an Evaluation event per probe before it, then
  Paused with the losses and the probe's eval.* metrics; the checkpoint is kept;
- its promotion (same trial and round, new ticket) resumes on another worker
  process and ends with the outcome of a trial that never paused (same metrics
  and curve, timings aside);
- a discard job removes a paused trial's checkpoint and sends nothing.

usage: rung_worker_test.py BUILD_DIR"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import free_port  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = None
CONFIG = ('{"model":{"n_units":16,"mlp_hidden":32},"data":{"batch_size":8,"seq_len":10},'
          '"optim":{"lr":0.001,"steps":120,"plateau":{"interval":50}},'
          '"run":{"threads":1,"checkpoint_every":25,"log_every":10},'
          '"eval":{"arenas":"2","bin_size":0.1,"trajectories":20,"steps":50},'
          '"probe":{"every":40,"trajectories":10,"steps":30}}')


def protoc(message, text, decode=False):
    args = ["protoc", "--proto_path=" + os.path.join(ROOT, "proto"),
            ("--decode=" if decode else "--encode=") + "sic.v1." + message, "sweep.proto"]
    return subprocess.run(args, input=text, capture_output=True, check=True).stdout


def job(trial, ticket, stop=0, discard=False, round_=1):
    quoted = CONFIG.replace("\\", "\\\\").replace('"', '\\"')
    text = 'trial_id: %d sweep_id: 1 round: %d name: "t%d" ticket: %d stop_at_step: %d discard: %s' % (
        trial, round_, trial, ticket, stop, "true" if discard else "false")
    if not discard:
        text += ' config_json: "%s"' % quoted
    return protoc("TrialJob", text.encode())


def parse_event(payload):
    """The decoded text of a WorkerEvent as a small dict: kind, trial, ticket,
    step, metrics (name -> value), curve steps."""
    text = protoc("WorkerEvent", payload, decode=True).decode()
    out = {"kind": None, "metrics": {}, "curve": []}
    depth, key, section = 0, None, None
    for line in text.splitlines():
        s = line.strip()
        if s.endswith("{"):
            depth += 1
            name = s[:-1].strip()
            if depth == 1:
                out["kind"] = name
            section = name
        elif s == "}":
            depth -= 1
            section = None if depth <= 1 else section
        elif depth == 0 and ":" in s:
            k, v = s.split(":", 1)
            if k in ("trial_id", "ticket"):
                out[k] = int(v)
        elif s.startswith("key:"):
            key = s.split(":", 1)[1].strip().strip('"')
        elif s.startswith("value:"):
            out["metrics"][key] = float(s.split(":", 1)[1])
        elif s.startswith("step:"):
            step = int(s.split(":", 1)[1])
            if section == "curve":
                out["curve"].append(step)
            elif depth == 1:
                out["step"] = step
    return out


class RungWorkerTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sic-rung-")
        self.port = free_port()
        self.redis = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                       "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
        for _ in range(200):
            try:
                if self.command("PING") == b"PONG":
                    break
            except OSError:
                pass
            self.redis.poll()
            subprocess.run(["sleep", "0.05"])
        self.command("XGROUP", "CREATE", "sic:trials:cpu", "workers", "0", "MKSTREAM")
        self.command("XGROUP", "CREATE", "sic:results", "coordinator", "0", "MKSTREAM")

    def tearDown(self):
        self.redis.terminate()
        self.redis.wait()
        shutil.rmtree(self.dir)

    def command(self, *args):
        def enc(a):
            a = a if isinstance(a, bytes) else str(a).encode()
            return b"$%d\r\n%s\r\n" % (len(a), a)
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            s.sendall(b"*%d\r\n" % len(args) + b"".join(enc(a) for a in args))
            return self.read(s.makefile("rb"))

    def read(self, f):
        line = f.readline().rstrip(b"\r\n")
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b"-"):
            return rest
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else f.read(n + 2)[:-2]
        n = int(rest)
        return None if n < 0 else [self.read(f) for _ in range(n)]

    def run_worker(self, name):
        argv = [os.path.join(BIN, "worker", "sic-worker"), "--name", name, "--redis", "127.0.0.1:%d" % self.port,
                "--checkpoint-dir", os.path.join(self.dir, "ck"), "--one-shot", "--progress-ms", "100",
                "--threads-per-trial", "1"]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout + r.stderr

    def events(self, trial):
        return [e for e in (parse_event(fields[1]) for _, fields in self.command("XRANGE", "sic:results", "-", "+"))
                if e.get("trial_id") == trial]

    def trial_dir(self, trial):
        return os.path.join(self.dir, "ck", "trial-%d-r1" % trial)

    def test_pause_then_promotion_equals_a_straight_trial_and_discard_removes_the_checkpoint(self):
        self.command("XADD", "sic:trials:cpu", "*", "p", job(8, ticket=1))  # never paused
        self.run_worker("straight")
        self.command("XADD", "sic:trials:cpu", "*", "p", job(7, ticket=2, stop=60))
        log = self.run_worker("a")
        self.assertIn("paused at step 60; checkpoint kept", log)
        self.assertTrue(os.path.exists(os.path.join(self.trial_dir(7), "checkpoint.pt")))
        rung = self.events(7)
        evaluations = [e for e in rung if e["kind"] == "evaluation"]
        paused = [e for e in rung if e["kind"] == "paused"]
        self.assertEqual([e["step"] for e in evaluations], [40])
        self.assertEqual(len(paused), 1)
        self.assertEqual(paused[0]["step"], 60)
        self.assertEqual(paused[0]["metrics"]["steps"], 60)
        for name in ("loss.total", "eval.2m.fraction_grid.0.3", "eval.2m.max_score60", "eval.2m.silent_units"):
            self.assertIn(name, paused[0]["metrics"])
        self.assertFalse([e for e in rung if e["kind"] == "outcome"])
        streamed = sorted(set(sum((e["curve"] for e in rung if e["kind"] in ("progress", "paused")), [])))
        self.assertEqual(streamed, list(range(10, 61, 10)), "every curve line up to the rung, streamed")

        self.command("XADD", "sic:trials:cpu", "*", "p", job(7, ticket=3))  # the promotion, on another process
        self.run_worker("b")
        self.assertFalse(os.path.exists(self.trial_dir(7)))
        outcome = [e for e in self.events(7) if e["kind"] == "outcome"]
        straight = [e for e in self.events(8) if e["kind"] == "outcome"]
        self.assertEqual(len(outcome), 1)
        self.assertEqual(outcome[0]["ticket"], 3)
        self.assertEqual(outcome[0]["metrics"]["resumed_from_step"], 60)
        same = lambda m: {k: v for k, v in m.items() if ".seconds." not in k and k != "resumed_from_step"}
        a, b = same(outcome[0]["metrics"]), same(straight[0]["metrics"])
        self.assertEqual(a.keys(), b.keys())
        for k in a:
            self.assertTrue(a[k] == b[k] or (a[k] != a[k] and b[k] != b[k]), "%s: %r vs %r" % (k, a[k], b[k]))
        self.assertEqual(outcome[0]["curve"], straight[0]["curve"])

        self.command("XADD", "sic:trials:cpu", "*", "p", job(9, ticket=4, stop=30))
        self.run_worker("c")
        self.assertTrue(os.path.isdir(self.trial_dir(9)))
        before = len(self.command("XRANGE", "sic:results", "-", "+"))
        self.command("XADD", "sic:trials:cpu", "*", "p", job(9, ticket=5, discard=True))
        # A discard is not a trial: the one-shot worker goes on to the next entry, so give it one.
        self.command("XADD", "sic:trials:cpu", "*", "p", job(10, ticket=6))
        self.run_worker("d")
        self.assertFalse(os.path.exists(self.trial_dir(9)))
        self.assertEqual([e["kind"] for e in self.events(9)][-1], "paused", "the discard sent nothing")
        self.assertGreater(len(self.command("XRANGE", "sic:results", "-", "+")), before)
        self.assertEqual(self.command("XLEN", "sic:trials:cpu"), 0)


if __name__ == "__main__":
    BIN = os.path.abspath(sys.argv.pop(1))
    unittest.main()
