"""Real nbgrader grading of the general-MLP chapter, in one batch through the instructors' grading
command: the solved master, the untouched student notebook, and the catalog zipped across the two
exercises (submission i holds wrong answer i of MLP and of Net; likewise for the correct ones)."""

import pytest

from tests.catalog import general_mlp as catalog
from tests.catalog.general_mlp import CHAPTER, SLUG
from tests.helpers import (assert_zipped_points, check_points, feedback_errors, graded_fixture,
                           zipped_submissions)

POINTS = check_points(CHAPTER)
FULL = sum(POINTS.values())
pytestmark = [pytest.mark.slow, pytest.mark.grading]


def submissions() -> dict:
    return zipped_submissions(catalog, POINTS)


graded = graded_fixture(SLUG, submissions)


def test_the_batch_is_small():
    assert len(submissions()) <= 16


@pytest.mark.parametrize("name", sorted(submissions()))
def test_each_exercise_gets_its_expected_points(graded, name):
    expected, result = graded.cases[name][1], graded.results[name]
    assert result.status == "graded", result.notes
    assert result.max_total == FULL
    assert_zipped_points(catalog, POINTS, name, expected, result)


def test_feedback_names_the_mistake_and_hides_the_tests(graded):
    cases, results = graded.cases, graded.results
    name = next(n for n in cases if n.startswith("wrong_") and "forward_casts_to_float32" in n)
    html = results[name].feedback.read_text()  # passes the visible checks, fails a hidden one
    assert "CheckFailed" in html and "do not convert or move the input inside forward" in html
    for secret in ("BEGIN HIDDEN TESTS", "autograder.hidden", "from autograder", "check_net"):
        assert secret not in html, secret


def test_pytorch_errors_reach_the_student_translated(graded):
    """Before: 'RuntimeError: mat1 and mat2 shapes cannot be multiplied (20x4 and 16x8)' alone."""
    name = next(n for n in graded.results if n.startswith("wrong_") and "forward_does_not_flatten" in n)
    errors = "\n".join(feedback_errors(graded.results[name]))
    # the visible assert fails first (so the hidden check does not run): it names the shape
    assert "fails on an input of shape (5, 1, 4, 4)" in errors, errors
    assert "reshape x to (-1, input_feature_num)" in errors, errors
