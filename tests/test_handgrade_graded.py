"""Hand grading on a really graded class (the spiral-split chapter, two Think! questions): the
grading run writes hand_grades.csv with the answers' text; the next run of the same command
applies the points and comments (totals, grades.csv, feedback) without regrading anything; a
resubmission that changed one answer is graded alone, keeps the other answer's grade and asks
again for the changed one; a bad row stops the run with the row named and the grades untouched."""
import copy
import csv

import nbformat
import pytest

from autograder.grade import grade
from autograder.instructor.handgrade import HandGradeError
from tests.catalog.spiral_split import CORRECT
from tests.helpers import find_cell, student_notebook, with_answers

pytestmark = [pytest.mark.slow, pytest.mark.grading]
CHAPTER = "04_spiral_split.ipynb"
AUTO = 7.0          # the chapter's automatically graded points
THINK = ("train_eval_modes", "generalisation")


def submission(modes: str, general: str):
    nb = with_answers(student_notebook(CHAPTER), {ex: next(iter(v.values())) for ex, v in CORRECT.items()})
    for ident, text in zip(THINK, (modes, general)):
        cell = find_cell(nb, "think", ident)
        cell.source = cell.source.replace("YOUR ANSWER HERE", text)
    return nb


def table(path):
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def write_table(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("handgraded")
    files = {}
    for student, answers in {"ada": ("Dropout and batch norm.", "No: it extrapolates linearly."),
                             "ben": ("Always call them.", "Yes.")}.items():
        files[student] = root / f"{student}.ipynb"
        nbformat.write(submission(*answers), str(files[student]))
    out = root / "out"
    first = {r.student: r for r in grade("spiral_split", files, out, workers=0)}
    return {"root": root, "files": files, "out": out, "first": first}


def test_the_grading_run_lists_the_think_answers(graded):
    first, out = graded["first"], graded["out"]
    assert all(r.status == "needs review" and r.total == AUTO for r in first.values())
    rows = table(out / "hand_grades.csv")
    assert [(r["student_id"], r["question"]) for r in rows] == [
        (s, q) for s in ("ada", "ben") for q in THINK]
    assert rows[0]["answer"] == "Dropout and batch norm." and rows[0]["max"] == "1"


def test_the_next_run_applies_points_and_comments_without_regrading(graded):
    out = graded["out"]
    rows = table(out / "hand_grades.csv")
    for row, (points, comment) in zip(rows, [("1", "Exactly."), ("1", "Good."),
                                             ("0", "Which layers?"), ("0.5", "Why?")]):
        row["points"], row["comment"] = points, comment
    write_table(out / "hand_grades.csv", rows)
    second = {r.student: r for r in grade("spiral_split", graded["files"], out, workers=0)}
    assert all(r.reused for r in second.values())               # nothing graded again
    assert second["ada"].total == AUTO + 2 and second["ada"].status == "graded"
    assert second["ben"].total == AUTO + 0.5 and second["ben"].status == "graded"
    csv_rows = {r["student_id"]: r for r in table(out / "grades.csv")}
    assert csv_rows["ada"]["total"] == "9" and csv_rows["ada"]["train_eval_modes"] == "1"
    assert table(out / "needs_review.csv") == []
    page = (out / "nbgrader" / "feedback" / "ben" / "spiral_split" / "04_spiral_split.html").read_text()
    assert "Graded by hand" in page and "Which layers?" in page and "<b>7.5</b> of 9" in page


def test_a_resubmission_keeps_the_unchanged_answer_and_asks_again(graded):
    out, files = graded["out"], dict(graded["files"])
    files["ben"] = graded["root"] / "ben_v2.ipynb"
    nbformat.write(submission("Always call them.", "No: far from the data it guesses."), str(files["ben"]))
    third = {r.student: r for r in grade("spiral_split", files, out, workers=0)}
    assert third["ada"].reused and not third["ben"].reused     # graded alone
    assert third["ben"].scores["train_eval_modes"] == 0.0       # same text: its grade stays
    assert third["ben"].scores["generalisation"] is None        # changed: asked again
    assert third["ben"].status == "needs review"
    row = [r for r in table(out / "hand_grades.csv") if r["student_id"] == "ben"][1]
    assert row["points"] == "" and "changed since it got 0.5 (Why?)" in row["note"]
    assert row["answer"] == "No: far from the data it guesses."


def test_a_bad_row_stops_the_run_and_keeps_the_grades(graded):
    out = graded["out"]
    rows = table(out / "hand_grades.csv")
    saved = copy.deepcopy(rows)
    rows[3]["points"] = "5"
    write_table(out / "hand_grades.csv", rows)
    before = (out / "grades.csv").read_bytes()
    files = dict(graded["files"], ben=graded["root"] / "ben_v2.ipynb")
    with pytest.raises(HandGradeError, match="row 5: points 5 .* outside 0 to 1"):
        grade("spiral_split", files, out, workers=0)
    assert (out / "grades.csv").read_bytes() == before
    write_table(out / "hand_grades.csv", saved)
