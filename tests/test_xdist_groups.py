"""Tests that share something run in one pytest-xdist worker (conftest.py's groups): `make test`
runs the tests that do not grade in two processes, and two workers building the book into one
_build/, or running the Colab-like notebooks twice, would race or waste minutes."""
import re
import subprocess
import sys

import pytest

from core import paths

pytestmark = pytest.mark.slow   # a pytest run of its own in two workers: seconds

GROUPED = ["tests/test_term_lms.py::test_the_term_gradebook_follows_hand_grades",   # two slow tests
           "tests/test_term_lms.py::test_the_lms_command_writes_both"]             # of one module
UNGROUPED = ["tests/test_layers.py"]


def run_in_two_workers(*tests: str) -> str:
    done = subprocess.run([sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-v",
                           "-p", "no:cacheprovider", *tests],
                          cwd=paths.ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_a_slow_module_runs_in_one_worker_under_its_group_name():
    out = run_in_two_workers(*GROUPED, *UNGROUPED)
    workers = {}
    for worker, test in re.findall(r"\[(gw\d)\] \[\s*\d+%\] PASSED (\S+)", out):
        workers[test] = worker
    grouped = [t for t in workers if "test_term_lms" in t]
    assert len(grouped) == 2 and all(t.endswith("@test_term_lms.py") for t in grouped), out[-3000:]
    assert len({workers[t] for t in grouped}) == 1, workers
    ungrouped = [t for t in workers if "test_layers" in t]
    assert ungrouped and not any("@" in t for t in ungrouped), ungrouped
