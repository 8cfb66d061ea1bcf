"""The REST API end to end: a real redis-server, sic-coordinator and two
sic-workers run a real small sweep (an ablation, two seeds, evaluation with
pictures); then every route is read over HTTP and checked against the sweep
and against itself (summary means against the listed trials), and bad
requests get a JSON error with the right 4xx while nothing stored changes.

usage: rest_api_test.py BUILD_DIR [unittest args]"""

import http.client
import json
import os
import sys
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import Cluster  # noqa: E402
import search_fixture  # noqa: E402

BIN = None

SPEC = {
    "name": "rest",
    "description": "REST API test",
    "base": {
        "model": {"n_units": 16, "mlp_hidden": 32},
        "data": {"batch_size": 8, "seq_len": 10},
        "optim": {"lr": 1e-3, "steps": 30, "plateau": {"interval": 15}},
        "run": {"checkpoint_every": 10, "log_every": 5},
        "eval": {"arenas": "2", "bin_size": 0.2, "trajectories": 20, "steps": 50},
    },
    "ablations": {"no_cap": {"loss.lambda_cap": 0}},
    "seeds": 2,
}


def call(url, method="GET", body=None, token=None, content_type="application/json"):
    """(status, content type, body bytes) of one request; errors are answers too.
    A POST says its body is JSON (the coordinator takes nothing else) unless
    content_type says otherwise."""
    req = urllib.request.Request(url, method=method, data=body)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    if method == "POST" and content_type:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


class RestApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Cluster(BIN)
        cls.c.start_worker("a")
        cls.c.start_worker("b")
        cls.sweep = cls.c.submit(SPEC)
        cls.c.wait_done(cls.sweep, timeout=240)

    @classmethod
    def tearDownClass(cls):
        cls.c.close()

    def get(self, path, status=200):
        code, ctype, body = call(self.c.http_url + path)
        self.assertEqual(code, status, body[:300])
        return json.loads(body) if ctype.startswith("application/json") else body

    def error(self, path, status, method="GET", body=None, token=None, contains=""):
        code, ctype, raw = call(self.c.http_url + path, method, body, token)
        self.assertEqual(code, status, raw[:300])
        self.assertTrue(ctype.startswith("application/json"), ctype)
        message = json.loads(raw)["error"]
        self.assertNotIn("\n", message)
        self.assertIn(contains, message)
        return message

    def test_sweeps_list_and_one_sweep(self):
        listing = self.get("/api/v1/sweeps")
        self.assertEqual(listing["total"], 1)
        (s,) = listing["sweeps"]
        self.assertEqual((s["id"], s["name"], s["total"], s["done"]), (self.sweep, "rest", 4, True))
        self.assertEqual(s["counts"]["succeeded"], 4)
        self.assertEqual(s["counts"]["failed"], 0)
        one = self.get("/api/v1/sweeps/%d" % self.sweep)
        self.assertEqual(one["variants"], ["baseline", "no_cap"])
        self.assertEqual(one["spec"]["ablations"], SPEC["ablations"])
        self.assertEqual(one["grid_keys"], [])
        for name in ("loss.total", "loss.cap", "eval.2m.max_score60", "eval.2m.n_modules"):
            self.assertIn(name, one["metric_names"])

    def test_trials_paging_sorting_and_filters(self):
        base = "/api/v1/sweeps/%d/trials" % self.sweep
        pages = [self.get(base + "?limit=3&offset=%d" % o) for o in (0, 3)]
        self.assertEqual([p["total"] for p in pages], [4, 4])
        names = [t["name"] for p in pages for t in p["trials"]]
        self.assertEqual(names, ["baseline/seed=0", "baseline/seed=1", "no_cap/seed=0", "no_cap/seed=1"])
        t = pages[0]["trials"][0]
        self.assertEqual((t["status"], t["step"], t["total_steps"], t["attempts"]), ("succeeded", 30, 30, 1))
        self.assertIn(t["worker"], ("a", "b"))
        self.assertEqual(t["overrides"], {"run.seed": 0})

        for order in ("asc", "desc"):
            rows = self.get(base + "?sort=loss.total&order=" + order)["trials"]
            values = [r["metrics"]["loss.total"] for r in rows]
            self.assertEqual(values, sorted(values, reverse=order == "desc"))
        only = self.get(base + "?variant=no_cap&status=succeeded,failed")
        self.assertEqual(only["total"], 2)
        self.assertTrue(all(r["variant"] == "no_cap" for r in only["trials"]))
        self.assertEqual(self.get(base + "?status=failed")["total"], 0)
        slim = self.get(base + "?metrics=loss.total,eval.2m.n_modules")["trials"]
        self.assertEqual([sorted(t["metrics"]) for t in slim], [["eval.2m.n_modules", "loss.total"]] * 4)
        self.error(base + "?metrics=", 400, contains="metrics")
        # A filter value is data, never SQL.
        self.assertEqual(self.get(base + "?variant=" + urllib.request.quote("x' OR '1'='1"))["total"], 0)

    def test_summary_agrees_with_the_trials(self):
        summary = self.get("/api/v1/sweeps/%d/summary" % self.sweep)
        groups = summary["groups"]
        self.assertEqual([g["variant"] for g in groups], ["baseline", "no_cap"])
        self.assertEqual(groups[1]["point"], {"loss.lambda_cap": 0})
        slim = self.get("/api/v1/sweeps/%d/summary?metrics=loss.total" % self.sweep)["groups"]
        self.assertEqual([list(g["metrics"]) for g in slim], [["loss.total"]] * 2)
        self.assertEqual(slim[0]["metrics"]["loss.total"], groups[0]["metrics"]["loss.total"])
        trials = self.get("/api/v1/sweeps/%d/trials?limit=100" % self.sweep)["trials"]
        for g in groups:
            self.assertEqual((g["trials"], g["counts"]["succeeded"]), (2, 2))
            for name in ("loss.total", "eval.2m.max_score60", "eval.2m.n_modules"):
                values = [t["metrics"][name] for t in trials if t["variant"] == g["variant"]]
                values = [v for v in values if v is not None]
                m = g["metrics"][name]
                self.assertEqual(m["n"], len(values))
                self.assertAlmostEqual(m["mean"], sum(values) / len(values), places=9)
                if len(values) == 2:
                    sd = abs(values[0] - values[1]) / 2 ** 0.5
                    self.assertAlmostEqual(m["sd"], sd, places=6)

    def test_trial_page_curve_and_pictures(self):
        first = self.get("/api/v1/sweeps/%d/trials?limit=1" % self.sweep)["trials"][0]
        t = self.get("/api/v1/trials/%d" % first["id"])
        self.assertEqual(t["config"]["optim"]["steps"], 30)
        self.assertEqual(len(t["attempts"]), 1)
        self.assertEqual(t["attempts"][0]["outcome"], "succeeded")
        self.assertEqual(t["attempts"][0]["worker"], t["worker"])
        names = [a["name"] for a in t["artifacts"]]
        self.assertIn("arena_2m/ratemaps.png", names)
        curve = self.get("/api/v1/trials/%d/curve" % first["id"])
        self.assertGreater(len(curve["step"]), 2)
        self.assertEqual(curve["step"][-1], 30)
        for column in ("total", "sep", "inv", "cap", "coniso", "lr"):
            self.assertEqual(len(curve[column]), len(curve["step"]))
        self.assertAlmostEqual(curve["total"][-1], t["metrics"]["loss.total"], places=9)
        for picture in ("ratemaps.png", "autocorrelograms.png", "periods.png", "distance.png"):
            png = self.get("/api/v1/trials/%d/%s" % (first["id"], picture))
            self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n", picture)
        by_name = self.get(t["artifacts"][0]["url"])
        self.assertEqual(len(by_name), t["artifacts"][0]["bytes"])
        self.error("/api/v1/trials/%d/ratemaps.png?arena=arena_9m" % first["id"], 404, contains="arena_9m")
        # A trial of a plain sweep: no rung, trained all the way; its
        # evaluations during training (if the worker made any) by step.
        self.assertEqual((t["rung"], t["steps_done"] in (0, 30), t["target_steps"]), (None, True, 0))
        evals = self.get("/api/v1/trials/%d/evals" % first["id"])
        self.assertEqual(evals["trial_id"], first["id"])
        steps = [e["step"] for e in evals["evals"]]
        self.assertEqual(steps, sorted(set(steps)))
        self.error("/api/v1/sweeps/%d/search" % self.sweep, 404, contains="no objective")

    def test_export_workers_and_operations(self):
        csv = self.get("/api/v1/sweeps/%d/export?format=csv" % self.sweep).decode().strip().splitlines()
        self.assertEqual(len(csv), 5)
        self.assertIn("loss.lambda_cap", csv[0])
        exported = self.get("/api/v1/sweeps/%d/export?format=json" % self.sweep)
        self.assertEqual([e["status"] for e in exported], ["succeeded"] * 4)
        self.error("/api/v1/sweeps/%d/export?format=xml" % self.sweep, 400, contains="csv or json")

        workers = self.get("/api/v1/workers")["workers"]
        self.assertEqual(sorted(w["name"] for w in workers), ["a", "b"])
        self.assertTrue(all(time.time() - w["last_seen"] < 30 for w in workers))

        self.assertEqual(self.get("/healthz"), b"ok\n")
        self.assertEqual(self.get("/readyz"), {"ready": True, "sqlite": "ok", "redis": "ok"})
        metrics = self.get("/metrics").decode()
        self.assertIn('sic_trials{state="succeeded"} 4', metrics)
        self.assertIn("sic_workers_alive 2", metrics)
        self.assertIn("sic_redis_up 1", metrics)
        self.assertIn("sic_queue_depth 0", metrics)
        ingested = [line for line in metrics.splitlines() if line.startswith("sic_ingest_latency_seconds_count")]
        self.assertGreaterEqual(float(ingested[0].split()[-1]), 4)  # at least one event per trial
        self.assertIn('sic_http_request_duration_seconds_bucket{route="/api/v1/sweeps/{id}/trials"', metrics)

    def test_bad_requests_get_json_errors_and_change_nothing(self):
        before = self.c.query("SELECT COUNT(*) FROM trials")[0][0]
        s = "/api/v1/sweeps/%d" % self.sweep
        self.error("/api/v1/sweeps/999", 404, contains="sweep 999: no such sweep")
        self.error("/api/v1/sweeps/abc", 404, contains="no such sweep")
        self.error("/api/v1/trials/999/curve", 404, contains="trial 999")
        self.error("/api/v1/nothing", 404, contains="no such route")
        self.error(s + "/trials?limit=0", 400, contains="limit")
        self.error(s + "/trials?limit=abc", 400, contains="limit")
        self.error(s + "/trials?offset=-1", 400, contains="offset")
        self.error(s + "/trials?order=sideways", 400, contains="asc or desc")
        self.error(s + "/trials?status=lost", 400, contains="lost")
        self.error(s + "/trials?sort=" + urllib.request.quote("loss.total; DROP TABLE trials"), 400,
                   contains="sort")
        self.error(s, 405, method="DELETE", contains="not allowed")
        self.error("/api/v1/sweeps", 401, method="POST", body=json.dumps(SPEC).encode(), contains="token")
        self.error("/api/v1/sweeps", 401, method="POST", body=b"{}", token="wrong", contains="token")
        self.error(s + "/cancel", 401, method="POST", contains="token")
        self.error("/api/v1/sweeps", 400, method="POST", body=b"{not json", token=self.c.token)
        bad = dict(SPEC, base={"loss": {"lambda_cap": -1}})
        self.error("/api/v1/sweeps", 400, method="POST", body=json.dumps(bad).encode(), token=self.c.token,
                   contains="loss.lambda_cap")
        # Over 1 MiB is refused from the headers, before the body is read.
        conn = http.client.HTTPConnection("127.0.0.1", self.c.http_port, timeout=30)
        conn.putrequest("POST", "/api/v1/sweeps")
        conn.putheader("Content-Length", str(2 << 20))
        conn.putheader("Authorization", "Bearer " + self.c.token)
        conn.endheaders()
        r = conn.getresponse()
        self.assertEqual(r.status, 413)
        self.assertIn("1 MiB", json.loads(r.read())["error"])
        conn.close()
        code, _, _ = call(self.c.http_url + "/../../../etc/passwd")
        self.assertEqual(code, 404)
        self.assertEqual(self.c.query("SELECT COUNT(*) FROM trials")[0][0], before)
        self.assertEqual(self.get("/api/v1/sweeps")["total"], 1)

    def test_z_submit_dry_run_and_cancel_over_http(self):
        # Named to run last in this class: it adds a sweep.
        # A dry run costs the expansion: with a token set, it needs it like a submit.
        self.error("/api/v1/sweeps?dry_run=1", 401, method="POST", body=json.dumps(SPEC).encode(), contains="token")
        code, _, raw = call(self.c.http_url + "/api/v1/sweeps?dry_run=1", "POST", json.dumps(SPEC).encode(),
                            self.c.token)
        self.assertEqual(code, 200, raw)
        self.assertEqual(json.loads(raw), {"sweep_id": 0, "trials": [
            "baseline/seed=0", "baseline/seed=1", "no_cap/seed=0", "no_cap/seed=1"]})
        slow = dict(SPEC, name="to-cancel", base=dict(SPEC["base"], optim={"steps": 100000}))
        code, _, raw = call(self.c.http_url + "/api/v1/sweeps", "POST", json.dumps(slow).encode(), self.c.token)
        self.assertEqual(code, 201, raw)
        new_id = json.loads(raw)["sweep_id"]
        self.assertEqual(self.get("/api/v1/sweeps/%d" % new_id)["total"], 4)
        code, _, raw = call(self.c.http_url + "/api/v1/sweeps/%d/cancel" % new_id, "POST", token=self.c.token)
        self.assertEqual(code, 200, raw)
        self.assertEqual(json.loads(raw)["canceled"], 4)
        self.assertEqual(self.get("/api/v1/sweeps/%d" % new_id)["counts"]["canceled"], 4)
        self.error("/api/v1/sweeps/%d/cancel" % 999, 404, method="POST", token=self.c.token)


