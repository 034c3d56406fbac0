"""Real nbgrader grading of the spiral-split chapter, in one batch of 14 submissions:

- the solved master: full marks on every autograded cell, the Think! answers "needs review";
- the untouched student notebook: 0 on every cell;
- six submissions zipping the catalog's first six WRONG answers of both exercises (submission i
  holds wrong answer i of each): both exercises lose points on their own check cells;
- six submissions zipping the CORRECT answers (a shuffle by NumPy's generator among them):
  full marks.

The other WRONG answers fail the same hidden checks in-process (tests/test_checks_spiral_split.py
runs every catalog entry through the visible asserts and the hidden checks), which is what makes a
cell lose its points under nbgrader; grading them all here would only make this test slower.
"""
import copy

import nbformat
import pytest

from core import paths
from tests.catalog.spiral_split import CHECKS, CORRECT, WRONG
from tests.helpers import find_cell, graded_fixture, student_notebook, with_answers

CHAPTER = "04_spiral_split.ipynb"
POINTS = {"shuffle_and_split_data_split": 2.0, "shuffle_and_split_data_seed": 1.0,
          "train_test_classification_training": 2.0, "train_test_classification_accuracy": 2.0}
THINK = ("train_eval_modes", "generalisation")
WRONG_IN_BATCH = 6
pytestmark = [pytest.mark.slow, pytest.mark.grading]


def with_think_answers(nb):
    nb = copy.deepcopy(nb)
    for ident in THINK:
        cell = find_cell(nb, "think", ident)
        cell.source = cell.source.replace("YOUR ANSWER HERE", "An answer in my own words.")
    return nb


def submissions():
    """name -> (notebook, {exercise: 'full' | 'lost'} or None for the special cases)."""
    student = student_notebook(CHAPTER)
    cases = {
        "solved_master": (nbformat.read(str(paths.BOOK / CHAPTER), as_version=4), None),
        "untouched": (student, None),
    }
    wrong = {ex: list(variants.items())[:WRONG_IN_BATCH] for ex, variants in WRONG.items()}
    for i in range(WRONG_IN_BATCH):
        answers = {ex: wrong[ex][i][1] for ex in CHECKS}
        name = "wrong_" + "+".join(wrong[ex][i][0] for ex in CHECKS)
        cases[name] = (with_think_answers(with_answers(student, answers)),
                       {ex: "lost" for ex in CHECKS})
    correct = {ex: list(variants.items()) for ex, variants in CORRECT.items()}
    rows = max(len(v) for v in correct.values())
    for i in range(rows):
        picked = {ex: correct[ex][i % len(correct[ex])] for ex in CHECKS}
        name = "correct_" + "+".join(picked[ex][0] for ex in CHECKS)
        cases[name] = (with_think_answers(with_answers(student, {ex: p[1] for ex, p in picked.items()})),
                       {ex: "full" for ex in CHECKS})
    return cases


def test_the_batch_covers_the_catalog():
    cases = submissions()
    assert len(cases) <= 14
    for exercise, variants in CORRECT.items():
        for name in variants:
            assert any(name in case for case in cases if case.startswith("correct_")), name


graded = graded_fixture("spiral_split", submissions)


@pytest.mark.parametrize("name", sorted(submissions()))
def test_each_check_cell_gets_its_expected_points(graded, name):
    cases, results = graded.cases, graded.results
    expected, result = cases[name][1], results[name]
    assert result.status in ("graded", "needs review"), result.notes
    assert result.max_total == sum(POINTS.values()) + len(THINK)
    if expected is None:
        return
    for exercise, outcome in expected.items():
        for check_id in CHECKS[exercise]:
            score = result.scores[check_id]
            if outcome == "full":
                assert score == POINTS[check_id], (check_id, result.scores, result.notes)
        if outcome == "lost":
            lost = [c for c in CHECKS[exercise] if result.scores[c] < POINTS[c]]
            assert lost, f"{name}: {exercise} kept full marks ({result.scores})"
    assert result.status == "needs review"
    assert all(result.scores[ident] is None for ident in THINK), result.scores


def test_solved_master_gets_full_marks_and_think_answers_need_review(graded):
    results = graded.results
    result = results["solved_master"]
    assert {c: result.scores[c] for c in POINTS} == POINTS, result.scores
    assert result.status == "needs review"
    assert all(result.scores[ident] is None for ident in THINK)
    assert any("generalisation" in note and "train_eval_modes" in note for note in result.notes)


def test_untouched_notebook_scores_zero_on_every_cell(graded):
    results = graded.results
    assert set(results["untouched"].scores.values()) == {0.0}
    assert results["untouched"].total == 0


def test_feedback_names_the_mistake_and_hides_the_hidden_tests(graded):
    results = graded.results
    name = next(n for n in results if n.startswith("wrong_no_shuffle"))
    html = results[name].feedback.read_text()
    assert "original order" in html
    for secret in ("BEGIN HIDDEN TESTS", "autograder.hidden", "check_shuffle"):
        assert secret not in html, secret


def test_grades_csv_lists_every_submission_with_the_think_cells_blank(graded):
    cases, results = graded.cases, graded.results
    csv_text = next(iter(results.values())).feedback.parents[4].joinpath("grades.csv").read_text()
    lines = csv_text.strip().splitlines()
    assert len(lines) == 1 + len(cases)
    header = lines[0].split(",")
    solved = next(line for line in lines if line.startswith("solved_master,")).split(",")
    for ident in THINK:
        assert solved[header.index(ident)] == ""
    assert header[0] == "student_id"
