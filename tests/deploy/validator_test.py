#!/usr/bin/python3
"""The manifest validator (deploy/validate/validate.mjs): every overlay of
deploy/k8s must pass, and each broken fixture must fail with its error, so a
validator that accepts everything cannot pass these tests.

usage: validator_test.py SOURCE_DIR [unittest args]"""

import os
import shutil
import subprocess
import sys
import unittest

SOURCE = None
HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")


def validate(*inputs):
    """Runs the validator from the source root, as the docs show it."""
    script = os.path.join(SOURCE, "deploy", "validate", "validate.mjs")
    return subprocess.run(["node", script, *inputs], cwd=SOURCE, capture_output=True, text=True, timeout=300)


class Preflight(unittest.TestCase):
    """What the validator needs, named when it is missing (never a skip)."""

    def test_tools(self):
        self.assertTrue(shutil.which("node"), "node not found: run scripts/bootstrap (it installs nodejs)")
        self.assertTrue(shutil.which("kubectl"),
                        "kubectl not found: install kubectl >= 1.27 (https://kubernetes.io/docs/tasks/tools/)")
        modules = os.path.join(SOURCE, "deploy", "validate", "node_modules")
        for package in ("kubernetes-models", "@kubernetes-models/keda", "typescript", "yaml"):
            self.assertTrue(os.path.isdir(os.path.join(modules, package)),
                            "%s missing in deploy/validate/node_modules: run scripts/bootstrap (npm ci)" % package)


class Manifests(unittest.TestCase):
    def test_every_overlay_is_valid(self):
        r = validate("deploy/k8s")
        sys.stderr.write(r.stdout + r.stderr)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # Every overlay rendered, each with its dozen objects.
        for overlay in ("overlays/gpu ", "overlays/cpu ", "overlays/gpu-jobs ", "overlays/lab ", "backup "):
            self.assertIn("deploy/k8s/" + overlay, r.stdout)
        self.assertIn(": 0 errors", r.stdout)


class Rejects(unittest.TestCase):
    def assertRejected(self, fixture, *needles):
        r = validate(os.path.relpath(os.path.join(FIXTURES, fixture), SOURCE))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        for needle in needles:
            self.assertIn(needle, r.stdout)

    def test_good_fixture_passes(self):
        r = validate(os.path.relpath(os.path.join(FIXTURES, "good.yaml"), SOURCE))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("2 objects", r.stdout)

    def test_wrong_type(self):
        self.assertRejected("wrong-type.yaml", "Deployment/w: data/spec/replicas must be integer")

    def test_unknown_kind(self):
        self.assertRejected("unknown-kind.yaml", "unknown kind apps/v1 Deploymnet")

    def test_unknown_group(self):
        self.assertRejected("unknown-group.yaml", "unknown kind example.com/v1 Widget")

    def test_unknown_field(self):
        self.assertRejected("unknown-field.yaml", "'\"terminationGracePeriodSecond\"' does not exist in type 'IPodSpec'")

    def test_keda_trigger_metadata_must_be_strings(self):
        self.assertRejected("keda-bad-trigger.yaml", "triggers/0/metadata/streamLength must be string")

    def test_keda_metrics_api_trigger_and_its_auth(self):
        self.assertRejected("keda-bad-metrics-api.yaml", "triggers/0/metadata/targetValue must be string",
                            "TriggerAuthentication/t: data/spec/secretTargetRef/0 must have required property key")

    def test_keda_required_field(self):
        self.assertRejected("keda-missing-target.yaml", "must have required property jobTargetRef")

    def test_file_no_kustomization_uses(self):
        self.assertRejected("unused", "unused/forgotten.yaml: used by no kustomization")

    def test_kustomization_that_does_not_render(self):
        self.assertRejected("broken", "missing.yaml: no such file or directory", "broken: does not render")

    def test_usage(self):
        r = validate()
        self.assertEqual(r.returncode, 2)


if __name__ == "__main__":
    SOURCE = os.path.abspath(sys.argv.pop(1))
    unittest.main()
