"""The grader's own failures are never a student's result.

A kernel that cannot start (here: the sandbox is given no view of the environment's packages, the
failure a venv under /tmp used to cause) is reported with its root cause in one line, the full
log is kept under OUT, nothing is stored, and the next run grades the submission for real."""
from __future__ import annotations

import csv
import sys

import pytest

import autograder.worker as worker
from autograder.grade import grade
from tests.catalog.relu_approximation import CORRECT
from tests.helpers import student_notebook, with_answers, write

CHAPTER = "01_relu_approximation.ipynb"
pytestmark = [pytest.mark.slow, pytest.mark.grading]


@pytest.fixture(scope="module")
def submissions(tmp_path_factory):
    folder = tmp_path_factory.mktemp("submitted")
    student = student_notebook(CHAPTER)
    return {"ada": write(with_answers(student, {"approximate_function": CORRECT["loop"]}),
                         folder / "ada.ipynb"),
            "bo": write(student, folder / "bo.ipynb")}


def rows(out):
    with open(out / "grades.csv", newline="") as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}


def test_a_kernel_that_cannot_start_is_the_graders_fault_and_is_retried(
        submissions, tmp_path, monkeypatch):
    out = tmp_path / "grades"
    with monkeypatch.context() as patch:   # the kernel sees the interpreter but not the venv
        patch.setattr(worker, "readonly_paths", lambda bundle: [sys.base_prefix])
        broken = {r.student: r for r in grade("relu_approximation", submissions, out, workers=0)}
    for student in ("ada", "bo"):
        result = broken[student]
        assert result.status == "grader error", (result.status, result.notes)
        # the root cause in one line: a module the kernel cannot import (which one depends on
        # what this process's fork server had imported already)
        assert "the kernel did not start: " in result.reason, result.reason
        assert ("ModuleNotFoundError: No module named" in result.reason
                or "ImportError: cannot import name" in result.reason), result.reason
        assert "Please see the" not in result.reason and "above traceback" not in result.reason
        log = out / "grader-errors" / f"{student}.log"
        assert log.is_file() and "Traceback" in log.read_text()
    row = rows(out)["ada"]
    assert row["status"] == "grader error" and "Error: " in row["reason"]
    assert row["reason"].split("Error: ")[0].endswith(("ModuleNotFound", "Import")), row["reason"]
    assert not list((out / ".grader" / "results").glob("*.json")), "a grader failure was stored"

    fixed = {r.student: r for r in grade("relu_approximation", submissions, out, workers=0)}
    assert fixed["ada"].status == "graded" and fixed["ada"].total == 3.0 and not fixed["ada"].reused
    assert fixed["bo"].status == "graded" and fixed["bo"].total == 0.0
    assert not (out / "grader-errors" / "ada.log").exists(), "a stale log stays after grading"
    assert rows(out)["ada"]["total"] == "3"


def test_the_submissions_own_fault_is_its_result_and_is_kept(tmp_path):
    """Control: a file that is not a notebook fails as the student's result, stored as such."""
    bad = tmp_path / "cy.ipynb"
    bad.write_text("this is not a notebook")
    out = tmp_path / "grades"
    first = grade("relu_approximation", {"cy": bad}, out, workers=0)[0]
    assert first.status == "failed" and "not valid JSON" in first.reason
    assert not (out / "grader-errors").exists()


def test_one_process_grades_chapter_after_chapter_inline(submissions, tmp_path):
    """A new chapter needs a new kernel fork server; retiring the old one must keep this
    process's scratch folder, which already holds the next chapter's submission (the old server
    used to remove it: nbgrader then found no notebook, a 'grader error' for every student)."""
    spiral = write(student_notebook("04_spiral_split.ipynb"), tmp_path / "cy.ipynb")
    for chapter, files in (("relu_approximation", {"ada": submissions["ada"]}),
                           ("spiral_split", {"cy": spiral}),
                           ("relu_approximation", {"ada": submissions["ada"]})):
        results = grade(chapter, files, tmp_path / chapter, workers=0)
        assert [(r.status, r.notes) for r in results if r.status == "grader error"] == []
    assert {r.student: r.total for r in results} == {"ada": 3.0}
