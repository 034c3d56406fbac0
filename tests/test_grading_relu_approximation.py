"""Real nbgrader grading of the ReLU chapter: the catalog, the untouched and solved notebooks,
and the known nbgrader traps, all in one batch through the instructors' grading command."""
import copy
import hashlib
import warnings

import nbformat
import pytest

from autograder.grade import grade
from core import paths
from tests.catalog.relu_approximation import CORRECT, WRONG
from tests.helpers import find_cell, student_notebook, with_answers, write

CHAPTER = "01_relu_approximation.ipynb"
FULL = 3.0
pytestmark = pytest.mark.slow


def tag_test_cells(nb, tag):
    for cell in nb.cells:
        if cell.source.startswith("#| check"):
            cell.metadata.setdefault("tags", []).append(tag)
    return nb


def drop_test_cells(nb):
    nb.cells = [c for c in nb.cells if not c.source.startswith("#| check")]
    return nb


def strip_metadata(nb):
    for cell in nb.cells:
        cell.metadata = {}
    nb.metadata = {}
    return nb


def duplicate_answer_cell(nb):
    answer = find_cell(nb, "exercise", "approximate_function")
    nb.cells.insert(nb.cells.index(answer), copy.deepcopy(answer))  # same id and metadata twice
    return nb


def move_tests_before_answer(nb):
    tests = [c for c in nb.cells if c.source.startswith("#| check")]
    rest = [c for c in nb.cells if c not in tests]
    first_code = next(i for i, c in enumerate(rest) if c.cell_type == "code")
    nb.cells = rest[:first_code] + tests[::-1] + rest[first_code:]
    return nb


def as_nbformat_40(nb):
    nb = copy.deepcopy(nb)
    nb.nbformat_minor = 0
    for cell in nb.cells:
        cell.pop("id", None)
    return nb


WARNS = CORRECT["loop"].replace(
    "    return y_hat", "    import warnings; warnings.warn('slow loop ahead')\n    return y_hat")


def submissions():
    """name -> (notebook, expected total or a predicate)."""
    student = student_notebook(CHAPTER)
    correct = with_answers(student, {"approximate_function": CORRECT["loop"]})
    wrong = with_answers(student, {"approximate_function": WRONG["weights_not_differenced"]})
    cases = {
        "solved_master": (nbformat.read(str(paths.BOOK / CHAPTER), as_version=4), FULL),
        "untouched": (student, 0.0),
        "skip_tags_on_wrong": (tag_test_cells(copy.deepcopy(wrong), "skip-execution"), "lost"),
        "raises_tag_on_wrong": (tag_test_cells(copy.deepcopy(wrong), "raises-exception"), "lost"),
        "stderr_warning": (with_answers(student, {"approximate_function": WARNS}), FULL),
        "tests_deleted_correct": (drop_test_cells(copy.deepcopy(correct)), FULL),
        "tests_deleted_wrong": (drop_test_cells(copy.deepcopy(wrong)), "lost"),
        "metadata_stripped": (strip_metadata(copy.deepcopy(correct)), FULL),
        "duplicated_cell": (duplicate_answer_cell(copy.deepcopy(correct)), FULL),
        "tests_reordered": (move_tests_before_answer(copy.deepcopy(correct)), FULL),
        "nbformat_4_0": (as_nbformat_40(correct), FULL),
    }
    for name, code in CORRECT.items():
        cases[f"correct_{name}"] = (with_answers(student, {"approximate_function": code}), FULL)
    for name, code in WRONG.items():
        cases[f"wrong_{name}"] = (with_answers(student, {"approximate_function": code}), "lost")
    return cases


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("submitted")
    cases = submissions()
    files = {}
    for name, (nb, _) in cases.items():
        files[name] = folder / f"{name}.ipynb"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the 4.0 case is invalid 4.5 on purpose
            nbformat.write(nb, str(files[name]), version=4)
    before = {name: hashlib.sha256(p.read_bytes()).hexdigest() for name, p in files.items()}
    results = grade("relu_approximation", files, tmp_path_factory.mktemp("grades"))
    after = {name: hashlib.sha256(p.read_bytes()).hexdigest() for name, p in files.items()}
    return cases, {r.student: r for r in results}, before, after


@pytest.mark.parametrize("name", sorted(submissions()))
def test_each_submission_gets_its_expected_grade(graded, name):
    cases, results, _, _ = graded
    expected, result = cases[name][1], results[name]
    assert result.status == "graded", result.notes
    assert result.max_total == FULL
    if expected == "lost":
        assert result.total < FULL, f"{name} kept full marks"
    else:
        assert result.total == expected, (result.scores, result.notes)


def test_untouched_notebook_scores_zero_on_every_cell(graded):
    _, results, _, _ = graded
    assert set(results["untouched"].scores.values()) == {0.0}


def test_repairs_are_reported(graded):
    _, results, _, _ = graded
    assert any("missing: restored" in n for n in results["tests_deleted_wrong"].notes)
    assert any("appeared 2 times" in n for n in results["duplicated_cell"].notes)
    assert any("out of order" in n for n in results["tests_reordered"].notes)


def test_originals_are_never_modified(graded):
    _, _, before, after = graded
    assert before == after


def test_feedback_shows_messages_but_no_hidden_tests(graded):
    _, results, _, _ = graded
    visible = results["wrong_weights_not_differenced"].feedback.read_text()
    assert "AssertionError: y_hat should pass straight through the training points" in visible
    html = results["wrong_hardcoded_sine_range"].feedback.read_text()  # passes the visible test
    for secret in ("BEGIN HIDDEN TESTS", "autograder.hidden", "from autograder", "check_approximate"):
        assert secret not in html, secret
    assert "most recent call last" not in html and "hidden.py" not in html
    assert "CheckFailed: x (third output) is wrong" in html


def test_grades_csv_has_a_row_per_submission(graded, tmp_path):
    cases, results, _, _ = graded
    csv_text = next(iter(results.values())).feedback.parents[4].joinpath("grades.csv").read_text()
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("student_id,approximate_function_shapes,approximate_function_values,total")
    assert len(lines) == 1 + len(cases)
