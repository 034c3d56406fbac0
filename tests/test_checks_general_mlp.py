"""The hidden checks of the general-MLP chapter, in-process, against the catalog of answers."""
import re

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from autograder.checks.compare import CheckFailed
from autograder.hidden import check, reference_module
from autograder.sandbox import loopback
from tests.catalog.general_mlp import CHECKS, CORRECT, WRONG
from tests.helpers import run_answer

SLUG = "general_mlp"
CLASS = {"MLP": "MLP", "Net": "Net"}
# In-process (the check holds the student's objects) and as under the grader (the check runs in
# the oracle on proxies of objects that stay on the student's side).
RUNNERS = {"in_process": check, "grader": loopback.check}


def load(exercise: str, code: str):
    namespace = {"nn": nn, "F": F, "make_activation": reference_module(SLUG).make_activation}
    return run_answer(code, namespace)[CLASS[exercise]]


def failures(exercise: str, obj, runner=check) -> dict[str, str]:
    """check id -> failure message, for every check of the exercise that fails."""
    found = {}
    for check_id in CHECKS[exercise]:
        try:
            runner(SLUG, check_id, obj)
        except CheckFailed as failure:
            found[check_id] = str(failure)
    return found


# Every catalog entry, in-process and through the oracle: tests/test_checks_catalogs.py.


def test_catalog_is_big_enough():
    for exercise in CHECKS:
        assert len(WRONG[exercise]) >= 5 and len(CORRECT[exercise]) >= 4, exercise


def test_reference_passes_and_stubs_report_not_implemented():
    reference = reference_module(SLUG)
    assert failures("MLP", reference.MLP) == {}
    assert failures("Net", reference.Net) == {}

    class Stub(nn.Module):
        def __init__(self, *args):
            super().__init__()
            raise NotImplementedError()

    for exercise in CHECKS:
        messages = failures(exercise, Stub)
        assert set(messages) == set(CHECKS[exercise])
        assert all("not implemented" in m for m in messages.values()), messages


@pytest.mark.parametrize("exercise, name, check_id, pattern", [
    ("MLP", "weights_stored_transposed", "mlp_parameters", r"W1 should have shape \(5, 10\).*transposed"),
    ("MLP", "plain_tensors_not_parameters", "mlp_parameters", r"nn\.Parameter"),
    ("MLP", "weights_start_at_zero", "mlp_parameters", r"random"),
    ("MLP", "relu_on_output", "mlp_forward", r"output of forward is wrong.*no activation"),
    ("MLP", "first_layer_not_activated", "mlp_forward", r"self\.a1 is wrong.*ReLU\(z1\)"),
    ("MLP", "intermediates_not_stored", "mlp_forward", r"self\.z1 should hold"),
    ("MLP", "bias_missing_in_layer_2", "mlp_forward", r"self\.z2 is wrong"),
    ("Net", "layers_in_a_python_list", "net_layers", r"no parameters at all.*add_module"),
    ("Net", "activation_after_output", "net_layers", r"output of Net.* is wrong.*no activation"),
    ("Net", "activation_text_ignored", "net_layers", r"LeakyReLU\(0\.1\)"),
    ("Net", "in_num_never_updated", "net_layers", r"update in_num"),
    ("Net", "forward_does_not_flatten", "net_any_input", r"shape \(20, 4\).*expects 16.*reshape x"),
    ("Net", "flatten_keeps_first_dim", "net_any_input", r"shape \(16,\).*reshape x"),
    ("Net", "no_super_init", "net_layers", r"super\(\)\.__init__\(\) first"),
    ("Net", "forward_casts_to_float32", "net_any_input", r"float64"),
])
def test_messages_say_what_is_wrong(exercise, name, check_id, pattern):
    messages = failures(exercise, load(exercise, WRONG[exercise][name]))
    assert check_id in messages, (name, messages)
    assert re.search(pattern, messages[check_id], re.S), messages[check_id]


def test_a_net_whose_activation_text_is_unknown_must_raise():
    def permissive(actv, *args):
        name = actv.split("(")[0]
        return reference_module(SLUG).Net(actv if hasattr(nn, name) else "ReLU()", *args)

    with pytest.raises(CheckFailed, match="NoSuchActivation.*should raise"):
        check(SLUG, "net_layers", permissive)


