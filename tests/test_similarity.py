"""The similarity report on a small class of chapter 1 built from the student notebook: a planted
copy (renamed variables, reordered helpers) is reported side by side; untouched notebooks and
independently written correct answers are not; grades are never touched. The rates over every
catalog are measured by tests/similarity_rates.py (slow here)."""
import subprocess
import sys

import pytest

from autograder.instructor.similarity import THRESHOLD, chapter_codes, compare, write_report
from core import paths
from tests.catalog.relu_approximation import CORRECT
from tests.corpus.make_corpus import to_bytes
from tests.corpus.term_class import PLANTED
from tests.helpers import student_notebook, with_answers
from tests.similarity_rates import copy_cases, disguise, independent_cases

CHAPTER = "01_relu_approximation.ipynb"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("similarity")
    student = student_notebook(CHAPTER)
    answers = {"ann": CORRECT["loop"], "ben": CORRECT["vectorised"], "cat": PLANTED["cumsum"],
               "dan": disguise(PLANTED["cumsum"]), "eve": PLANTED["listwise"]}
    folder = root / "submitted"
    for name, code in answers.items():
        (folder / name).mkdir(parents=True)
        (folder / name / CHAPTER).write_bytes(to_bytes(with_answers(student, {"approximate_function": code})))
    for name in ("fay", "gus"):                      # untouched: nothing of their own
        (folder / name).mkdir()
        (folder / name / CHAPTER).write_bytes(to_bytes(student))
    codes, given = chapter_codes("01", [folder])
    pairs = compare(codes, given)
    csv_path, html_path, flagged = write_report(pairs, codes, "relu_approximation", root / "out")
    return {"codes": codes, "pairs": pairs, "flagged": flagged, "html": html_path.read_text(),
            "csv": csv_path.read_text(), "root": root}


def names(pair):
    return {pair.a.student, pair.b.student}


def test_the_planted_copy_is_reported_and_nothing_else(report):
    assert [names(p) for p in report["flagged"]] == [{"cat", "dan"}]
    assert report["flagged"][0].score > 0.8


def test_untouched_notebooks_match_nothing(report):
    assert len(report["codes"]) == 7
    assert not [p for p in report["pairs"] if names(p) & {"fay", "gus"}]


def test_independent_correct_answers_are_not_reported(report):
    ann_ben = [p for p in report["pairs"] if names(p) == {"ann", "ben"}]
    assert not ann_ben or ann_ben[0].score < THRESHOLD


def test_the_page_shows_the_two_answers_side_by_side(report):
    page = report["html"]
    assert page.count("class=\"pair\"") == 1 and "<mark>" in page
    assert "def _slopes" in page or "def _kinks" in page
    assert "changes no grade" in page
    assert "cat,,dan,,"[:4] in report["csv"] and "yes" in report["csv"]


def test_the_command_writes_only_the_report(report):
    out = report["root"] / "cli"
    done = subprocess.run([sys.executable, "-m", "course", "similarity", "01",
                           str(report["root"] / "submitted"), "--out", str(out)], cwd=paths.ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "7 submissions, 1 pair(s)" in done.stdout and "cat and dan" in done.stdout
    assert sorted(p.name for p in out.iterdir()) == ["similarity.csv", "similarity.html"]
    first = (out / "similarity.csv").read_bytes()
    again = subprocess.run([sys.executable, "-m", "course", "similarity", "01",
                            str(report["root"] / "submitted"), "--out", str(out)], cwd=paths.ROOT,
                           capture_output=True, text=True)
    assert again.returncode == 0 and (out / "similarity.csv").read_bytes() == first  # repeatable


@pytest.mark.slow
def test_catalog_rates():
    """Every catalog answer pasted with renamed variables and reordered helpers is found; pairs of
    independently written correct answers are not (the rates are in docs/term.md)."""
    copies, independent = copy_cases(), independent_cases()
    found = sum(c.score >= THRESHOLD for c in copies) / len(copies)
    false = sum(c.score >= THRESHOLD for c in independent) / len(independent)
    print(f"copies found {found:.1%} of {len(copies)}; independent reported {false:.1%} of "
          f"{len(independent)}")
    assert len(copies) > 150 and len(independent) > 30
    assert found >= 0.97
    assert false <= 0.05
