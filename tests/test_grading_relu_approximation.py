"""Real nbgrader grading of the ReLU chapter: the catalog, the untouched and solved notebooks,
and the known nbgrader traps, all in one batch through the instructors' grading command."""
import copy
import re

import nbformat
import pytest

from core import paths
from tests.catalog import relu_approximation as catalog
from tests.catalog.relu_approximation import CHAPTER, CORRECT, EXERCISE, SLUG, WRONG
from tests.helpers import (assert_points, check_points, expected_points, feedback_errors, find_cell,
                           graded_fixture,
                           student_notebook, with_answers)

POINTS = check_points(CHAPTER)
FULL = sum(POINTS.values())
ZERO = dict.fromkeys(POINTS, 0.0)
pytestmark = [pytest.mark.slow, pytest.mark.grading]


def tag_test_cells(nb, tag):
    for cell in nb.cells:
        if cell.source.startswith("#| check"):
            cell.metadata.setdefault("tags", []).append(tag)
    return nb


def drop_test_cells(nb):
    nb.cells = [c for c in nb.cells if not c.source.startswith("#| check")]
    return nb


def strip_metadata(nb):
    for cell in nb.cells:
        cell.metadata = {}
    nb.metadata = {}
    return nb


def duplicate_answer_cell(nb):
    answer = find_cell(nb, "exercise", "approximate_function")
    nb.cells.insert(nb.cells.index(answer), copy.deepcopy(answer))  # same id and metadata twice
    return nb


def move_tests_before_answer(nb):
    tests = [c for c in nb.cells if c.source.startswith("#| check")]
    rest = [c for c in nb.cells if c not in tests]
    first_code = next(i for i, c in enumerate(rest) if c.cell_type == "code")
    nb.cells = rest[:first_code] + tests[::-1] + rest[first_code:]
    return nb


def as_nbformat_40(nb):
    nb = copy.deepcopy(nb)
    nb.nbformat_minor = 0
    for cell in nb.cells:
        cell.pop("id", None)
    return nb


WARNS = CORRECT["loop"].replace(
    "    return y_hat", "    import warnings; warnings.warn('slow loop ahead')\n    return y_hat")


def submissions():
    """name -> (notebook, expected points per check cell: exact, or "lost" for the traps that
    must not keep full marks whatever the cell they lose)."""
    student = student_notebook(CHAPTER)
    correct = with_answers(student, {EXERCISE: CORRECT["loop"]})
    wrong = with_answers(student, {EXERCISE: WRONG["weights_not_differenced"]})
    cases = {
        "solved_master": (nbformat.read(str(paths.BOOK / CHAPTER), as_version=4), POINTS),
        "untouched": (student, ZERO),
        "skip_tags_on_wrong": (tag_test_cells(copy.deepcopy(wrong), "skip-execution"), "lost"),
        "raises_tag_on_wrong": (tag_test_cells(copy.deepcopy(wrong), "raises-exception"), "lost"),
        "stderr_warning": (with_answers(student, {EXERCISE: WARNS}), POINTS),
        "tests_deleted_correct": (drop_test_cells(copy.deepcopy(correct)), POINTS),
        "tests_deleted_wrong": (drop_test_cells(copy.deepcopy(wrong)), "lost"),
        "metadata_stripped": (strip_metadata(copy.deepcopy(correct)), POINTS),
        "duplicated_cell": (duplicate_answer_cell(copy.deepcopy(correct)), POINTS),
        "tests_reordered": (move_tests_before_answer(copy.deepcopy(correct)), POINTS),
        "nbformat_4_0": (as_nbformat_40(correct), POINTS),
    }
    for name, code in CORRECT.items():
        cases[f"correct_{name}"] = (with_answers(student, {EXERCISE: code}), POINTS)
    for name, code in WRONG.items():
        cases[f"wrong_{name}"] = (with_answers(student, {EXERCISE: code}), (EXERCISE, code))
    return cases


def expectation(expected):
    """The points a case must get: a wrong answer gets what the in-process checks give it."""
    if isinstance(expected, tuple):
        return expected_points(catalog, dict([expected]), POINTS)
    return expected


graded = graded_fixture(SLUG, submissions)


@pytest.mark.parametrize("name", sorted(submissions()))
def test_each_submission_gets_its_expected_grade(graded, name):
    expected, result = graded.cases[name][1], graded.results[name]
    assert result.status == "graded", result.notes
    assert result.max_total == FULL
    if expected == "lost":
        assert result.total < FULL, f"{name} kept full marks"
    else:
        assert_points(result, expectation(expected), name)
    if name.startswith("wrong_"):
        assert result.total < FULL, f"{name} kept full marks"


def test_untouched_notebook_scores_zero_on_every_cell(graded):
    results = graded.results
    assert set(results["untouched"].scores.values()) == {0.0}


def test_repairs_are_reported(graded):
    results = graded.results
    assert any("missing: restored" in n for n in results["tests_deleted_wrong"].notes)
    assert any("appeared 2 times" in n for n in results["duplicated_cell"].notes)
    assert any("out of order" in n for n in results["tests_reordered"].notes)


def test_originals_are_never_modified(graded):
    assert graded.before == graded.after


def test_feedback_shows_messages_but_no_hidden_tests(graded):
    results = graded.results
    visible = results["wrong_weights_not_differenced"].feedback.read_text()
    assert "AssertionError: y_hat should pass straight through the training points" in visible
    html = results["wrong_hardcoded_sine_range"].feedback.read_text()  # passes the visible test
    for secret in ("BEGIN HIDDEN TESTS", "autograder.hidden", "from autograder", "check_approximate"):
        assert secret not in html, secret
    assert "most recent call last" not in html and "hidden.py" not in html
    assert "CheckFailed: x (third output) is wrong" in html


def test_feedback_names_the_mistake_and_no_other(graded):
    """Before: a wrong return order, or biases from the last points, read 'check the sign of the
    biases' (a visible assert), and too few points on x 'Return the three tensors in the order'."""
    for name in ("outputs_in_wrong_order", "bends_one_point_late", "too_few_points_on_x"):
        errors = "\n".join(feedback_errors(graded.results[f"wrong_{name}"]))
        assert re.search(catalog.MISTAKES[name], errors, re.I), (name, errors)
        for other, pattern in catalog.MISTAKES.items():
            if pattern != catalog.MISTAKES[name]:
                assert not re.search(pattern, errors, re.I), (name, other, errors)


def test_grades_csv_has_a_row_per_submission(graded, tmp_path):
    cases, results = graded.cases, graded.results
    csv_text = next(iter(results.values())).feedback.parents[4].joinpath("grades.csv").read_text()
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("student_id,approximate_function_shapes,approximate_function_values,total")
    assert len(lines) == 1 + len(cases)
