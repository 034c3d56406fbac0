"""Every chapter's catalog against its hidden checks, in-process and through the oracle protocol
(autograder.sandbox.loopback: the check runs on proxies, as under the grader):

- every exercise has at least 4 correct answers in the styles students write and 5 wrong ones;
- every correct answer passes every check of its exercise;
- every wrong answer fails, and its feedback names its mistake (``MISTAKES``) and no other.

Chapter-specific behaviour stays in tests/test_checks_<slug>.py; real grading of the catalogs in
tests/test_grading_<slug>.py. No MNIST here: chapter 6's checks run on small random batches.
"""
import importlib

import pytest

from tests.helpers import RUNNER_NAMES, by_exercise, check_failures, mistake_report

# The chapters whose catalogs have the common form (SLUG, CHECKS, CORRECT, WRONG, MISTAKES,
# objects()), chapters 1 to 7.
SLUGS = ["relu_approximation", "general_mlp", "cross_entropy", "spiral_split", "backprop", "mnist",
         "lif_neuron"]


def catalog(slug):
    return importlib.import_module(f"tests.catalog.{slug}")


def entries(table: str):
    return [(slug, exercise, name) for slug in SLUGS
            for exercise, answers in by_exercise(catalog(slug), table).items() for name in sorted(answers)]


def source_of(cat, code):
    """The student's code cells as the grader reads them (checks that read them need them)."""
    return code if getattr(cat, "NEEDS_SOURCE", False) else None


@pytest.mark.parametrize("slug", SLUGS)
def test_every_exercise_has_a_wide_catalog(slug):
    cat = catalog(slug)
    correct, wrong, mistakes = (by_exercise(cat, t) for t in ("CORRECT", "WRONG", "MISTAKES"))
    for exercise in cat.CHECKS:
        assert len(correct[exercise]) >= 4, (slug, exercise, len(correct[exercise]))
        assert len(wrong[exercise]) >= 5, (slug, exercise, len(wrong[exercise]))
        assert set(mistakes[exercise]) == set(wrong[exercise]), (slug, exercise)


@pytest.mark.parametrize("runner", RUNNER_NAMES)
@pytest.mark.parametrize("slug, exercise, name", entries("CORRECT"))
def test_correct_answers_pass_every_check(slug, exercise, name, runner):
    cat = catalog(slug)
    code = by_exercise(cat, "CORRECT")[exercise][name]
    assert check_failures(slug, cat.CHECKS[exercise], cat.objects(exercise, code), runner,
                          source_of(cat, code)) == {}


@pytest.mark.parametrize("runner", RUNNER_NAMES)
@pytest.mark.parametrize("slug, exercise, name", entries("WRONG"))
def test_wrong_answers_are_told_their_own_mistake(slug, exercise, name, runner):
    cat = catalog(slug)
    code = by_exercise(cat, "WRONG")[exercise][name]
    messages = check_failures(slug, cat.CHECKS[exercise], cat.objects(exercise, code), runner,
                              source_of(cat, code))
    assert mistake_report(messages, by_exercise(cat, "MISTAKES")[exercise], name) == []
    if runner == "grader":  # the same checks fail, with the same messages, as in-process
        in_process = check_failures(slug, cat.CHECKS[exercise], cat.objects(exercise, code))
        if getattr(cat, "NEEDS_SOURCE", False):  # the grader reads the code, in-process counts calls
            assert set(messages) == set(in_process)
        else:
            assert messages == in_process
