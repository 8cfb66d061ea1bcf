#!/usr/bin/python3
"""End-to-end checks of the `sic` binary as a user runs it.

usage: sic_cli_test.py PATH/TO/sic PROJECT_DIR

`sic losses` is compared with an independent NumPy implementation of the four
losses (sic-method section 3), so anyone's states can be checked against ours.
"""
import json
import os

import numpy as np

from cli_support import ROOT, SIC, TempDirTest, main, read, run, write


def pd_leaves(tree):
    for value in tree.values():
        if isinstance(value, dict):
            yield from pd_leaves(value)
        else:
            yield value


def numpy_losses(G, V, sigma_x=0.05, sigma_g=0.4):
    """The losses written directly from the formulas, over all ordered pairs i != j."""
    B, T1, N = G.shape
    X = np.cumsum(V, axis=1).reshape(-1, 2)
    S = G[:, 1:].reshape(-1, N)
    dx = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
    dg2 = ((S[:, None] - S[None]) ** 2).sum(-1)
    off = ~np.eye(len(S), dtype=bool)
    far, near = (dx > sigma_x) & off, (dx < sigma_x) & off
    sep = np.exp(-dg2[far] / (2 * sigma_g**2)).mean() if far.any() else 0.0
    inv = dg2[near].mean() if near.any() else 0.0
    cap = -(S.mean(0) ** 2).sum()
    speed = np.linalg.norm(V, axis=-1)
    step = np.linalg.norm(G[:, 1:] - G[:, :-1], axis=-1)
    keep = (speed > 0) & (speed < sigma_x)
    coniso = np.var(step[keep] / speed[keep]) if keep.any() else 0.0
    return {"sep": sep, "inv": inv, "cap": cap, "coniso": coniso}


class LossesCommand(TempDirTest):
    def random_states(self, rng, B=6, T=10, N=8, dtype=np.float64):
        G = rng.random((B, T + 1, N))
        G /= np.linalg.norm(G, axis=-1, keepdims=True)
        V = (rng.random((B, T, 2)) - 0.5) * 0.12
        return G.astype(dtype), V.astype(dtype)

    def test_matches_independent_numpy_implementation(self):
        rng = np.random.default_rng(0)
        for sx, sg in [(0.05, 0.4), (0.1, 0.2)]:
            G, V = self.random_states(rng)
            out = json.loads(run("losses", self.save("g.npy", G), self.save("v.npy", V),
                                 "--sigma-x", str(sx), "--sigma-g", str(sg)).stdout)
            want = numpy_losses(G, V, sx, sg)
            self.assertEqual(set(out), {"sep", "inv", "cap", "coniso"})
            for key in want:
                self.assertAlmostEqual(out[key], want[key], delta=1e-9 * max(1, abs(want[key])), msg=key)
            self.assertGreater(want["inv"], 0)

    def test_float32_input(self):
        G, V = self.random_states(np.random.default_rng(1), dtype=np.float32)
        out = json.loads(run("losses", self.save("g.npy", G), self.save("v.npy", V)).stdout)
        want = numpy_losses(G.astype(np.float64), V.astype(np.float64))
        for key in want:
            self.assertAlmostEqual(out[key], want[key], delta=1e-4 * max(1, abs(want[key])), msg=key)

    def test_bad_inputs_get_one_line_errors(self):
        G, V = self.random_states(np.random.default_rng(2))
        g, v = self.save("g.npy", G), self.save("v.npy", V)
        cases = [
            ((g, self.save("short.npy", V[:, :-1])), "shapes do not match"),
            ((g, self.save("int.npy", V.astype(np.int64))), "unsupported dtype '<i8'"),
            ((g, self.save("fortran.npy", np.asfortranarray(V))),
             "Fortran-order"),
            ((self.save("g2.npy", G[0]), v), "is not (B, T+1, N)"),
            ((g, os.path.join(self.dir, "missing.npy")), "cannot open file"),
            ((g, v, "--sigma-g", "-1"), "loss.sigma_g: -1.0 is out of range"),
            ((g, v, "--sigma-x", "abc"), "--sigma-x: \"abc\" is not a number"),
            ((g, v, "--frobnicate"), "--frobnicate: unknown option"),
        ]
        write(os.path.join(self.dir, "trunc.npy"), read(v, "rb")[:-5], "wb")
        cases.append(((g, os.path.join(self.dir, "trunc.npy")), "truncated data"))
        nan = G.copy()
        nan[0, 1, 0] = np.nan
        cases.append(((self.save("nan.npy", nan), v), "contains NaN or inf"))
        for args, expected in cases:
            proc = run("losses", *args, check=False)
            self.assertNotEqual(proc.returncode, 0, args)
            self.assertIn(expected, proc.stderr, args)
            self.assertEqual(len(proc.stderr.strip().splitlines()), 1, proc.stderr)
            self.assertTrue(proc.stderr.startswith("sic losses: "), proc.stderr)


