"""Real nbgrader grading of the general-MLP chapter, in one batch through the instructors' grading
command: the solved master, the untouched student notebook, and the catalog zipped across the two
exercises (submission i holds wrong answer i of MLP and of Net; likewise for the correct ones)."""
import itertools

import nbformat
import pytest

from core import paths
from tests.catalog import general_mlp as catalog
from tests.catalog.general_mlp import CHAPTER, CHECKS, CORRECT, SLUG, SOLVED, WRONG
from tests.helpers import (assert_points, check_points, expected_points, feedback_errors,
                           graded_fixture, student_notebook, with_answers)

POINTS = check_points(CHAPTER)
FULL = sum(POINTS.values())
pytestmark = pytest.mark.slow


def zipped(catalog: dict) -> list[dict]:
    """[{exercise: (variant, code)}]: the i-th variant of every exercise, the solved answer where an
    exercise has fewer variants (marked None, so that its checks are expected at full marks)."""
    columns = [[(name, code) for name, code in sorted(catalog[e].items())] for e in CHECKS]
    rows = itertools.zip_longest(*columns)
    return [{e: cell or (None, SOLVED[e]) for e, cell in zip(CHECKS, row)} for row in rows]


def submissions():
    """name -> (notebook, the answers per exercise, or the points per check cell)."""
    student = student_notebook(CHAPTER)
    cases = {
        "solved_master": (nbformat.read(str(paths.BOOK / CHAPTER), as_version=4), POINTS),
        "untouched": (student, dict.fromkeys(POINTS, 0.0)),
    }
    for kind, catalog_ in (("wrong", WRONG), ("correct", CORRECT)):
        for i, row in enumerate(zipped(catalog_)):
            answers = {e: code for e, (_, code) in row.items()}
            label = "+".join(name or "solved" for name, _ in row.values())
            cases[f"{kind}_{i}_{label}"] = (with_answers(student, answers),
                                             answers if kind == "wrong" else POINTS)
    return cases


graded = graded_fixture(SLUG, submissions)


def test_the_batch_is_small():
    assert len(submissions()) <= 16


@pytest.mark.parametrize("name", sorted(submissions()))
def test_each_exercise_gets_its_expected_points(graded, name):
    expected, result = graded.cases[name][1], graded.results[name]
    assert result.status == "graded", result.notes
    assert result.max_total == FULL
    if name.startswith("wrong_"):   # answers: what the in-process checks give, and less than full
        for exercise, code in expected.items():
            if code != SOLVED[exercise]:
                assert sum(result.scores[c] for c in CHECKS[exercise]) < sum(CHECKS[exercise].values()), \
                    (name, exercise, result.scores)
        expected = expected_points(catalog, expected, POINTS)
    assert_points(result, expected, name)


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
