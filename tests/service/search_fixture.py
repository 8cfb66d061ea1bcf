#!/usr/bin/env python3
"""An adaptive sweep (objective, TPE search, ASHA schedule) written into a
coordinator's SQLite file with plain SQL, for the dashboard's search view and
the trial page's evaluations chart. The rows are those the coordinator records
for such a sweep (schema 6: trials.steps_done, evals, rungs); the numbers are
made up and chosen so that every view has something to show: trials that
finished, were stopped early, are paused at a rung, wait for the scheduler,
failed; a NaN rung signal; promotions at two rungs.

The sweep is stored as canceled, so that no scheduler ever promotes its paused
trials (they have no checkpoints): it is data to look at, nothing to run.

    search_fixture.py create DB      prints {"sweep": ID, "trials": {name: id}, "expected": {...}}
    search_fixture.py add-eval DB TRIAL STEP   one more evaluation (a trial that trains on)

Used by tests/browser (create, and add-eval while the trial page is open),
tests/cli/sicctl_cli_test.py and rest_api_test.py."""

import json
import sqlite3
import sys
import time

METRIC = "eval.2m.max_score60"
STEPS = 900  # optim.steps of every configuration
RUNG_STEPS = [100, 300]

SPEC = {
    "name": "browser-search",
    "description": "Dashboard test: an adaptive sweep (TPE and ASHA), rows written by tests/service/search_fixture.py.",
    "base": {"optim": {"lr": 1e-3, "steps": STEPS}},
    "objective": {"metric": METRIC, "direction": "max"},
    "search": {"method": "tpe", "trials": 8, "seed": 1,
               "params": {"loss.lambda_cap": {"uniform": [0, 1]}, "optim.lr": {"log_uniform": [1e-4, 1e-2]}}},
    "schedule": {"method": "asha", "min_steps": 100, "max_steps": STEPS, "reduction_factor": 3},
}

# name, status, steps_done, [(rung, value or None=NaN, promoted)], final objective or None, last curve step
TRIALS = [
    ("t0", "succeeded", STEPS, [(0, 0.20, True), (1, 0.30, True)], 0.45, STEPS),
    ("t1", "stopped", 100, [(0, 0.05, False)], None, 100),
    ("t2", "paused", 300, [(0, 0.22, True), (1, 0.28, False)], None, 300),
    ("t3", "stopped", 100, [(0, None, False)], None, 100),
    ("t4", "succeeded", STEPS, [(0, 0.15, True), (1, 0.25, True)], 0.35, STEPS),
    ("t5", "waiting", 0, [], None, 0),
    ("t6", "failed", 0, [], None, 50),
    ("t7", "paused", 100, [(0, 0.12, False)], None, 100),
]
LIVE_TRIAL = "t2"  # paused: the trial page polls it; add-eval adds to it


def eval_metrics(step):
    """The metrics of one evaluation of the live trial at `step` (a NaN among them)."""
    s = step / STEPS
    return {
        "eval.2m.max_score60": round(0.1 + 0.6 * s, 4),
        "eval.2m.median_score60": None if step == 200 else round(0.05 + 0.2 * s, 4),  # NaN at 200
        "eval.2m.fraction_grid.0.3": round(0.5 * s, 4),
        "eval.2m.n_grid": int(40 * s),
        "eval.2m.n_modules": 1 if s > 0.3 else 0,
        "eval.2m.n_modules_distinct": 1 if s > 0.3 else 0,
        # A module's phase tiling: none (NaN) before it has a module.
        "eval.2m.phase_tiling": round(1.0 + s, 4) if s > 0.3 else None,
        # What the 40 units' maps are: bands turning into a lattice (no "oblique"
        # or "partial" key, as an evaluation from before they were counted).
        "eval.2m.patterns.grid": int(40 * s),
        "eval.2m.patterns.square": 5,
        "eval.2m.patterns.band": 30 - int(30 * s),
        "eval.2m.patterns.none": 5,
    }


