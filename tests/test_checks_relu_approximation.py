"""The hidden checks of the ReLU chapter, in-process, against the catalog of student answers."""
import pytest

from autograder.checks.compare import CheckFailed
from autograder.hidden import check, reference_module
from tests.catalog.relu_approximation import CORRECT, WRONG
from tests.helpers import run_answer

CHECKS = ["approximate_function_shapes", "approximate_function_values"]


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_correct_answers_pass_every_check(name):
    fn = run_answer(CORRECT[name])["approximate_function"]
    for check_name in CHECKS:
        check("relu_approximation", check_name, fn)


@pytest.mark.parametrize("name", sorted(WRONG))
def test_wrong_answers_fail_a_check_with_a_message(name):
    fn = run_answer(WRONG[name])["approximate_function"]
    messages = []
    for check_name in CHECKS:
        try:
            check("relu_approximation", check_name, fn)
        except CheckFailed as failure:
            messages.append(str(failure))
    assert messages, f"{name} passed every hidden check"
    assert all("should" in m or "raised" in m for m in messages), messages


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