class AdaptiveRestTest(unittest.TestCase):
    """The adaptive sweep's routes on rows the scheduler and pumps record
    (search_fixture.py writes them with plain SQL into the coordinator's file;
    no workers): /trials/{id}/evals and /sweeps/{id}/search, and the rung and
    steps of every Trial."""

    @classmethod
    def setUpClass(cls):
        cls.c = Cluster(BIN)
        cls.f = search_fixture.create(cls.c.db_path)
        cls.plain = cls.c.submit({"name": "plain", "base": {"optim": {"steps": 10}}})

    @classmethod
    def tearDownClass(cls):
        cls.c.close()

    get = RestApiTest.get
    error = RestApiTest.error

    def test_evals_by_step_with_nan_as_null(self):
        live = self.f["live"]
        out = self.get("/api/v1/trials/%d/evals" % live)
        self.assertEqual(out["trial_id"], live)
        self.assertEqual([e["step"] for e in out["evals"]], [100, 200, 300])
        for e in out["evals"]:
            want = search_fixture.eval_metrics(e["step"])
            self.assertEqual(set(e["metrics"]), set(want))
            for name, value in want.items():
                if value is None:
                    self.assertIsNone(e["metrics"][name], name)  # NaN is null
                else:
                    self.assertAlmostEqual(e["metrics"][name], value, places=9)
        slim = self.get("/api/v1/trials/%d/evals?metrics=eval.2m.n_grid" % live)
        self.assertEqual([sorted(e["metrics"]) for e in slim["evals"]], [["eval.2m.n_grid"]] * 3)
        self.assertEqual(self.get("/api/v1/trials/%d/evals" % self.f["trials"]["t5"])["evals"], [])
        self.error("/api/v1/trials/999999/evals", 404, contains="trial 999999")
        self.error("/api/v1/trials/%d/evals?metrics=" % live, 400, contains="metrics")

    def test_search_shows_values_rungs_and_steps_saved(self):
        s = self.get("/api/v1/sweeps/%d/search" % self.f["sweep"])
        spec = search_fixture.SPEC
        self.assertEqual((s["objective"], s["search"], s["schedule"]), (spec["objective"], spec["search"], spec["schedule"]))
        e = self.f["expected"]
        self.assertEqual(s["steps"], {"trained": e["trained"], "full": e["full"], "saved": e["saved"], "started": 7})
        ids = self.f["trials"]
        by_name = {t["name"]: t for t in s["trials"]}
        self.assertEqual([t["name"] for t in s["trials"]], [t[0] for t in search_fixture.TRIALS])
        self.assertEqual((by_name["t0"]["value"], by_name["t0"]["value_from"]), (0.45, "objective"))
        self.assertEqual((by_name["t2"]["value"], by_name["t2"]["value_from"], by_name["t2"]["rung"]), (0.28, "rung", 1))
        self.assertIsNone(by_name["t3"]["value"])  # its rung signal is NaN
        self.assertIsNone(by_name["t5"]["rung"])
        self.assertEqual(by_name["t2"]["params"]["loss.lambda_cap"], 0.3)
        r0, r1 = s["rungs"]
        self.assertEqual((r0["rung"], r0["step"], r1["rung"], r1["step"]), (0, 100, 1, 300))
        values = [t["value"] for t in r0["trials"]]
        self.assertEqual(values, [0.22, 0.20, 0.15, 0.12, 0.05, None])  # best first (max), NaN last
        self.assertEqual([t["id"] for t in r0["trials"] if t["promoted"]], [ids["t2"], ids["t0"], ids["t4"]])
        self.assertEqual(len(r1["trials"]), e["rungs"]["1"])
        # Every Trial carries its rung and steps.
        listed = {t["name"]: t for t in self.get("/api/v1/sweeps/%d/trials" % self.f["sweep"])["trials"]}
        self.assertEqual((listed["t2"]["rung"], listed["t2"]["steps_done"], listed["t2"]["target_steps"], listed["t2"]["step"]),
                         (1, 300, 300, 300))
        self.assertEqual(self.get("/api/v1/trials/%d" % ids["t1"])["rung"], 0)
        self.error("/api/v1/sweeps/%d/search" % self.plain, 404, contains="no objective, search or schedule")
        self.error("/api/v1/sweeps/999999/search", 404, contains="sweep 999999")

    def test_status_filters_take_the_new_statuses(self):
        base = "/api/v1/sweeps/%d/trials?status=" % self.f["sweep"]
        self.assertEqual([t["name"] for t in self.get(base + "paused")["trials"]], ["t2", "t7"])
        self.assertEqual(self.get(base + "stopped,waiting")["total"], 3)
        message = self.error(base + "sleeping", 400, contains="sleeping")
        for status in ("waiting", "paused", "stopped"):
            self.assertIn(status, message)
        sweep = self.get("/api/v1/sweeps/%d" % self.f["sweep"])
        self.assertEqual((sweep["counts"]["paused"], sweep["counts"]["stopped"], sweep["counts"]["waiting"]), (2, 2, 1))
        self.assertTrue(all(k in sweep["counts"] for k in ("waiting", "paused", "stopped")))


