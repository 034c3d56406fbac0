"""The hidden checks of the backpropagation chapter, in-process: what is particular to them.
Every catalog answer (correct ones pass, wrong ones are told their own mistake) is checked in
tests/test_checks_catalogs.py."""
import pytest
import torch

from autograder.checks.compare import CheckFailed
from autograder.hidden import check, reference_module
from tests.catalog.backprop import CHAPTER, CHECKS, CORRECT, SLUG, WRONG, objects
from tests.helpers import check_failures, find_cell, student_notebook


def student_object(exercise, code):
    return objects(exercise, code)[0]


def failures(exercise, obj):
    return list(check_failures(SLUG, CHECKS[exercise], [obj]).values())


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
    for name in ("method_in_redefined_class", "z_mask_operators"):
        cls = student_object("backward", CORRECT["backward"][name])
        assert check_failures("backprop", ["backward_update"], [cls], runner) == {}, name
    wrong = student_object("backward", WRONG["backward"]["forgot_bias_gradients"])
    assert "b3 was not updated" in check_failures("backprop", ["backward_update"], [wrong], runner)["backward_update"]


def test_a_class_without_backward_is_told_so():
    cls = student_object("backward", "class MLP(nn.Module):\n    pass\n")
    with pytest.raises(CheckFailed, match="MLP has no method backward"):
        check("backprop", "backward_update", cls)
