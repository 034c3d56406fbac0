"""Real nbgrader grading of the general-MLP chapter, in one batch through the instructors' grading
command: the solved master, the untouched student notebook, and the catalog zipped across the two
exercises (submission i holds wrong answer i of MLP and of Net; likewise for the correct ones)."""
import itertools
import warnings

import nbformat
import pytest

from autograder.grade import grade
from core import paths
from tests.catalog.general_mlp import CHECKS, CORRECT, SOLVED, WRONG
from tests.helpers import student_notebook, with_answers

CHAPTER = "02_general_mlp.ipynb"
FULL = sum(points for checks in CHECKS.values() for points in checks.values())
pytestmark = pytest.mark.slow


def zipped(catalog: dict) -> list[dict]:
    """[{exercise: (variant, code)}]: the i-th variant of every exercise, the solved answer where an
    exercise has fewer variants (marked None, so that its checks are expected at full marks)."""
    columns = [[(name, code) for name, code in sorted(catalog[e].items())] for e in CHECKS]
    rows = itertools.zip_longest(*columns)
    return [{e: cell or (None, SOLVED[e]) for e, cell in zip(CHECKS, row)} for row in rows]


def submissions():
    """name -> (notebook, {exercise: 'full' | 'lost' | 'zero'})."""
    student = student_notebook(CHAPTER)
    cases = {
        "solved_master": (nbformat.read(str(paths.BOOK / CHAPTER), as_version=4), dict.fromkeys(CHECKS, "full")),
        "untouched": (student, dict.fromkeys(CHECKS, "zero")),
    }
    for kind, catalog in (("wrong", WRONG), ("correct", CORRECT)):
        for i, row in enumerate(zipped(catalog)):
            answers = {e: code for e, (_, code) in row.items()}
            expected = {e: ("lost" if kind == "wrong" and name is not None else "full")
                        for e, (name, _) in row.items()}
            label = "+".join(name or "solved" for name, _ in row.values())
            cases[f"{kind}_{i}_{label}"] = (with_answers(student, answers), expected)
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
            nbformat.write(nb, str(files[name]))
    results = grade("general_mlp", files, tmp_path_factory.mktemp("grades"))
    return cases, {r.student: r for r in results}


def test_the_batch_is_small():
    assert len(submissions()) <= 14


@pytest.mark.parametrize("name", sorted(submissions()))
def test_each_exercise_gets_its_expected_points(graded, name):
    cases, results = graded
    expected, result = cases[name][1], results[name]
    assert result.status == "graded", result.notes
    assert result.max_total == FULL
    for exercise, outcome in expected.items():
        got = {c: result.scores[c] for c in CHECKS[exercise]}
        full = sum(CHECKS[exercise].values())
        if outcome == "full":
            assert got == CHECKS[exercise], (exercise, got, result.notes)
        elif outcome == "zero":
            assert set(got.values()) == {0.0}, (exercise, got)
        else:
            assert sum(got.values()) < full, f"{name}: {exercise} kept full marks {got}"


def test_feedback_names_the_mistake_and_hides_the_tests(graded):
    cases, results = graded
    name = next(n for n in cases if n.startswith("wrong_") and "forward_casts_to_float32" in n)
    html = results[name].feedback.read_text()  # passes the visible checks, fails a hidden one
    assert "CheckFailed" in html and "do not convert or move the input inside forward" in html
    for secret in ("BEGIN HIDDEN TESTS", "autograder.hidden", "from autograder", "check_net"):
        assert secret not in html, secret
