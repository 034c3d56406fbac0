"""The hidden checks of the spiral-split chapter against the catalog of answers, in-process and
as under the grader (the check runs in the oracle on proxies of objects on the student's side)."""
import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from torch import nn
from tqdm.auto import tqdm

from autograder.checks.compare import CheckFailed
from autograder.hidden import check, reference_module
from autograder.sandbox import loopback
from core import paths
from core.chapter import parse_cells, read_master, without_hidden_tests
from tests.catalog.spiral_split import CHECKS, CORRECT, MISTAKES, WRONG
from tests.helpers import run_answer

CHAPTER = "spiral_split"
RUNNERS = {"in_process": check, "grader": loopback.check}
NOTEBOOK_NAMES = {"nn": nn, "plt": plt, "tqdm": tqdm, "math": math, "np": np}


def answer(exercise, code):
    return run_answer(code, dict(NOTEBOOK_NAMES))[exercise]


def failures(exercise, fn, runner=check):
    """The failure message of each check of the exercise (None where it passes)."""
    messages = {}
    for name in CHECKS[exercise]:
        try:
            runner(CHAPTER, name, fn)
            messages[name] = None
        except CheckFailed as failure:
            messages[name] = str(failure)
    return messages


CORRECT_CASES = [(ex, name) for ex, variants in CORRECT.items() for name in sorted(variants)]
WRONG_CASES = [(ex, name) for ex, variants in WRONG.items() for name in sorted(variants)]


def test_catalog_is_big_enough():
    for exercise in CHECKS:
        assert len(WRONG[exercise]) >= 5 and len(CORRECT[exercise]) >= 4, exercise
        assert set(MISTAKES[exercise]) == set(WRONG[exercise]), exercise


# Every catalog entry, in-process and through the oracle (correct ones pass, wrong ones are told
# their own mistake and no other): tests/test_checks_catalogs.py.


def visible_self_checks(exercise):
    """The visible part of the exercise's check cells, as the student notebook has them."""
    master = paths.BOOK / "04_spiral_split.ipynb"
    return {cell.ident: without_hidden_tests(cell.body)
            for cell in parse_cells(read_master(master), master.name)
            if cell.role == "check" and cell.ident in CHECKS[exercise]}


@pytest.mark.parametrize("exercise, name", CORRECT_CASES)
def test_correct_answers_pass_the_visible_self_checks(exercise, name, capsys):
    namespace = dict(vars(reference_module(CHAPTER)))  # the chapter's imports and given code
    del namespace[exercise]
    exec(compile(CORRECT[exercise][name], "<answer>", "exec"), namespace)
    checks = visible_self_checks(exercise)
    assert len(checks) == len(CHECKS[exercise])
    for ident, body in checks.items():
        exec(compile(body, ident, "exec"), dict(namespace))  # an AssertionError fails the test
    assert capsys.readouterr().out.count("\n") >= len(checks)


@pytest.mark.parametrize("runner", sorted(RUNNERS))
def test_a_shuffle_drawn_from_the_seed_by_another_generator_gets_full_marks(runner):
    """Before: np.random.default_rng(seed).permutation(N) lost the seed point, for not being the
    permutation of torch.manual_seed + torch.randperm, which the exercise does not ask for."""
    for name in ("numpy_permutation", "python_random_shuffle"):
        messages = failures("shuffle_and_split_data",
                            answer("shuffle_and_split_data", CORRECT["shuffle_and_split_data"][name]),
                            RUNNERS[runner])
        assert messages == dict.fromkeys(CHECKS["shuffle_and_split_data"]), (name, messages)


@pytest.mark.parametrize("runner", sorted(RUNNERS))
def test_reference_passes_and_stubs_report_not_implemented(runner):
    reference = reference_module(CHAPTER)
    for exercise, names in CHECKS.items():
        for name in names:
            RUNNERS[runner](CHAPTER, name, getattr(reference, exercise))

    def stub(*args, **kwargs):
        raise NotImplementedError()

    for names in CHECKS.values():
        for name in names:
            with pytest.raises(CheckFailed, match="not implemented"):
                RUNNERS[runner](CHAPTER, name, stub)


def test_reference_split_is_the_tutorials_split():
    """The tutorial: torch.manual_seed(seed), torch.randperm(N), the first int(0.2 N) are test."""
    reference = reference_module(CHAPTER)
    X, y = torch.randn(4000, 2), torch.randint(0, 4, (4000,)).float()
    torch.manual_seed(2021)
    order = torch.randperm(4000)
    X_test, y_test, X_train, y_train = reference.shuffle_and_split_data(X, y, 2021)
    assert torch.equal(X_test, X[order[:800]]) and torch.equal(y_test, y[order[:800]])
    assert torch.equal(X_train, X[order[800:]]) and torch.equal(y_train, y[order[800:]])


@pytest.mark.parametrize("runner", sorted(RUNNERS))
def test_checks_leave_the_students_random_state_and_threads_alone(runner):
    reference = reference_module(CHAPTER)
    threads = torch.get_num_threads()
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    for exercise, names in CHECKS.items():
        for name in names:
            RUNNERS[runner](CHAPTER, name, getattr(reference, exercise))
    assert torch.equal(torch.rand(3), expected)
    assert torch.get_num_threads() == threads
