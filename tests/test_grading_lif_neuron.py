"""Real nbgrader grading of the LIF chapter, in one batch through the instructors' command: the
solved master, the untouched student notebook, the catalog's correct answers (with Think!
answers written, so they wait for a human) and the wrong answers the issue names."""
import copy
import warnings

import nbformat
import pytest

from autograder.grade import grade
from core import paths
from tests.catalog.lif_neuron import CORRECT, WRONG
from tests.helpers import find_cell, student_notebook, with_answers

CHAPTER = "07_lif_neuron.ipynb"
CHECKS = {"run_LIF_subthreshold": 1.0, "run_LIF_spikes": 2.0}
THINKS = ("relu_limit", "depth_limit")
pytestmark = pytest.mark.slow

# wrong answer -> the check cells it must lose (the others keep full marks)
LOSES = {
    "refractory_never_ends": {"run_LIF_spikes"},
    "reset_to_V_spike": {"run_LIF_spikes"},
    "leak_sign_wrong": {"run_LIF_subthreshold", "run_LIF_spikes"},
    "off_by_one_at_t_rest": {"run_LIF_subthreshold", "run_LIF_spikes"},
    "dt_ignored": {"run_LIF_subthreshold", "run_LIF_spikes"},
    "refractory_one_step_long": {"run_LIF_spikes"},  # passes the visible test, not the hidden one
}
GRADED_CORRECT = ("tutorial", "rearranged")  # the third variant is checked in-process only


def with_thoughts(nb):
    """Write an answer into every Think! cell, as a student would."""
    nb = copy.deepcopy(nb)
    for ident in THINKS:
        cell = find_cell(nb, "think", ident)
        cell.source = cell.source.replace("YOUR ANSWER HERE", "A ReLU, because the leak vanishes.")
    return nb


def submissions():
    """name -> (notebook, 'full' | 'zero' | set of check ids that lose their points)."""
    student = student_notebook(CHAPTER)
    cases = {
        "solved_master": (nbformat.read(str(paths.BOOK / CHAPTER), as_version=4), "full"),
        "untouched": (student, "zero"),
    }
    for name in GRADED_CORRECT:
        code = CORRECT["run_LIF"][name]
        cases[f"correct_{name}"] = (with_thoughts(with_answers(student, {"run_LIF": code})), "full")
    for name, lost in LOSES.items():
        cases[f"wrong_{name}"] = (with_answers(student, {"run_LIF": WRONG["run_LIF"][name]}), lost)
    return cases


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("submitted")
    cases = submissions()
    files = {}
    for name, (nb, _) in cases.items():
        files[name] = folder / f"{name}.ipynb"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nbformat.write(nb, str(files[name]), version=4)
    results = grade("lif_neuron", files, tmp_path_factory.mktemp("grades"))
    return cases, {r.student: r for r in results}


def test_the_batch_is_small():
    assert len(submissions()) <= 10


@pytest.mark.parametrize("name", sorted(submissions()))
def test_each_check_cell_gets_its_expected_score(graded, name):
    cases, results = graded
    expected, result = cases[name][1], results[name]
    assert result.status in ("graded", "needs review"), result.notes
    assert {k: result.max_scores[k] for k in CHECKS} == CHECKS
    checks = {k: result.scores[k] for k in CHECKS}
    if expected == "full":
        assert checks == CHECKS, (result.scores, result.notes)
    elif expected == "zero":
        assert set(result.scores.values()) == {0.0}, result.scores
    else:
        assert checks == {k: (0.0 if k in expected else full) for k, full in CHECKS.items()}, \
            (name, result.scores)


def test_written_think_answers_wait_for_a_human(graded):
    _, results = graded
    for name in ("solved_master", *(f"correct_{n}" for n in GRADED_CORRECT)):
        result = results[name]
        assert result.status == "needs review", (name, result.status)
        assert all(result.scores[t] is None for t in THINKS), result.scores
    assert results["untouched"].status == "graded"


def test_feedback_names_the_mistake_but_shows_no_hidden_test(graded):
    _, results = graded
    html = results["wrong_reset_to_V_spike"].feedback.read_text()
    assert "do not replace Vm[i] by V_spike" in html
    html = results["wrong_refractory_one_step_long"].feedback.read_text()  # passes the visible test
    assert "one step too late" in html
    for secret in ("BEGIN HIDDEN TESTS", "autograder.hidden", "from autograder", "check_run_LIF"):
        assert secret not in html, secret
