"""Real nbgrader grading of the cross-entropy chapter, in one batch through the instructors'
grading command: the solved master, the untouched student notebook, every correct answer and a
selection of wrong ones that together fail each of the three checks (every wrong answer of the
catalog is graded in-process by tests/test_checks_cross_entropy.py)."""
import warnings

import nbformat
import pytest

from autograder.grade import grade
from core import paths
from tests.catalog.cross_entropy import (ATTACKS, CHECKS, CORRECT, LOSES, STABLE, VALUES,
                                         VECTORISED, WRONG)
from tests.helpers import student_notebook, with_answers

CHAPTER = "03_cross_entropy.ipynb"
EXERCISE = "cross_entropy_loss"
POINTS = CHECKS[EXERCISE]
FULL = sum(POINTS.values())
GRADED_WRONG = ["tutorial_loop_direct_formula", "shift_by_global_max", "log_of_softmax_underflows",
                "sum_instead_of_mean", "returns_python_float", "casts_to_float32", "calls_the_builtin"]
pytestmark = pytest.mark.slow


def submissions():
    """name -> (notebook, {check id: expected points})."""
    student = student_notebook(CHAPTER)
    cases = {
        "solved_master": (nbformat.read(str(paths.BOOK / CHAPTER), as_version=4), dict(POINTS)),
        "untouched": (student, dict.fromkeys(POINTS, 0.0)),
    }
    for name, code in CORRECT[EXERCISE].items():
        cases[f"correct_{name}"] = (with_answers(student, {EXERCISE: code}), dict(POINTS))
    for name in GRADED_WRONG:
        expected = {c: (0.0 if c in LOSES[name] else p) for c, p in POINTS.items()}
        cases[f"wrong_{name}"] = (with_answers(student, {EXERCISE: WRONG[EXERCISE][name]}), expected)
    for name, code in ATTACKS[EXERCISE].items():   # full marks before the checks were hardened
        expected = {c: (0.0 if c == VECTORISED else p) for c, p in POINTS.items()}
        cases[f"attack_{name}"] = (with_answers(student, {EXERCISE: code}), expected)
    return cases


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("submitted")
    cases = submissions()
    files = {}
    for name, (nb, _) in cases.items():
        files[name] = folder / f"{name}.ipynb"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nbformat.write(nb, str(files[name]))
    results = grade("cross_entropy", files, tmp_path_factory.mktemp("grades"))
    return cases, {r.student: r for r in results}


def test_the_selection_covers_every_check():
    assert len(submissions()) <= 17
    assert set().union(*(LOSES[name] for name in GRADED_WRONG)) == {VALUES, STABLE, VECTORISED}


@pytest.mark.parametrize("name", sorted(submissions()))
def test_each_check_gets_its_expected_points(graded, name):
    cases, results = graded
    expected, result = cases[name][1], results[name]
    assert result.status == "graded", result.notes
    assert result.max_total == FULL
    assert result.scores == expected, (result.scores, result.notes)


def test_the_tutorials_own_answer_keeps_the_value_points(graded):
    _, results = graded
    scores = results["wrong_tutorial_loop_direct_formula"].scores
    assert scores[VALUES] == POINTS[VALUES] and scores[STABLE] == 0 and scores[VECTORISED] == 0


def test_feedback_names_the_mistake_and_hides_the_tests(graded):
    _, results = graded
    html = results["wrong_casts_to_float32"].feedback.read_text()  # passes the visible checks
    assert "CheckFailed" in html and "should return a torch.float64 loss" in html
    for secret in ("BEGIN HIDDEN TESTS", "autograder.hidden", "from autograder", "check_cross"):
        assert secret not in html, secret
