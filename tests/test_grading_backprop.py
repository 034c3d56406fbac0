"""Real nbgrader grading of the backpropagation chapter in one batch: the solved master, the
untouched student notebook, and the catalog zipped across the two exercises (submission i holds
variant i of both), with the expected score of every check cell."""
import itertools

import nbformat
import pytest

from autograder.checks.compare import CheckFailed
from core import paths
from tests.catalog.backprop import CORRECT, WRONG
from tests.helpers import feedback_errors, graded_fixture, student_notebook, with_answers
from tests.test_checks_backprop import CHECKS, student_object

CHAPTER = "05_backprop.ipynb"
POINTS = {"backward_update": 3.0, "value_local_gradients": 2.0, "value_backward": 3.0}
FULL = sum(POINTS.values())
N_WRONG = 6  # the batch stays small; tests/test_checks_backprop.py runs every catalog entry
pytestmark = pytest.mark.slow


def zipped(catalog: dict, count: int | None = None):
    """[(name, {exercise: code})]: entry i of every exercise (shorter lists cycle)."""
    names = {exercise: list(entries) for exercise, entries in catalog.items()}
    count = count or max(len(n) for n in names.values())
    cycles = {exercise: itertools.cycle(n) for exercise, n in names.items()}
    rows = []
    for _ in range(count):
        picked = {exercise: next(cycles[exercise]) for exercise in catalog}
        name = "__".join(picked[e] for e in catalog)
        rows.append((name, {e: catalog[e][picked[e]] for e in catalog}))
    return rows


def expected_scores(answers: dict) -> dict:
    """Per check cell: full points if the hidden check accepts the answer in-process, else 0."""
    scores = {}
    for exercise, code in answers.items():
        obj = student_object(exercise, code)
        for check_name in CHECKS[exercise]:
            from autograder.hidden import check
            try:
                check("backprop", check_name, obj)
                scores[check_name] = POINTS[check_name]
            except CheckFailed:
                scores[check_name] = 0.0
    return scores


def submissions():
    """name -> (notebook, {grade id: expected score})."""
    student = student_notebook(CHAPTER)
    cases = {
        "solved_master": (nbformat.read(str(paths.BOOK / CHAPTER), as_version=4), dict(POINTS)),
        "untouched": (student, {name: 0.0 for name in POINTS}),
    }
    for name, answers in zipped(WRONG, N_WRONG):
        cases[f"wrong__{name}"] = (with_answers(student, answers), expected_scores(answers))
    for name, answers in zipped(CORRECT):
        cases[f"correct__{name}"] = (with_answers(student, answers), dict(POINTS))
    return cases


graded = graded_fixture("backprop", submissions)


def test_the_batch_is_small_and_covers_the_issue_list():
    names = list(submissions())
    assert len(names) <= 12
    joined = " ".join(names)
    for mistake in ("forgot_bias_gradients", "transposed_weight_gradient", "mean_over_all_elements",
                    "gradient_overwritten", "topological_order_not_reversed"):
        assert mistake in joined, mistake


@pytest.mark.parametrize("name", sorted(submissions()))
def test_each_check_cell_gets_its_expected_score(graded, name):
    cases, results = graded.cases, graded.results
    expected, result = cases[name][1], results[name]
    assert result.status == "graded", result.notes
    assert result.max_total == FULL
    assert result.scores == expected, (result.scores, result.notes)
    if name.startswith("correct__"):
        assert expected == POINTS, name


def test_wrong_answers_lose_points_on_every_exercise(graded):
    cases, results = graded.cases, graded.results
    for name in cases:
        if name.startswith("wrong__"):
            scores = results[name].scores
            assert scores["backward_update"] == 0.0, name
            assert scores["value_local_gradients"] + scores["value_backward"] < 5.0, name


def test_feedback_names_the_mistake_and_hides_the_tests(graded):
    results = graded.results
    name = next(n for n in results if n.startswith("wrong__forgot_bias_gradients"))
    html = results[name].feedback.read_text()
    assert "backward did not change b1" in html       # the visible self-check fails first
    name = next(n for n in results if "visited_kept_between_calls" in n)
    html = results[name].feedback.read_text()    # passes the visible checks, fails a hidden one
    assert "CheckFailed" in html and "must build its order from scratch" in html
    assert "most recent call last" not in html and "hidden.py" not in html
    for secret in ("BEGIN HIDDEN TESTS", "autograder.hidden", "check_backward_update"):
        assert secret not in html, secret


def test_a_redefined_class_with_backward_inside_is_graded_and_told_one_story(graded):
    """Before: 0/3, the visible test printing 'backward matches autograd on every parameter.'
    and then 'NameError: name 'backward' is not defined' from the hidden block."""
    name = next(n for n in graded.results if "method_in_redefined_class" in n)
    result = graded.results[name]
    assert result.scores["backward_update"] == POINTS["backward_update"], (result.scores, result.notes)
    assert not any("NameError" in line for line in feedback_errors(result)), feedback_errors(result)
