"""Device classes end to end, with real processes: a sweep with cpu trials and
one cuda trial, two workers of class cpu and, later, one of class cuda.
  - the cpu workers run every cpu trial and never claim the cuda one (no
    attempt of theirs on it, in SQLite);
  - the cuda trial waits, visibly: `sicctl show` says it waits for a worker of
    class cuda, and exits 0;
  - a worker started with --class cuda (a CPU process standing in for a GPU
    worker, as in CI: without --gpus it runs what it claims on the cpu) runs it
    to success;
  - `sicctl workers` lists each worker's classes.
A sweep whose trials need 40 GB per GPU goes to the queue cuda@40: a cuda
worker declaring 24 GB runs other cuda trials but never claims those, which
wait visibly (`sicctl show`, the queue view) and count in the demand of a pool
declaring 80 GB only; a worker declaring 80 GB runs them.
The worker's command line refuses a bad class and --gpus without CUDA in one line.

usage: device_test.py BUILD_DIR [unittest args]"""

import json
import os
import subprocess
import sys
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import ClusterTestCase  # noqa: E402
from sweep_e2e_test import spec  # noqa: E402

BIN = None
FINAL = ("succeeded", "failed", "stopped", "canceled")


class DeviceTest(ClusterTestCase):
    def test_cpu_workers_never_claim_a_cuda_trial_which_waits_for_a_cuda_worker(self):
        c = self.cluster()
        c.start_worker("cpu-a", "--class", "cpu")
        c.start_worker("cpu-b")  # the default class is cpu
        c.wait_workers(["cpu-a", "cpu-b"])
        sweep_id = c.submit(spec("devices", steps=30, seeds=1, ablations={
            "no_cap": {"loss.lambda_cap": 0},
            "no_inv": {"loss.lambda_inv": 0},
            "on_gpu": {"run.device": "cuda"},
        }))
        classes = dict(c.query("SELECT name, device_class FROM trials WHERE sweep_id = ?", sweep_id))
        self.assertEqual(sorted(classes.values()), ["cpu", "cpu", "cpu", "cuda"], classes)
        (cuda_id,) = [i for (i,) in c.query(
            "SELECT id FROM trials WHERE sweep_id = ? AND device_class = 'cuda'", sweep_id)]

        def cpu_done():
            trials = c.trials(sweep_id)
            cpu = [t for t in trials or [] if t["trial"] != cuda_id]
            return trials if len(cpu) == 3 and all(t["status"] in FINAL for t in cpu) else None
        trials = self.wait_for("the cpu trials", cpu_done)
        for t in trials:
            if t["trial"] != cuda_id:
                self.assertEqual(t["status"], "succeeded", t)
                self.assertIn(t["worker"], ("cpu-a", "cpu-b"))
        # The cuda trial is fed to its own stream, where no cpu worker looks
        # (a feed may also hold it back while no worker serves its class:
        # then it stays pending).
        time.sleep(3)  # several claim rounds of both cpu workers (1 s each)
        self.assertEqual(c.query("SELECT worker FROM attempts WHERE trial_id = ?", cuda_id), [])
        (status,) = c.query("SELECT status FROM trials WHERE id = ?", cuda_id)[0]
        self.assertIn(status, ("queued", "pending"))
        if status == "queued":
            self.assertEqual(c.redis_command("XLEN", "sic:trials:cuda"), 1)
            pending = c.redis_command("XPENDING", "sic:trials:cuda", "workers")
            self.assertEqual(pending[0], 0, "a worker holds the cuda job: %r" % pending)
        self.assertEqual(c.redis_command("XLEN", "sic:trials:cpu"), 0)

        # It waits visibly, and `show` does not fail for it.
        r = c.sicctl("show", str(sweep_id))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(status + ", waiting for a worker of class cuda", r.stdout)
        r = c.sicctl("--format", "json", "show", str(sweep_id))
        self.assertEqual(r.returncode, 0, r.stderr)
        shown = {t["trial"]: t for t in json.loads(r.stdout)}
        self.assertEqual(shown[cuda_id]["state"], status + ", waiting for a worker of class cuda")
        self.assertEqual(shown[cuda_id]["status"], status)
        self.assertEqual(shown[cuda_id]["device_class"], "cuda")
        self.assertFalse(any("waiting for a worker" in t["state"] for k, t in shown.items() if k != cuda_id))

        # A worker of class cuda appears (a CPU process standing in): it runs it.
        c.start_worker("gpu-standin", "--class", "cuda")
        trials = c.wait_done(sweep_id)
        self.assertTrue(all(t["status"] == "succeeded" for t in trials), trials)
        workers = {w for (w,) in c.query("SELECT worker FROM attempts WHERE trial_id = ?", cuda_id)}
        self.assertEqual(workers, {"gpu-standin"})
        others = {w for (w,) in c.query("SELECT a.worker FROM attempts a JOIN trials t ON t.id = a.trial_id "
                                        "WHERE t.sweep_id = ? AND a.trial_id != ?", sweep_id, cuda_id)}
        self.assertLessEqual(others, {"cpu-a", "cpu-b"})
        r = c.sicctl("show", str(sweep_id))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("waiting for a worker", r.stdout)

        # The registry: each worker's classes.
        r = c.sicctl("--format", "json", "workers")
        self.assertEqual(r.returncode, 0, r.stderr)
        seen = {w["worker"]: w for w in json.loads(r.stdout)}
        self.assertEqual(seen["cpu-a"]["classes"], "cpu")
        self.assertEqual(seen["cpu-b"]["classes"], "cpu")
        self.assertEqual(seen["gpu-standin"]["classes"], "cuda")
        self.assertIn(seen["gpu-standin"]["gpus"], (None, ""))

    def test_trials_that_need_gpu_memory_wait_for_a_worker_with_enough(self):
        c = self.cluster()
        c.start_worker("gpu-24", "--class", "cuda", "--gpu-memory-gb", "24")
        c.wait_workers(["gpu-24"])
        big = c.submit(spec("big", steps=30, seeds=2,
                            resources={"device": "cuda", "gpu_memory_gb": 40}))
        small = c.submit(spec("small", steps=30, seeds=1, resources={"device": "cuda"}))
        self.assertEqual({q for (q,) in c.query("SELECT device_class FROM trials WHERE sweep_id = ?", big)},
                         {"cuda@40"})
        trials = c.wait_done(small)
        self.assertEqual(trials[0]["status"], "succeeded", trials)

        def get(path):
            with urllib.request.urlopen(c.http_url + path, timeout=30) as r:
                return json.loads(r.read())
        time.sleep(3)  # several claim rounds of the 24 GB worker (1 s each)
        self.assertEqual(c.query("SELECT a.worker FROM attempts a JOIN trials t ON t.id = a.trial_id "
                                 "WHERE t.sweep_id = ?", big), [])
        r = c.sicctl("--format", "json", "show", str(big))
        self.assertEqual(r.returncode, 0, r.stderr)
        for t in json.loads(r.stdout):
            self.assertIn(t["status"], ("queued", "pending"))
            self.assertEqual(t["state"], t["status"] + ", waiting for a worker of class cuda with 40 GB per GPU")
            self.assertEqual(t["device_class"], "cuda@40")
        view = {q["class"]: q for q in get("/api/v1/queue")["classes"]}
        self.assertEqual(view["cuda"]["workers"], 1)
        self.assertEqual(view["cuda@40"]["workers"], 0)
        self.assertEqual(view["cuda@40"]["sweeps"][0]["reason"], "no live worker serves class cuda with 40 GB per GPU")
        # Each pool's KEDA scaler sees the work its workers would take.
        self.assertEqual(get("/api/v1/demand?class=cuda")["demand"], 0)
        self.assertEqual(get("/api/v1/demand?class=cuda&gpu_memory_gb=24")["demand"], 0)
        self.assertEqual(get("/api/v1/demand?class=cuda&gpu_memory_gb=80")["demand"], 2)
        self.assertEqual(get("/api/v1/demand?class=cuda@40")["demand"], 2)
        for bad in ("class=cuda@040", "class=cuda@1000000", "class=cuda%40x", "class=cuda&gpu_memory_gb=x",
                    "class=cuda&gpu_memory_gb=-1", "class=cuda&gpu_memory_gb=nan", "class=cuda&gpu_memory_gb=1e300",
                    "class=cuda&gpu_memory_gb=", "class=cuda@40&gpu_memory_gb=80", "gpu_memory_gb=80"):
            with self.assertRaises(urllib.error.HTTPError) as e:
                get("/api/v1/demand?" + bad)
            self.assertEqual(e.exception.code, 400, bad)

        c.start_worker("gpu-80", "--class", "cuda", "--gpu-memory-gb", "80")
        trials = c.wait_done(big)
        self.assertTrue(all(t["status"] == "succeeded" for t in trials), trials)
        self.assertEqual({w for (w,) in c.query("SELECT a.worker FROM attempts a JOIN trials t ON t.id = a.trial_id "
                                                "WHERE t.sweep_id = ?", big)}, {"gpu-80"})
        r = c.sicctl("--format", "json", "workers")
        self.assertEqual(r.returncode, 0, r.stderr)
        seen = {w["worker"]: w for w in json.loads(r.stdout)}
        self.assertEqual(float(seen["gpu-80"]["gpu_memory_gb"]), 80)
        self.assertEqual(float(seen["gpu-24"]["gpu_memory_gb"]), 24)

    def test_bad_classes_and_missing_gpus_are_one_line(self):
        worker = os.path.join(BIN, "worker", "sic-worker")
        base = [worker, "--redis", "127.0.0.1:1", "--idle-exit-s", "1"]
        r = subprocess.run(base + ["--class", "CUDA!"], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr.strip().count("\n"), 0, r.stderr)
        self.assertIn('--class "CUDA!" is not a device class', r.stderr)
        r = subprocess.run(base + ["--gpus", "0,x"], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--gpus", r.stderr)
        self.assertEqual(r.stderr.strip().count("\n"), 0, r.stderr)
        r = subprocess.run(base + ["--gpus", "all", "--concurrency", "2"], capture_output=True, text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--concurrency", r.stderr)
        r = subprocess.run(base + ["--gpus", "all"], capture_output=True, text=True, timeout=60)
        if r.returncode == 2:  # no CUDA here (CI); on a GPU machine it would start and exit idle
            self.assertEqual(r.stderr.strip(), "sic-worker: --gpus all: no CUDA device is visible to this worker")


if __name__ == "__main__":
    BIN = os.path.abspath(sys.argv.pop(1))
    ClusterTestCase.BIN = BIN
    unittest.main(verbosity=2)