class QueueViewTest(unittest.TestCase):
    """GET /api/v1/queue with a real coordinator (reads behind the token:
    --auth-reads), Redis and one sic-worker of class cpu, none of class cuda.
    The worker is kept busy by a long trial, so what was submitted after it
    waits whatever the feed does: a cuda trial (which no cpu worker may claim,
    and which this worker could not take now anyway) and two cpu trials."""

    @classmethod
    def setUpClass(cls):
        cls.c = Cluster(BIN, coordinator_args=["--auth-reads"])
        try:
            cls.c.start_worker("cpu1")
            cls.c.wait_workers(["cpu1"])
            base = SPEC["base"]
            cls.busy = cls.c.submit({"name": "busy", "base": dict(base, optim={"steps": 10 ** 8})})
            cls.wait(lambda: cls.sweep(cls.busy)["counts"]["running"] == 1, "the long trial runs")
            cls.gpu = cls.c.submit({"name": "gpu", "base": dict(base, optim={"steps": 10}), "priority": 3,
                                    "resources": {"device": "cuda"}})
            cls.later = cls.c.submit({"name": "later", "base": dict(base, optim={"steps": 10}), "seeds": 2,
                                      "max_running": 1})
        except BaseException:
            sys.stderr.write(cls.c.log("coordinator") + cls.c.log("worker-cpu1"))
            cls.c.close()
            raise

    @classmethod
    def tearDownClass(cls):
        for sweep in (cls.busy, cls.gpu, cls.later):
            call(cls.c.http_url + "/api/v1/sweeps/%d/cancel" % sweep, "POST", token=cls.c.token)
        cls.c.close()

    @classmethod
    def read(cls, path, token=True):
        code, _, body = call(cls.c.http_url + path, token=cls.c.token if token else None)
        return code, json.loads(body)

    @classmethod
    def sweep(cls, sweep_id):
        code, body = cls.read("/api/v1/sweeps/%d" % sweep_id)
        assert code == 200, body
        return body

    @classmethod
    def wait(cls, cond, what, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if cond():
                return
            time.sleep(0.2)
        raise TimeoutError(what)

    def queue(self):
        code, body = self.read("/api/v1/queue")
        self.assertEqual(code, 200, body)
        return body

    def test_it_needs_the_token_with_auth_reads(self):
        code, body = self.read("/api/v1/queue", token=False)
        self.assertEqual(code, 401)
        self.assertIn("token", body["error"])

    def test_a_class_without_a_live_worker_says_so(self):
        # The worker's registry entry shows its busy slot within its 2 s heartbeat.
        view = {}

        def settled():
            view.update(self.queue())
            by_class = {c["class"]: c for c in view["classes"]}
            cpu, cuda = by_class.get("cpu"), by_class.get("cuda")
            return cpu and cuda and cpu["idle"] == 0 and cuda["pending"] + cuda["queued"] == 1
        self.wait(settled, "the view shows the busy worker and the cuda trial")
        by_class = {c["class"]: c for c in view["classes"]}
        self.assertEqual(sorted(by_class), ["cpu", "cuda"])
        self.assertEqual(view["max_running_per_user"], 0)
        cpu, cuda = by_class["cpu"], by_class["cuda"]
        self.assertEqual((cpu["workers"], cpu["slots"], cpu["idle"], cpu["running"]), (1, 1, 0, 1))
        self.assertEqual(cpu["pending"] + cpu["queued"], 2)
        self.assertEqual((cuda["workers"], cuda["slots"], cuda["idle"], cuda["running"]), (0, 0, 0, 0))

        (gpu,) = cuda["sweeps"]
        owner = self.sweep(self.gpu)["owner"]
        self.assertEqual({k: gpu[k] for k in ("sweep_id", "name", "owner", "priority", "running", "max_running")},
                         {"sweep_id": self.gpu, "name": "gpu", "owner": owner, "priority": 3, "running": 0,
                          "max_running": 0})
        self.assertEqual(gpu["reason"], "no live worker serves class cuda")

        sweeps = {s["sweep_id"]: s for s in cpu["sweeps"]}
        self.assertEqual(sorted(sweeps), sorted([self.busy, self.later]))
        busy, later = sweeps[self.busy], sweeps[self.later]
        self.assertEqual((busy["running"], busy["pending"], busy["queued"], busy["reason"]), (1, 0, 0, ""))
        self.assertEqual((later["max_running"], later["pending"] + later["queued"]), (1, 2))
        # Which one depends on how far ahead the feed fills Redis; each is true of its state.
        if later["pending"] == 0:
            self.assertEqual(later["reason"], "queued, waiting for a free slot")
        elif later["queued"] >= 1:
            self.assertEqual(later["reason"], "at its cap (max_running 1)")
        else:
            self.assertEqual(later["reason"], "waiting for a free slot (fair share)")

        # The trials carry their class, and the workers what they serve.
        trials = self.read("/api/v1/sweeps/%d/trials" % self.gpu)[1]["trials"]
        self.assertEqual([(t["device_class"], t["status"] in ("pending", "queued")) for t in trials], [("cuda", True)])
        workers = self.read("/api/v1/workers")[1]["workers"]
        self.assertEqual([(w["name"], w["classes"]) for w in workers], [("cpu1", ["cpu"])])


class ReadinessTest(unittest.TestCase):
    def test_without_redis_it_stays_ready_and_says_so(self):
        # With no worker the dispatcher feeds only --dispatch-ahead trials: let all 4 in.
        c = Cluster(BIN, coordinator_args=["--dispatch-ahead", "8"])
        self.addCleanup(c.close)
        self.assertEqual(json.loads(call(c.http_url + "/readyz")[2])["redis"], "ok")
        c.kill_redis()
        code, _, body = call(c.http_url + "/readyz")
        self.assertEqual(code, 200)  # everything it serves reads SQLite
        self.assertIn("127.0.0.1:%d" % c.redis_port, json.loads(body)["redis"])
        self.assertIn("sic_redis_up 0", call(c.http_url + "/metrics")[2].decode())
        self.assertEqual(call(c.http_url + "/healthz")[0], 200)
        self.assertEqual(call(c.http_url + "/api/v1/sweeps")[0], 200)
        # A submit is committed and waits for Redis; it is queued once Redis is back.
        code, _, raw = call(c.http_url + "/api/v1/sweeps", "POST", json.dumps(dict(SPEC, name="later")).encode(),
                            c.token)
        self.assertEqual(code, 201, raw)
        c.start_redis()
        deadline = time.time() + 30
        while time.time() < deadline and c.query("SELECT COUNT(*) FROM trials WHERE status = 'queued'")[0][0] < 4:
            time.sleep(0.2)
        self.assertEqual(c.query("SELECT COUNT(*) FROM trials WHERE status = 'queued'")[0][0], 4)
        self.assertEqual(json.loads(call(c.http_url + "/readyz")[2])["redis"], "ok")


if __name__ == "__main__":
    BIN = sys.argv.pop(1)
    unittest.main()
