"""Real nbgrader grading of the MNIST chapter, in one batch through the instructors' command:

- the solved master: full marks on every check cell; the untouched student notebook: 0;
- five submissions zipping the catalog's first five WRONG answers of every exercise (submission i
  holds wrong answer i of each): each check cell gets what the in-process checks give, and every
  exercise loses points;
- four submissions zipping the CORRECT answers (every correct answer of every exercise): full marks.

Every catalog entry runs through the hidden checks in tests/test_checks_catalogs.py. The notebooks
read MNIST from a provisioned folder (course/mnist_data.py) through $MLP_COURSE_DATA, as the
grader's sandbox gives it to them.
"""
import nbformat
import pytest

from core import mnist_data, paths
from tests.catalog import mnist as catalog
from tests.catalog.mnist import CHAPTER, CHECKS, CORRECT, SLUG, WRONG
from tests.helpers import (assert_points, check_points, expected_points, feedback_errors,
                           graded_fixture, student_notebook, with_answers)

POINTS = check_points(CHAPTER)
WRONG_IN_BATCH = 5
CORRECT_IN_BATCH = max(len(v) for v in CORRECT.values())
pytestmark = [pytest.mark.slow, pytest.mark.grading]


def submissions():
    """name -> (notebook, the points of each check cell; for a wrong row, its answers: see
    expectation)."""
    student = student_notebook(CHAPTER)
    cases = {
        "solved_master": (nbformat.read(str(paths.BOOK / CHAPTER), as_version=4), POINTS),
        "untouched": (student, dict.fromkeys(POINTS, 0.0)),
    }
    for i in range(WRONG_IN_BATCH):
        answers = {ex: list(WRONG[ex].values())[i] for ex in CHECKS}
        cases[f"wrong_{i}"] = (with_answers(student, answers), answers)
    for i in range(CORRECT_IN_BATCH):
        answers = {ex: list(CORRECT[ex].values())[i % len(CORRECT[ex])] for ex in CHECKS}
        cases[f"correct_{i}"] = (with_answers(student, answers), POINTS)
    return cases


def expectation(name: str, expected: dict) -> dict:
    """The points a case must get: a wrong row gets what the in-process checks give its answers
    (computed when a test asks, not while pytest collects: they run the checks)."""
    return expected_points(catalog, expected, POINTS) if name.startswith("wrong_") else expected


graded = graded_fixture(SLUG, submissions, env={"MLP_COURSE_DATA": mnist_data.provision})


def test_the_batch_is_small_and_holds_every_correct_answer():
    cases = submissions()
    assert len(cases) <= 12
    assert set(POINTS) == {c for checks in CHECKS.values() for c in checks}
    for name, (_, expected) in cases.items():
        expected = expectation(name, expected)
        if name.startswith("wrong_"):   # every exercise loses points
            for exercise, checks in CHECKS.items():
                assert sum(expected[c] for c in checks) < sum(POINTS[c] for c in checks), (name, exercise)


@pytest.mark.parametrize("name", sorted(submissions()))
def test_each_check_cell_gets_its_expected_points(graded, name):
    expected, result = expectation(name, graded.cases[name][1]), graded.results[name]
    assert result.status == "graded", result.notes
    assert result.max_total == sum(POINTS.values())
    assert_points(result, expected, name)


def test_the_grader_runs_the_shortened_chapter(graded):
    """Under the grader ($NBGRADER_EXECUTION) the chapter trains one epoch on 3000 images, not
    five on 60 000 (how long that takes is benchmarks/grading_throughput.py's business)."""
    html = graded.results["solved_master"].feedback.read_text()
    assert "1 epochs in" in html and "Converted 3000 + 1000 images" in html
    assert "5 epochs in" not in html


def test_feedback_names_the_mistake_and_hides_the_hidden_tests(graded):
    result = graded.results["wrong_0"]   # no zero_grad, softmax in the model, ...
    html = result.feedback.read_text()
    assert "after train() the weights differ from one epoch of the six steps" in html
    assert "that is a softmax" in html
    for secret in ("BEGIN HIDDEN TESTS", "autograder.hidden", "check_train"):
        assert secret not in html, secret
    assert feedback_errors(result), "the feedback page lists no error"
