"""Real nbgrader grading of the LIF chapter, in one batch through the instructors' command: the
solved master, the untouched student notebook, every correct answer of the catalog (with Think!
answers written, so they wait for a human) and every wrong one."""
import copy

import nbformat
import pytest

from core import paths
from tests.catalog import lif_neuron as catalog
from tests.catalog.lif_neuron import CHAPTER, CORRECT, EXERCISE, SLUG, WRONG
from tests.helpers import (assert_points, check_points, expected_points, find_cell, graded_fixture,
                           student_notebook, with_answers)

POINTS = check_points(CHAPTER)
THINKS = ("relu_limit", "depth_limit")
pytestmark = [pytest.mark.slow, pytest.mark.grading]


def with_thoughts(nb):
    """Write an answer into every Think! cell, as a student would."""
    nb = copy.deepcopy(nb)
    for ident in THINKS:
        cell = find_cell(nb, "think", ident)
        cell.source = cell.source.replace("YOUR ANSWER HERE", "A ReLU, because the leak vanishes.")
    return nb


def submissions():
    """name -> (notebook, the points of each check cell; for a wrong answer, the answer: see
    expectation)."""
    student = student_notebook(CHAPTER)
    cases = {
        "solved_master": (nbformat.read(str(paths.BOOK / CHAPTER), as_version=4), POINTS),
        "untouched": (student, dict.fromkeys(POINTS, 0.0)),
    }
    for name, code in CORRECT.items():
        cases[f"correct_{name}"] = (with_thoughts(with_answers(student, {EXERCISE: code})), POINTS)
    for name, code in WRONG.items():   # what the in-process checks give (proven right per mistake)
        cases[f"wrong_{name}"] = (with_answers(student, {EXERCISE: code}), {EXERCISE: code})
    return cases


def expectation(name: str, expected: dict) -> dict:
    """The points a case must get: a wrong answer gets what the in-process checks give it
    (computed when a test asks, not while pytest collects: they run the checks)."""
    return expected_points(catalog, expected, POINTS) if name.startswith("wrong_") else expected


graded = graded_fixture(SLUG, submissions)


def test_the_batch_is_small():
    assert len(submissions()) <= 25


def test_every_wrong_answer_loses_points():
    for name, (_, expected) in submissions().items():
        if name.startswith("wrong_"):
            assert sum(expectation(name, expected).values()) < sum(POINTS.values()), name


@pytest.mark.parametrize("name", sorted(submissions()))
def test_each_check_cell_gets_its_expected_score(graded, name):
    expected, result = expectation(name, graded.cases[name][1]), graded.results[name]
    assert result.status in ("graded", "needs review"), result.notes
    assert {k: result.max_scores[k] for k in POINTS} == POINTS
    assert_points(result, expected, name)


def test_written_think_answers_wait_for_a_human(graded):
    results = graded.results
    for name in ("solved_master", *(f"correct_{n}" for n in CORRECT)):
        result = results[name]
        assert result.status == "needs review", (name, result.status)
        assert all(result.scores[t] is None for t in THINKS), result.scores
    assert results["untouched"].status == "graded"


def test_feedback_names_the_mistake_but_shows_no_hidden_test(graded):
    results = graded.results
    html = results["wrong_reset_to_V_spike"].feedback.read_text()
    assert "do not replace Vm[i] by V_spike" in html
    html = results["wrong_refractory_one_step_long"].feedback.read_text()  # passes the visible test
    assert "one step too late" in html
    for secret in ("BEGIN HIDDEN TESTS", "autograder.hidden", "from autograder", "check_run_LIF"):
        assert secret not in html, secret