def test_a_parser_for_what_the_exercise_shows_gets_full_marks():
    """Before: the hidden test built Net('ELU(alpha=0.5)', ...), a keyword argument the exercise
    never shows, and a parser of 'Name(number)' lost the two points of the layer test."""
    assert failures("Net", load("Net", CORRECT["Net"]["own_parser"])) == {}


def test_pytorch_errors_are_translated_with_their_shapes():
    """Before: a Net that does not flatten read PyTorch's bare 'mat1 and mat2 shapes cannot be
    multiplied (20x4 and 16x8)'."""
    message = failures("Net", load("Net", WRONG["Net"]["forward_does_not_flatten"]))["net_any_input"]
    assert "inputs of shape (20, 4), 4 features per row, but its weight expects 16" in message
    visible = visible_failures("Net", WRONG["Net"]["forward_does_not_flatten"])["net_any_input"]
    assert "fails on an input of shape (5, 1, 4, 4)" in visible and "reshape x" in visible


def test_make_activation_is_safe_and_clear():
    make_activation = reference_module(SLUG).make_activation
    assert isinstance(make_activation("LeakyReLU(0.1)"), nn.LeakyReLU)
    assert make_activation("LeakyReLU(0.1)").negative_slope == 0.1
    assert make_activation("ELU(alpha=0.5)").alpha == 0.5
    assert isinstance(make_activation("ReLU"), nn.ReLU)
    for text, message in [("Relu()", "unknown activation 'Relu'"),
                          ("Tensor()", "unknown activation"),
                          ("functional()", "unknown activation"),
                          ("ReLU(__import__('os').getcwd())", "plain numbers"),
                          ("ReLU() if __import__('os') else None", "Name\\(arguments\\)"),
                          ("LeakyReLU(*[0.1])", "plain numbers"),
                          ("ReLU(", "Name\\(arguments\\)"),
                          (42, "Name\\(arguments\\)")]:
        with pytest.raises(ValueError, match=message):
            make_activation(text)


def test_checks_leave_the_students_random_state_alone():
    reference = reference_module(SLUG)
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    for exercise, obj in (("MLP", reference.MLP), ("Net", reference.Net)):
        assert failures(exercise, obj) == {}
    assert torch.equal(torch.rand(3), expected)


def test_checks_are_repeatable():
    """The same wrong answer gets the same message on every grading run."""
    code = WRONG["MLP"]["bias_missing_in_layer_2"]
    first = failures("MLP", load("MLP", code))
    assert failures("MLP", load("MLP", code)) == first


def visible_checks() -> dict[str, str]:
    """check id -> the code of the check cell a student sees (the hidden block dropped)."""
    from core import paths
    from core.chapter import parse_cells, read_master, without_hidden_tests
    master = paths.BOOK / "02_general_mlp.ipynb"
    return {c.ident: without_hidden_tests(c.body)
            for c in parse_cells(read_master(master), master.name) if c.role == "check"}


def visible_failures(exercise: str, code: str) -> dict[str, str]:
    found = {}
    for check_id, source in visible_checks().items():
        if check_id not in CHECKS[exercise]:
            continue
        namespace = {"nn": nn, "F": F, "make_activation": reference_module(SLUG).make_activation}
        namespace = run_answer(code, namespace)
        try:
            exec(compile(source, f"<visible {check_id}>", "exec"), namespace)
        except Exception as err:  # noqa: BLE001
            found[check_id] = f"{type(err).__name__}: {err}"
    return found


@pytest.mark.parametrize("exercise, name", [(e, n) for e in CORRECT for n in sorted(CORRECT[e])])
def test_correct_answers_pass_the_visible_checks(exercise, name):
    for _ in range(3):  # the visible checks draw random weights and inputs
        assert visible_failures(exercise, CORRECT[exercise][name]) == {}


@pytest.mark.parametrize("exercise, name", [(e, n) for e in WRONG for n in sorted(WRONG[e])])
def test_visible_checks_never_fail_a_check_the_hidden_one_passes(exercise, name):
    hidden = set(failures(exercise, load(exercise, WRONG[exercise][name])))
    assert set(visible_failures(exercise, WRONG[exercise][name])) <= hidden