def create(db_path):
    db = sqlite3.connect(db_path, timeout=10)
    now = time.time()
    with db:
        cur = db.execute("INSERT INTO sweeps (name, description, spec, created_at, canceled) VALUES (?, ?, ?, ?, 1)",
                         (SPEC["name"], SPEC["description"], json.dumps(SPEC), now))
        sweep = cur.lastrowid
        ids = {}
        for idx, (name, status, done, rungs, final, curve_to) in enumerate(TRIALS):
            params = {"loss.lambda_cap": round(0.1 + 0.1 * idx, 3), "optim.lr": 10 ** (-4 + 0.25 * idx)}
            config = {"optim": {"lr": params["optim.lr"], "steps": STEPS}, "loss": {"lambda_cap": params["loss.lambda_cap"]}}
            started = now - 100 + idx if status != "waiting" else 0
            finished = now - 10 if status in ("succeeded", "stopped", "failed") else 0
            target = RUNG_STEPS[len(rungs) - 1] if status == "paused" else 0
            cur = db.execute(
                "INSERT INTO trials (sweep_id, idx, name, variant, config, overrides, status, worker, error, "
                "started_at, finished_at, point, total_steps, target_steps, steps_done) "
                "VALUES (?, ?, ?, 'baseline', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (sweep, idx, name, json.dumps(config), json.dumps(params), status,
                 "" if status == "waiting" else "w1", "diverged" if status == "failed" else "",
                 started, finished, json.dumps(params), STEPS, target, done))
            tid = cur.lastrowid
            ids[name] = tid
            for rung, value, promoted in rungs:
                db.execute("INSERT INTO rungs (trial_id, rung, step, value, at, promoted) VALUES (?, ?, ?, ?, ?, ?)",
                           (tid, rung, RUNG_STEPS[rung], value, now - 50, now - 40 if promoted else None))
            for step in range(10, curve_to + 1, 10):
                loss = 2.0 / (1 + step / 100)
                db.execute("INSERT INTO curves (trial_id, step, total, sep, inv, cap, coniso, lr) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           (tid, step, loss, loss / 2, loss / 4, -0.1, 0.05, params["optim.lr"]))
            if final is not None:
                for mname, v in (("loss.total", 0.4 + 0.01 * idx), (METRIC, final)):
                    db.execute("INSERT INTO metrics (trial_id, name, value) VALUES (?, ?, ?)", (tid, mname, v))
                    db.execute(
                        "INSERT INTO group_stats (sweep_id, variant, point, name, n, nan, sum, sumsq) "
                        "VALUES (?, 'baseline', ?, ?, 1, 0, ?, ?)", (sweep, json.dumps(params), mname, v, v * v))
        for step in (100, 200, 300):
            add_eval(db, ids[LIVE_TRIAL], step)
    db.close()
    started = [t for t in TRIALS if t[1] != "waiting"]
    final = ("succeeded", "failed", "stopped", "canceled")
    trained = sum(STEPS if t[1] == "succeeded" else t[2] if t[1] in final else max(t[2], t[5]) for t in started)
    full = STEPS * len(started)
    return {"sweep": sweep, "trials": ids, "live": ids[LIVE_TRIAL],
            "expected": {"trained": trained, "full": full, "saved": full - trained, "best": 0.45,
                         "objective_points": sum(1 for t in TRIALS if t[4] is not None or
                                                 (t[3] and t[3][-1][1] is not None and t[1] != "succeeded")),
                         "rungs": {str(r): sum(1 for t in TRIALS if any(x[0] == r for x in t[3])) for r in (0, 1)},
                         "promoted": {str(r): sum(1 for t in TRIALS if any(x[0] == r and x[2] for x in t[3]))
                                      for r in (0, 1)},
                         # 7 charted metrics at 3 steps, less the median's NaN and phase
                         # tiling's two before the module; the evaluation at 400 adds 7.
                         "eval_points": 3 * 7 - 1 - 2, "eval_series": 7,
                         "pattern_series": 4, "pattern_points": 3 * 4}}


def add_eval(db, trial, step):
    for name, value in eval_metrics(step).items():
        db.execute("INSERT INTO evals (trial_id, step, name, value) VALUES (?, ?, ?, ?)", (trial, step, name, value))


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "create":
        print(json.dumps(create(sys.argv[2])))
        return 0
    if len(sys.argv) == 5 and sys.argv[1] == "add-eval":
        db = sqlite3.connect(sys.argv[2], timeout=10)
        with db:
            add_eval(db, int(sys.argv[3]), int(sys.argv[4]))
        db.close()
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