class TrainCommand(TempDirTest):
    def setUp(self):
        super().setUp()
        self.out = os.path.join(self.dir, "run")
        self.config = os.path.join(ROOT, "examples", "tiny.json")

    def test_train_writes_outputs_and_resumes(self):
        proc = run("train", self.config, "--out", self.out, "--steps", "4")
        self.assertIn("final (step 4)", proc.stdout)
        self.assertIn("BLAS", proc.stderr)
        for name in ["config.json", "curve.jsonl", "checkpoint.pt"]:
            self.assertTrue(os.path.exists(os.path.join(self.out, name)), name)
        effective = json.loads(read(os.path.join(self.out, "config.json")))
        self.assertEqual(effective["optim"]["steps"], 4)
        self.assertEqual(effective["model"]["n_units"], 32)

        # A second run into the same directory must not clobber the first.
        before = read(os.path.join(self.out, "checkpoint.pt"), "rb")
        proc = run("train", self.config, "--out", self.out, "--steps", "4", check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("--resume", proc.stderr)
        self.assertEqual(before, read(os.path.join(self.out, "checkpoint.pt"), "rb"))

        proc = run("train", self.config, "--out", self.out, "--steps", "6", "--resume")
        self.assertIn("final (step 6)", proc.stdout)
        self.assertIn("resuming", proc.stderr)
        lines = [json.loads(l) for l in read(os.path.join(self.out, "curve.jsonl")).splitlines()]
        self.assertEqual([l["step"] for l in lines], [4, 6])

    def test_warns_when_the_reference_blas_is_loaded(self):
        reference = "/usr/lib/x86_64-linux-gnu/blas"
        if not os.path.exists(os.path.join(reference, "libblas.so.3")):
            self.skipTest("the reference BLAS (libblas3) is not installed")
        env = dict(os.environ, LD_LIBRARY_PATH=reference)
        proc = run("train", self.config, "--out", self.out, "--steps", "1", check=False, env=env)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("BLAS reference BLAS", proc.stderr)
        self.assertIn("warning: the reference BLAS is loaded", proc.stderr)
        self.assertIn("libopenblas0-pthread", proc.stderr)
        # ... and with the normal set-up, no warning.
        self.assertNotIn("warning", run("train", self.config, "--out", self.out + "2", "--steps", "1").stderr)

    def test_bad_config_is_refused_with_the_key(self):
        bad = os.path.join(self.dir, "bad.json")
        for text, expected in [('{"loss": {"lambda_cap": -1}}', "loss.lambda_cap: -1 is out of range"),
                               ('{"loss": {"lamda_cap": 1}}', "loss.lamda_cap: unknown key"),
                               ('{"loss": ', "malformed JSON"),
                               ('{"run": {"device": "cuda"}}', "no CUDA device is available")]:
            write(bad, text)
            proc = run("train", bad, "--out", self.out, check=False)
            self.assertNotEqual(proc.returncode, 0)
            self.assertIn(expected, proc.stderr)
            self.assertEqual(len(proc.stderr.strip().splitlines()), 1, proc.stderr)
            self.assertFalse(os.path.exists(self.out))

    def test_config_prints_effective_config_and_keys(self):
        effective = json.loads(run("config", self.config).stdout)
        self.assertEqual(effective["model"]["n_units"], 32)         # from the file
        self.assertEqual(effective["loss"]["sigma_g"], 0.4)        # a default filled in
        defaults = json.loads(run("config").stdout)
        self.assertEqual(defaults["data"]["batch_size"], 130)
        keys = run("config", "--keys").stdout.splitlines()
        self.assertEqual(len(keys), sum(1 for _ in pd_leaves(defaults)))
        self.assertTrue(any(l.split()[:2] == ["loss.lambda_cap", "0.5"] for l in keys))
        bad = os.path.join(self.dir, "bad.json")
        write(bad, '{"optim": {"accumulate": 0}}')
        proc = run("config", bad, check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("optim.accumulate: 0 is out of range", proc.stderr)

    def test_usage_errors(self):
        self.assertNotEqual(run("train", self.config, check=False).returncode, 0)
        proc = run("frobnicate", check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("unknown command", proc.stderr)

    def test_help_names_every_command_and_option(self):
        # The usage text comes from the same table that runs the commands, so a
        # command or option cannot be missing from it (--from once was).
        text = run("--help").stdout
        for command in ("config", "train", "losses", "eval", "analyze"):
            self.assertIn("\n  %s " % command, text)
        for option in ("--keys", "--resume", "--from", "--steps", "--reduction", "--arena", "--arena-size"):
            self.assertIn(option, text)
        proc = run(check=False)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("usage: sic", proc.stderr)


if __name__ == "__main__":
    main()
