"""The hidden checks of the ReLU chapter, in-process, against the catalog of student answers."""
import pytest

from autograder.checks.compare import CheckFailed
from autograder.hidden import check, reference_module
import re

from tests.catalog.relu_approximation import CHAPTER, CORRECT, EXERCISE, MISTAKES, SLUG, WRONG
from tests.catalog.relu_approximation import CHECKS as BY_EXERCISE
from tests.helpers import check_failures, run_answer, visible_failures

CHECKS = BY_EXERCISE[EXERCISE]


# Every catalog entry against the hidden checks, in-process and through the oracle:
# tests/test_checks_catalogs.py. Here: the visible self-checks, and what is special to the chapter.

def visible(code):
    import numpy as np
    import torch
    return visible_failures(CHAPTER, CHECKS, run_answer(code, {"np": np, "torch": torch}))


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_correct_answers_pass_the_visible_checks(name):
    assert visible(CORRECT[name]) == {}


@pytest.mark.parametrize("name", sorted(WRONG))
def test_visible_checks_name_the_mistake_or_nothing_else(name):
    """A visible assert that fails names the answer's own mistake (or only asks to fix the
    shapes first), never another one: the feedback a student reads never contradicts itself."""
    text = "\n".join(visible(WRONG[name]).values())
    for other, pattern in MISTAKES.items():
        if pattern != MISTAKES[name]:
            assert not re.search(pattern, text, re.I), (other, text)


def test_the_wrong_order_is_not_called_a_wrong_bias():
    """Before: returning (relu_acts, y_hat, x), or biases from the last points, was told to
    'check the sign of the biases'."""
    for name in ("outputs_in_wrong_order", "bends_one_point_late"):
        text = "\n".join([*visible(WRONG[name]).values(),
                          *check_failures(SLUG, CHECKS, [run_answer(WRONG[name])[EXERCISE]]).values()])
        assert "sign of the biases" not in text, (name, text)
        assert re.search(MISTAKES[name], text, re.I), (name, text)


def test_reference_passes_and_reports_not_implemented():
    reference = reference_module("relu_approximation")
    for check_name in CHECKS:
        check("relu_approximation", check_name, reference.approximate_function)

    def stub(x_train, y_train):
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="not implemented"):
        check("relu_approximation", "approximate_function_shapes", stub)


def test_messages_say_what_is_wrong():
    fn = run_answer(WRONG["bias_sign_flipped"])["approximate_function"]
    with pytest.raises(CheckFailed, match="relu_acts .* sign"):
        check("relu_approximation", "approximate_function_values", fn)
    fn = run_answer(WRONG["outputs_in_wrong_order"])["approximate_function"]
    with pytest.raises(CheckFailed, match=r"order \(y_hat, relu_acts, x\)"):
        check("relu_approximation", "approximate_function_shapes", fn)


def test_checks_leave_the_students_random_state_alone():
    import torch
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    check("relu_approximation", "approximate_function_values",
          reference_module("relu_approximation").approximate_function)
    assert torch.equal(torch.rand(3), expected)
