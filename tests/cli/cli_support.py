"""What the CLI tests share: the `sic` under test, running it, files, temp dirs.

Each test script is run as `TEST.py PATH/TO/sic PROJECT_DIR` (see tests/CMakeLists.txt).
"""
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

SIC = sys.argv[1] if len(sys.argv) > 1 else "build/tools/sic/sic"
ROOT = sys.argv[2] if len(sys.argv) > 2 else "."


def run(*args, check=True, env=None):
    """Runs `sic ARGS`; with check, a non-zero exit fails the test with its stderr."""
    proc = subprocess.run([SIC, *args], capture_output=True, text=True, timeout=300, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"sic {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
    return proc


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def write(path, data, mode="w"):
    with open(path, mode) as f:
        f.write(data)


class TempDirTest(unittest.TestCase):
    """A test case with a fresh temporary directory, self.dir, per test."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def save(self, name, array):
        path = os.path.join(self.dir, name)
        np.save(path, array)
        return path


def main():
    unittest.main(argv=[sys.argv[0], "-v"])
