"""Real nbgrader grading of the cross-entropy chapter, in one batch through the instructors'
grading command: the solved master, the untouched student notebook, every correct answer, a
selection of wrong ones that together fail each of the three checks, and the attacks on the
vectorised check (every wrong answer of the catalog runs through the hidden checks in
tests/test_checks_catalogs.py and tests/test_checks_cross_entropy.py)."""
import nbformat
import pytest

from core import paths
from tests.catalog.cross_entropy import (ATTACKS, CHAPTER, CORRECT, LOSES, SLUG, STABLE, VALUES,
                                         VECTORISED, WRONG)
from tests.helpers import (assert_points, check_points, feedback_errors, graded_fixture,
                           student_notebook, with_answers)

EXERCISE = "cross_entropy_loss"
POINTS = check_points(CHAPTER)
GRADED_WRONG = ["tutorial_loop_direct_formula", "shift_by_global_max", "log_of_softmax_underflows",
                "sum_instead_of_mean", "returns_python_float", "casts_to_float32", "calls_the_builtin",
                "max_without_keepdim", "sign_flipped"]
pytestmark = [pytest.mark.slow, pytest.mark.grading]


def losing(lost) -> dict[str, float]:
    """The points of each check cell for an answer that loses the checks in ``lost``."""
    return {c: (0.0 if c in lost else p) for c, p in POINTS.items()}


def submissions():
    """name -> (notebook, the points of each check cell)."""
    student = student_notebook(CHAPTER)
    cases = {
        "solved_master": (nbformat.read(str(paths.BOOK / CHAPTER), as_version=4), POINTS),
        "untouched": (student, losing(POINTS)),
    }
    for name, code in CORRECT[EXERCISE].items():
        cases[f"correct_{name}"] = (with_answers(student, {EXERCISE: code}), POINTS)
    for name in GRADED_WRONG:
        cases[f"wrong_{name}"] = (with_answers(student, {EXERCISE: WRONG[EXERCISE][name]}),
                                  losing(LOSES[name]))
    for name, code in ATTACKS[EXERCISE].items():   # full marks before the checks were hardened
        cases[f"attack_{name}"] = (with_answers(student, {EXERCISE: code}), losing({VECTORISED}))
    return cases


graded = graded_fixture(SLUG, submissions)


def test_the_selection_covers_every_check():
    assert len(submissions()) <= 20
    assert set().union(*(LOSES[name] for name in GRADED_WRONG)) == {VALUES, STABLE, VECTORISED}


@pytest.mark.parametrize("name", sorted(submissions()))
def test_each_check_gets_its_expected_points(graded, name):
    expected, result = graded.cases[name][1], graded.results[name]
    assert result.status == "graded", result.notes
    assert result.max_total == sum(POINTS.values())
    assert_points(result, expected, name)


def test_the_tutorials_own_answer_keeps_the_value_points(graded):
    scores = graded.results["wrong_tutorial_loop_direct_formula"].scores
    assert scores[VALUES] == POINTS[VALUES] and scores[STABLE] == 0 and scores[VECTORISED] == 0


def test_feedback_names_the_mistake_and_hides_the_tests(graded):
    html = graded.results["wrong_casts_to_float32"].feedback.read_text()  # passes the visible checks
    assert "CheckFailed" in html and "should return a torch.float64 loss" in html
    for secret in ("BEGIN HIDDEN TESTS", "autograder.hidden", "from autograder", "check_cross"):
        assert secret not in html, secret


def test_a_row_maximum_without_keepdim_is_told_so_by_the_visible_tests(graded):
    """Before: 'RuntimeError: The size of tensor a (4) must match the size of tensor b (2) at
    non-singleton dimension 1' alone, from every visible test (each check cell now explains it)."""
    errors = feedback_errors(graded.results["wrong_max_without_keepdim"])
    assert any("keepdim=True" in line for line in errors), errors
