"""The hidden checks of the cross-entropy chapter, in-process, against the catalog of answers."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from autograder.checks.compare import CheckFailed
from autograder.hidden import check, reference_module
from autograder.sandbox import loopback
from tests.catalog.cross_entropy import (ATTACKS, CHECKS, CORRECT, LOSES, STABLE, VALUES,
                                         VECTORISED, WRONG)
from tests.helpers import run_answer

SLUG = "cross_entropy"
EXERCISE = "cross_entropy_loss"
# In-process (the check holds the student's function) and as under the grader (the check runs in
# the oracle on a proxy of a function that stays on the student's side).
RUNNERS = {"in_process": check, "grader": loopback.check}


def load(code: str):
    return run_answer(code, {"nn": nn, "F": F})["cross_entropy_loss"]


def failures(fn, runner=check, source: str | None = None) -> dict[str, str]:
    """check id -> message of every check fn fails; under the grader's runner the check also
    gets the student's code cell (the grader reads it from the notebook)."""
    found = {}
    for check_id in CHECKS[EXERCISE]:
        try:
            if runner is check:
                runner(SLUG, check_id, fn)
            else:
                runner(SLUG, check_id, fn, source=source)
        except CheckFailed as failure:
            found[check_id] = str(failure)
    return found


# Every correct answer, and every wrong answer's feedback naming its own mistake, in-process and
# through the oracle: tests/test_checks_catalogs.py. Here: each wrong answer loses exactly the
# checks it gets wrong.


@pytest.mark.parametrize("runner", sorted(RUNNERS))
@pytest.mark.parametrize("name", sorted(WRONG[EXERCISE]))
def test_wrong_answers_lose_exactly_what_they_get_wrong(name, runner):
    code = WRONG[EXERCISE][name]
    messages = failures(load(code), RUNNERS[runner], code)
    assert set(messages) == LOSES[name], messages
    assert all("should" in m or "raised" in m or "could not" in m for m in messages.values()), messages


def test_catalog_is_big_enough():
    assert len(WRONG[EXERCISE]) >= 5 and len(CORRECT[EXERCISE]) >= 4
    assert set(LOSES) == set(WRONG[EXERCISE])


def test_reference_agrees_with_pytorch():
    reference = reference_module(SLUG).cross_entropy_loss
    gen = torch.Generator().manual_seed(0)
    for n, c, scale in [(1, 3, 1.0), (50, 7, 10.0), (9, 4, 1000.0), (3, 2, 1e4)]:
        for dtype in (torch.float32, torch.float64):
            x = (torch.randn(n, c, generator=gen, dtype=torch.float64) * scale).to(dtype)
            labels = torch.randint(0, c, (n,), generator=gen)
            ours, theirs = reference(x, labels), F.cross_entropy(x, labels)
            assert ours.dtype == dtype and ours.shape == ()
            assert abs(ours.item() - theirs.item()) <= 1e-6 * max(1.0, scale), (n, c, scale, dtype)


def test_reference_passes_and_stub_reports_not_implemented():
    assert failures(reference_module(SLUG).cross_entropy_loss) == {}

    def stub(x, labels):
        raise NotImplementedError()

    messages = failures(stub)
    assert set(messages) == set(CHECKS[EXERCISE])
    assert all("not implemented" in m for m in messages.values())


@pytest.mark.parametrize("name, check_id, pattern", [
    ("direct_formula_unstable", STABLE, r"gives (inf|nan|-inf)\. .*maximum"),
    ("shift_by_global_max", STABLE, r"row's own maximum"),
    ("tutorial_loop_direct_formula", VECTORISED, r"loop over the samples.*5000.*per sample"),
    ("calls_the_builtin", VECTORISED, r"calls cross_entropy"),
    ("sum_instead_of_mean", VALUES, r"the loss is wrong on the tutorial.s example: it is 0.69.*mean"),
    ("returns_python_float", VALUES, r"should return a tensor"),
    ("shifts_input_in_place", VALUES, r"(leave its input x unchanged|raised)"),
    ("casts_to_float32", VALUES, r"torch.float64 loss"),
    ("indexes_columns_only", VALUES, r"x\[:, labels\], a whole column per label"),
    ("max_without_keepdim", VALUES, r"sizes \(4 and 2 in dimension 1\) do not broadcast.*keepdim=True"),
    ("sign_flipped", VALUES, r"wrong sign"),
    ("shift_not_added_back", VALUES, r"add m back after the log"),
])
def test_messages_say_what_is_wrong(name, check_id, pattern):
    import re
    message = failures(load(WRONG[EXERCISE][name]))[check_id]
    assert re.search(pattern, message, re.S), message


def test_vectorised_check_accepts_many_operations_that_do_not_grow():
    def wordy(x, labels):  # 40 separate operations, none per sample
        total = x.sum() * 0
        for _ in range(40):
            total = total + 0.0
        return reference_module(SLUG).cross_entropy_loss(x, labels) + total

    check(SLUG, VECTORISED, wordy)


def test_the_tutorials_answer_keeps_the_value_points():
    """Code written for the original tutorial is graded on what it gets right."""
    messages = failures(load(WRONG[EXERCISE]["tutorial_loop_direct_formula"]))
    assert VALUES not in messages


def test_checks_leave_the_random_state_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    assert failures(reference_module(SLUG).cross_entropy_loss) == {}
    assert torch.equal(torch.rand(3), expected)


def visible_checks() -> dict[str, str]:
    """check id -> the code of the check cell a student sees (the hidden block dropped)."""
    from core import paths
    from core.chapter import parse_cells, read_master, without_hidden_tests
    master = paths.BOOK / "03_cross_entropy.ipynb"
    return {c.ident: without_hidden_tests(c.body)
            for c in parse_cells(read_master(master), master.name) if c.role == "check"}


def visible_failures(code: str) -> dict[str, str]:
    found = {}
    for check_id, source in visible_checks().items():
        namespace = run_answer(code, {"nn": nn, "F": F})
        try:
            exec(compile(source, f"<visible {check_id}>", "exec"), namespace)
        except Exception as err:  # noqa: BLE001
            found[check_id] = f"{type(err).__name__}: {err}"
    return found


@pytest.mark.parametrize("name", sorted(CORRECT[EXERCISE]))
def test_correct_answers_pass_the_visible_checks(name):
    for _ in range(5):  # the visible stable check draws random logits
        assert visible_failures(CORRECT[EXERCISE][name]) == {}


@pytest.mark.parametrize("name", sorted(WRONG[EXERCISE]))
def test_visible_checks_never_fail_a_check_the_hidden_one_passes(name):
    assert set(visible_failures(WRONG[EXERCISE][name])) <= LOSES[name]


@pytest.mark.parametrize("name", sorted(ATTACKS[EXERCISE]))
def test_attacks_on_the_vectorised_check_lose_it_under_the_grader(name):
    """Each switched the old check's counting off from the answer cell and scored 4/4 (see
    tests/test_grading_cross_entropy.py, which grades them for real). Control: the correct
    answers above pass every check through the same runner."""
    code = ATTACKS[EXERCISE][name]
    messages = failures(load(code), loopback.check, code)
    assert set(messages) == {VECTORISED}, messages
    assert "should" in messages[VECTORISED]


def test_a_vectorised_answer_is_not_mistaken_for_a_loop_even_when_slow():
    """The time per sample, not the total, decides: a constant cost (here 20 ms a call) passes."""
    import time
    reference = reference_module(SLUG).cross_entropy_loss

    def slow_but_vectorised(x, labels):
        time.sleep(0.02)
        return reference(x, labels)
    check(SLUG, VECTORISED, slow_but_vectorised)
