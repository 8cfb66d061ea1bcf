#!/usr/bin/python3
"""End-to-end checks of `sic eval`, and of the evaluation `sic train` runs at
the end, as a user runs them.

usage: eval_cli_test.py PATH/TO/sic PROJECT_DIR
"""
import json
import os
import tempfile
import unittest

import numpy as np

from cli_support import main, run

CONFIG = {
    "model": {"n_units": 12, "mlp_hidden": 24},
    "data": {"batch_size": 8, "seq_len": 10},
    "optim": {"lr": 1e-3, "steps": 3},
    "run": {"threads": 1, "checkpoint_every": 0},
    "eval": {"arenas": "1.5", "bins": 16, "trajectories": 30, "steps": 40},
}
ARENA_FILES = ["ratemaps.npy", "occupancy.npy", "scores.json", "summary.json", "distance.json"]


def load_json(path):
    with open(path) as f:
        return json.load(f)


class Eval(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.config = os.path.join(cls.tmp.name, "config.json")
        with open(cls.config, "w") as f:
            json.dump(CONFIG, f)
        cls.run_dir = os.path.join(cls.tmp.name, "run")
        cls.train = run("train", cls.config, "--out", cls.run_dir)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_train_evaluates_at_the_end(self):
        eval_dir = os.path.join(self.run_dir, "eval")
        summary = load_json(os.path.join(eval_dir, "summary.json"))
        self.assertEqual(summary["step"], 3)
        self.assertEqual([a["dir"] for a in summary["arenas"]], ["arena_1.5m"])
        self.assertGreaterEqual(summary["steps_per_input"], 1)
        for name in ARENA_FILES:
            self.assertTrue(os.path.exists(os.path.join(eval_dir, "arena_1.5m", name)), name)
        self.assertIn("arena 1.5 m", self.train.stderr)

    def test_eval_a_checkpoint(self):
        out = os.path.join(self.tmp.name, "eval")
        proc = run("eval", os.path.join(self.run_dir, "checkpoint.pt"), "--out", out, "--arena", "1,2",
                   "--bins", "20", "--trajectories", "25", "--steps", "30")
        self.assertIn("arena_1m:", proc.stdout)
        self.assertIn("arena_2m:", proc.stdout)
        for arena in ["arena_1m", "arena_2m"]:
            maps = np.load(os.path.join(out, arena, "ratemaps.npy"))
            self.assertEqual(maps.shape, (12, 20, 20))
            occupancy = np.load(os.path.join(out, arena, "occupancy.npy"))
            self.assertEqual(occupancy.sum(), 25 * 30)
            self.assertTrue(np.array_equal(np.isnan(maps[0]), occupancy == 0))
            scores = load_json(os.path.join(out, arena, "scores.json"))
            self.assertEqual(len(scores["units"]), 12)
            summary = load_json(os.path.join(out, arena, "summary.json"))
            self.assertEqual(summary["walk"]["samples"], 25 * 30)
            self.assertEqual(summary["bins"], 20)
            pictures = summary.get("pictures")
            if "pictures skipped" not in proc.stderr:
                for png in ["ratemaps.png", "autocorrelograms.png", "periods.png", "distance.png"]:
                    self.assertTrue(os.path.getsize(os.path.join(out, arena, png)) > 1000, png)
            self.assertIsNone(pictures)  # per-arena summary.json holds numbers only
        # The same command again gives the same numbers (seeded walks).
        again = os.path.join(self.tmp.name, "again")
        run("eval", os.path.join(self.run_dir, "checkpoint.pt"), "--out", again, "--arena", "1",
            "--bins", "20", "--trajectories", "25", "--steps", "30")
        self.assertTrue(np.array_equal(np.load(os.path.join(out, "arena_1m", "ratemaps.npy")),
                                       np.load(os.path.join(again, "arena_1m", "ratemaps.npy")), equal_nan=True))

    def test_errors_are_one_line(self):
        ckpt = os.path.join(self.run_dir, "checkpoint.pt")
        out = os.path.join(self.tmp.name, "bad")
        cases = [
            ((os.path.join(self.tmp.name, "missing.pt"), "--out", out), "no such checkpoint"),
            ((self.config, "--out", out), "cannot read checkpoint"),
            ((ckpt,), "--out DIR is required"),
            ((ckpt, "--out", out, "--arena", "2,x"), "eval.arenas"),
            ((ckpt, "--out", out, "--bins", "2"), "--bins: eval.bins"),
            ((ckpt, "--out", out, "--trajectories", "0"), "eval.trajectories"),
            ((ckpt, "--out", out, "--device", "tpu"), "run.device"),
        ]
        for args, expected in cases:
            proc = run("eval", *args, check=False)
            self.assertNotEqual(proc.returncode, 0, args)
            self.assertIn(expected, proc.stderr, args)
            self.assertEqual(len(proc.stderr.strip().splitlines()), 1, proc.stderr)
            self.assertTrue(proc.stderr.startswith("sic eval: "), proc.stderr)


if __name__ == "__main__":
    main()
