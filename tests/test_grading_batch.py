"""Grading a whole batch: the bad-input corpus (every case gets its row, the batch never aborts,
originals keep their bytes), re-running (same scores, nothing regraded), a late submission, and
an interrupted run. The corpus grades on the session's running cluster (``scheduler=``, as on an
external Dask scheduler; the chapter batches, the class and the isolation tests grade there too),
the interrupted run on the command's own."""
import csv
import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.grade import grade
from core import paths
from tests.catalog.relu_approximation import CORRECT, WRONG
from tests.corpus.make_corpus import CASES, FULL, LMS_CASES, build_bad
from tests.helpers import student_notebook, with_answers, write

pytestmark = [pytest.mark.slow, pytest.mark.grading]
CHAPTER = "01_relu_approximation.ipynb"
LIMITS = {"timeout_cell": 6, "timeout_notebook": 90, "memory_gb": 2}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, grading_scheduler):
    root = tmp_path_factory.mktemp("corpus")
    build_bad(root, paths.ROOT)
    sources = [root / "bad", root / "bad_lms.zip"]
    before = {p: sha(p) for p in root.rglob("*") if p.is_file()}
    out = root / "out"
    results = grade("relu_approximation", sources, out, scheduler=grading_scheduler, **LIMITS)
    return {"root": root, "sources": sources, "out": out, "before": before,
            "results": {r.student: r for r in results}, "scheduler": grading_scheduler}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_bad_input_gets_its_row(corpus, case):
    status, phrase, total = CASES[case]
    result = corpus["results"][case]
    assert result.status == status, result.notes
    if phrase:
        assert phrase in result.reason, result.reason
    if total == "lost":
        assert result.total < FULL, result.scores
    elif total is not None:
        assert result.total == total, (result.scores, result.reason)


@pytest.mark.parametrize("case", sorted(LMS_CASES))
def test_each_archive_case_gets_its_row(corpus, case):
    student, status, phrase, total = LMS_CASES[case]
    result = corpus["results"][student]
    assert result.status == status, result.notes
    if phrase:
        assert phrase in result.reason
    if total is not None:
        assert result.total == total


def test_every_submission_has_a_row_and_the_csv_imports(corpus):
    rows = list(csv.DictReader((corpus["out"] / "grades.csv").open(encoding="utf-8")))
    assert len(rows) == len(CASES) + len(LMS_CASES) == len(corpus["results"])
    assert all(row["status"] in ("graded", "needs review", "failed") for row in rows)
    assert all(row["max"] == "3" for row in rows)
    assert all(row["reason"] for row in rows if row["status"] != "graded")
    review = list(csv.DictReader((corpus["out"] / "needs_review.csv").open(encoding="utf-8")))
    assert {r["student_id"] for r in review} == {
        r.student for r in corpus["results"].values() if r.status != "graded"}


def test_originals_keep_their_bytes_and_nothing_escapes(corpus):
    assert {p: sha(p) for p in corpus["before"]} == corpus["before"]
    assert not (paths.ROOT / "PWNED.txt").exists() and not Path("/tmp/PWNED.txt").exists()
    unpacked = corpus["out"] / "submissions"
    assert all(p.resolve().is_relative_to(unpacked.resolve()) for p in unpacked.rglob("*"))
    assert not (corpus["root"].parent / "escape").exists()


def test_feedback_has_messages_but_no_hidden_code_or_its_traceback(corpus):
    for result in corpus["results"].values():
        if result.feedback is None:
            continue
        html = result.feedback.read_text()
        for secret in ("BEGIN HIDDEN TESTS", 'check("relu_approximation", "approximate_function',
                       "most recent call last", "oracle.py", "kernel_client"):
            assert secret not in html, (result.student, secret)
    html = corpus["results"]["skip_execution_tags"].feedback.read_text()
    assert "CheckFailed: x (third output) is wrong" in html


def test_a_second_run_regrades_nothing_and_gives_the_same_rows(corpus):
    first = (corpus["out"] / "grades.csv").read_text()
    again = grade("relu_approximation", corpus["sources"], corpus["out"],
                  scheduler=corpus["scheduler"], **LIMITS)
    assert all(r.reused or r.status == "failed" for r in again)
    assert (corpus["out"] / "grades.csv").read_text() == first


def test_a_late_submission_is_graded_alone(corpus, tmp_path):
    late = corpus["root"] / "bad" / "late_student.ipynb"
    write(with_answers(student_notebook(CHAPTER), {"approximate_function": CORRECT["vectorised"]}),
          late)
    try:
        results = {r.student: r for r in grade("relu_approximation", corpus["sources"],
                                                corpus["out"], scheduler=corpus["scheduler"],
                                                **LIMITS)}
    finally:
        late.unlink()
    fresh = [r.student for r in results.values() if not r.reused and r.status != "failed"]
    assert fresh == ["late_student"] and results["late_student"].total == FULL


def test_an_interrupted_run_picks_up_where_it_stopped(tmp_path, grading_scheduler):
    """Ctrl-C after the second result (raised where the instructor's would arrive: while results
    come in) stops the command's own cluster; the command run again (on the session's running
    cluster: a second cluster start would prove nothing more) grades exactly the rest, and the
    rows are complete."""
    student = student_notebook(CHAPTER)
    folder = tmp_path / "subs"
    answers = [CORRECT["loop"], WRONG["bias_sign_flipped"], CORRECT["vectorised"],
               WRONG["outputs_in_wrong_order"], CORRECT["column_shaped_y_hat"], CORRECT["loop"]]
    for i, code in enumerate(answers):
        write(with_answers(student, {"approximate_function": code}), folder / f"s{i}.ipynb")
    out = tmp_path / "out"
    arrived = []

    def interrupt_after_two(result):
        arrived.append(result.student)
        if len(arrived) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        grade("relu_approximation", [folder], out, workers=1, on_result=interrupt_after_two,
              **LIMITS)
    store = out / ".grader" / "results"
    assert len(list(store.glob("*.json"))) == 2
    command = [sys.executable, "-m", "course", "grade", "relu_approximation", str(folder),
               "--out", str(out), "--scheduler", grading_scheduler, "--no-progress",
               "--timeout-cell", str(LIMITS["timeout_cell"]),
               "--timeout-notebook", str(LIMITS["timeout_notebook"]),
               "--memory", str(LIMITS["memory_gb"])]   # the same limits: the same keys
    done = subprocess.run(command, cwd=paths.ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Grading {len(answers) - 2} submission(s)" in done.stdout
    rows = {r["student_id"]: r for r in csv.DictReader((out / "grades.csv").open())}
    assert [rows[f"s{i}"]["total"] for i in range(6)] == ["3", "1", "3", "0", "3", "3"]

