"""The hidden checks of the backpropagation chapter, in-process, against the catalog of student
answers: every wrong answer fails with a message naming the mistake, every correct one passes."""
import math
import re

import pytest
import torch

from autograder.checks.compare import CheckFailed
from autograder.hidden import check, reference_module
from tests.catalog.backprop import CORRECT, WRONG
from tests.helpers import find_cell, run_answer, student_notebook

CHAPTER = "05_backprop.ipynb"
CHECKS = {"backward": ["backward_update"], "value": ["value_local_gradients", "value_backward"]}
OBJECT = {"backward": "MLP", "value": "Value"}  # what the hidden blocks pass

# What the message of each wrong answer must say (a regular expression, searched case-insensitively).
EXPECTED_MESSAGE = {
    ("backward", "forgot_bias_gradients"): r"b3 was not updated",
    ("backward", "transposed_weight_gradient"): r"shape|transposed",
    ("backward", "transposed_then_reshaped"): r"gradient of W2 is transposed",
    ("backward", "mean_over_all_elements"): r"N\*K",
    ("backward", "sum_not_mean"): r"N times too large",
    ("backward", "relu_derivative_missing"): r"ignores the ReLU",
    ("backward", "relu_derivative_is_activation"): r"activation itself",
    ("backward", "update_before_backprop"): r"already been updated",
    ("backward", "gradient_ascent"): r"uphill",
    ("backward", "update_outside_no_grad"): r"torch.no_grad",
    ("backward", "bias_gradient_mean"): r"SUM of the rows",
    ("backward", "factor_two_missing"): r"2 \* \(z3 - y\)",
    ("value", "gradient_overwritten"): r"overwritten|\+=",
    ("value", "topological_order_not_reversed"): r"topological order|should be",
    ("value", "breadth_first_order"): r"reverse topological order",
    ("value", "no_visited_set"): r"exactly once",
    ("value", "chain_rule_forgets_out_grad"): r"multiply the local derivative by out.grad",
    ("value", "tanh_derivative_of_input"): r"tanh",
    ("value", "pow_derivative_wrong_exponent"): r"\*\*",
    ("value", "relu_passes_every_gradient"): r"relu",
    ("value", "output_grad_not_seeded"): r"should be 1",
    ("value", "visited_kept_between_calls"): r"from scratch",
}


class _Fresh:
    """A namespace for one answer: its own MLP subclass, so MLP.backward = ... touches nothing shared."""

    def __init__(self):
        self.reference = reference_module("backprop")

    def namespace(self):
        mlp = type("MLP", (self.reference.MLP,), {})
        return {"MLP": mlp, "math": math, "nn": torch.nn, "F": torch.nn.functional}


def student_object(exercise, code):
    return run_answer(code, _Fresh().namespace())[OBJECT[exercise]]


def failures(exercise, obj):
    messages = []
    for name in CHECKS[exercise]:
        try:
            check("backprop", name, obj)
        except CheckFailed as failure:
            messages.append(str(failure))
    return messages


@pytest.mark.parametrize("exercise, name", [(e, n) for e in CORRECT for n in sorted(CORRECT[e])])
def test_correct_answers_pass_every_check(exercise, name):
    obj = student_object(exercise, CORRECT[exercise][name])
    assert failures(exercise, obj) == []


@pytest.mark.parametrize("exercise, name", [(e, n) for e in WRONG for n in sorted(WRONG[e])])
def test_wrong_answers_fail_with_a_message_naming_the_mistake(exercise, name):
    obj = student_object(exercise, WRONG[exercise][name])
    messages = failures(exercise, obj)
    assert messages, f"{exercise}/{name} passed every hidden check"
    assert all("should" in m or "raised" in m or "wrong" in m or "not updated" in m for m in messages), messages
    assert re.search(EXPECTED_MESSAGE[(exercise, name)], messages[0], re.I), messages[0]


def test_catalog_sizes():
    for exercise in CHECKS:
        assert len(WRONG[exercise]) >= 5 and len(CORRECT[exercise]) >= 2, exercise
    assert set(EXPECTED_MESSAGE) == {(e, n) for e in WRONG for n in WRONG[e]}


def test_reference_passes_and_the_untouched_stubs_report_not_implemented():
    reference = reference_module("backprop")
    check("backprop", "backward_update", reference.backward)
    check("backprop", "value_local_gradients", reference.Value)
    check("backprop", "value_backward", reference.Value)
    student = student_notebook(CHAPTER)
    for exercise, names in CHECKS.items():
        code = find_cell(student, "exercise", exercise).source
        assert "raise NotImplementedError()" in code
        obj = student_object(exercise, code)
        for name in names:
            with pytest.raises(CheckFailed, match="not implemented"):
                check("backprop", name, obj)


def test_the_value_check_needs_only_the_tutorial_interface():
    """A student class with the seed's interface and no __slots__, label, or tuple _prev passes."""
    code = CORRECT["value"]["tutorial_recursive"]
    assert "__slots__" not in code and "set(_children)" in code
    obj = student_object("value", code)
    assert failures("value", obj) == []


def test_checks_leave_the_students_random_state_alone():
    reference = reference_module("backprop")
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    for name, obj in [("backward_update", reference.backward), ("value_backward", reference.Value),
                      ("value_local_gradients", reference.Value)]:
        check("backprop", name, obj)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("runner", ["in_process", "grader"])
def test_backward_is_graded_wherever_the_answer_cell_put_it(runner):
    """A method of a redefined MLP, or a function attached with MLP.backward = backward: both
    full marks, in-process and through the oracle (the hidden block passes MLP)."""
    from tests.helpers import check_failures
    for name in ("method_in_redefined_class", "z_mask_operators"):
        cls = student_object("backward", CORRECT["backward"][name])
        assert check_failures("backprop", ["backward_update"], [cls], runner) == {}, name
    wrong = student_object("backward", WRONG["backward"]["forgot_bias_gradients"])
    assert "b3 was not updated" in check_failures("backprop", ["backward_update"], [wrong], runner)["backward_update"]


def test_a_class_without_backward_is_told_so():
    cls = student_object("backward", "class MLP(nn.Module):\n    pass\n")
    with pytest.raises(CheckFailed, match="MLP has no method backward"):
        check("backprop", "backward_update", cls)
