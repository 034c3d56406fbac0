"""A realistic class end to end, by the README's instructor command: 54 submissions downloaded
from Canvas and Moodle (Colab file names, correct, partly wrong and broken ones, a late one, a
.py instead of the notebook, an empty file, an infinite loop), one zip, one command.

The command grades on the session's running Dask cluster (``--scheduler``, as on a course's
cluster); the command's own cluster is what the layout and interrupted-run tests start."""
import csv
import subprocess
import sys

import pytest

from core import paths
from tests.corpus.make_corpus import FULL, build_class

pytestmark = [pytest.mark.slow, pytest.mark.grading]


@pytest.fixture(scope="module")
def graded(tmp_path_factory, grading_scheduler):
    root = tmp_path_factory.mktemp("class")
    archive, expected = build_class(root)
    out = root / "grades"
    done = subprocess.run([sys.executable, "-m", "course", "grade", "01", str(archive), "--out",
                           str(out), "--scheduler", grading_scheduler, "--timeout-cell", "5"],
                          cwd=paths.ROOT, capture_output=True, text=True, timeout=900)
    rows = {r["student_id"]: r for r in csv.DictReader((out / "grades.csv").open(encoding="utf-8"))}
    return done, rows, expected, out


def test_the_command_succeeds_and_summarises(graded):
    done, rows, expected, out = graded
    assert done.returncode == 0, done.stdout + done.stderr
    assert "54 submissions" in done.stdout and "Need a human" in done.stdout
    assert f"Grades: {out / 'grades.csv'}" in done.stdout


def test_every_student_gets_the_expected_grade(graded):
    _, rows, expected, _ = graded
    assert set(rows) == set(expected)
    for student, (kind, want) in expected.items():
        row = rows[student]
        if want == "failed":
            assert row["status"] == "failed" and row["reason"], (kind, row)
        elif want == "lost":
            assert row["status"] == "graded" and float(row["total"]) < FULL, (kind, row)
        else:
            assert row["status"] == "graded" and float(row["total"]) == want, (kind, row)


def test_rows_carry_names_files_and_lms_notes(graded):
    _, rows, expected, out = graded
    late = [r for r in rows.values() if "LATE" in r["reason"]]
    assert late and all("_LATE_" in r["file"] for r in late)
    moodle = [r for r in rows.values() if "assignsubmission" in r["file"]]
    assert moodle and all(" " in r["name"] for r in moodle)   # "First Last"
    for student, row in rows.items():
        if row["status"] != "failed":
            assert (out / "nbgrader" / "feedback" / student).is_dir()
