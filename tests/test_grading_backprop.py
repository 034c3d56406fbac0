"""Real nbgrader grading of the backpropagation chapter in one batch through the instructors'
grading command: the solved master, the untouched student notebook, and the whole catalog zipped
across the two exercises (submission i holds variant i of both; an exercise with fewer variants
holds its solved answer), with the exact points of every check cell."""

import pytest

from tests.catalog import backprop as catalog
from tests.catalog.backprop import CHAPTER, SLUG
from tests.helpers import (assert_zipped_points, check_points, feedback_errors, graded_fixture,
                           zipped_submissions)

POINTS = check_points(CHAPTER)
FULL = sum(POINTS.values())
pytestmark = [pytest.mark.slow, pytest.mark.grading]


def submissions() -> dict:
    return zipped_submissions(catalog, POINTS)


graded = graded_fixture(SLUG, submissions)


def test_the_batch_is_small_and_covers_the_issue_list():
    names = list(submissions())
    assert len(names) <= 25
    joined = " ".join(names)
    for mistake in ("forgot_bias_gradients", "transposed_weight_gradient", "mean_over_all_elements",
                    "gradient_overwritten", "topological_order_not_reversed"):
        assert mistake in joined, mistake


@pytest.mark.parametrize("name", sorted(submissions()))
def test_each_check_cell_gets_its_expected_points(graded, name):
    expected, result = graded.cases[name][1], graded.results[name]
    assert result.status == "graded", result.notes
    assert result.max_total == FULL
    assert_zipped_points(catalog, POINTS, name, expected, result)


def test_feedback_names_the_mistake_and_hides_the_tests(graded):
    results = graded.results
    name = next(n for n in results if n.startswith("wrong_") and "forgot_bias_gradients" in n)
    html = results[name].feedback.read_text()
    assert "backward did not change b1" in html       # the visible self-check fails first
    name = next(n for n in results if n.startswith("wrong_") and "visited_kept_between_calls" in n)
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
