"""The term gradebook and the LMS files, from grading folders written by the grader's own writers
(grades.csv with hand grades), against fixtures that follow Canvas's gradebook export and Moodle's
grading worksheet columns (docs/term.md cites where they are documented)."""
import csv
import subprocess
import sys
import time

import pytest

from autograder.grade import Result, Store
from autograder.instructor.gradebook import GradebookError, read_chapter, write_term
from autograder.instructor.handgrade import Chapter, Snapshot, finish
from autograder.instructor.lms import LmsError, write_canvas, write_moodle
from core import paths

CANVAS = "doejane_10001_700001_Copy of 01_relu_approximation.ipynb"
MOODLE = "Ana Lima_10002_assignsubmission_file_/01_relu_approximation.ipynb"
MOODLE_3 = "Bo Chen_10003_assignsubmission_file_/01_relu_approximation.ipynb"


def folder(tmp_path, slug, questions, results):
    out = tmp_path / slug
    store = Store(out / ".grader" / "results")
    finish(results, Chapter(slug, slug, list(questions)), out, store, Snapshot.take(out))
    return out


@pytest.fixture
def folders(tmp_path):
    relu = {"shapes": 1.0, "values": 2.0}
    relu_results = [
        Result("10001", CANVAS, "graded", {"shapes": 1.0, "values": 2.0}, dict(relu), [], name="Jane Doe"),
        Result("10002", MOODLE, "graded", {"shapes": 1.0, "values": 0.0}, dict(relu), [], name="Ana Lima"),
        Result("10003", MOODLE_3, "failed", {}, dict(relu), ["not a notebook: empty file"], name="Bo Chen"),
    ]
    spiral = {"split": 2.0, "modes": 1.0}
    spiral_results = [
        Result("10001", CANVAS, "needs review", {"split": 2.0, "modes": None}, dict(spiral),
               ["answers graded by hand: modes"], name="Jane Doe", answers={"modes": "Dropout."}),
        Result("10003", MOODLE_3, "graded", {"split": 1.0}, {"split": 2.0}, [], name="Bo Chen"),
    ]
    return folder(tmp_path, "relu_approximation", relu, relu_results), \
        folder(tmp_path, "spiral_split", spiral, spiral_results)


def table(path):
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return list(csv.reader(handle))


def test_the_term_gradebook_has_a_row_per_student_and_says_what_is_missing(folders, tmp_path):
    chapters = [read_chapter(f) for f in folders]
    assert [c.name for c in chapters] == ["relu_approximation", "spiral_split"]
    csv_path, html_path, rows = write_term(chapters, tmp_path / "term")
    lines = table(csv_path)
    assert lines[0] == ["student_id", "name", "relu_approximation", "spiral_split", "term_total",
                        "term_max", "missing"]
    by = {line[0]: line for line in lines[1:]}
    assert by["10001"][2:6] == ["3", "2", "5", "6"]
    assert by["10001"][6] == "spiral_split: waiting for hand grading (modes)"
    assert by["10002"][3] == "" and by["10002"][6] == "spiral_split: no submission"
    assert by["10003"][2] == "" and "relu_approximation: failed (not a notebook: empty file)" in by["10003"][6]
    page = html_path.read_text()
    assert "<table>" in page and "Jane Doe" in page and "waiting for hand grading" in page


@pytest.mark.slow   # a subprocess: seconds on an idle machine, more on a shared one
def test_the_term_gradebook_follows_hand_grades(folders, tmp_path):
    relu, spiral = folders
    with open(spiral / "hand_grades.csv", newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    rows[0]["points"] = "1"
    with open(spiral / "hand_grades.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    done = subprocess.run([sys.executable, "-m", "course", "handgrade", str(spiral)], cwd=paths.ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "1 answer(s) graded, 0 waiting" in done.stdout
    _, _, term = write_term([read_chapter(relu), read_chapter(spiral)], tmp_path / "term")
    jane = next(r for r in term if r.student == "10001")
    assert jane.total == 6 and jane.missing == []


def test_two_folders_of_one_chapter_are_refused(folders):
    with pytest.raises(GradebookError, match="same chapter: relu_approximation"):
        write_term([read_chapter(folders[0]), read_chapter(folders[0])], folders[0].parent / "t")
    with pytest.raises(GradebookError, match="no grades.csv"):
        read_chapter(folders[0].parent / "nothing")


def canvas_export(path, extra_rows=()):
    """Canvas's gradebook export: identity columns, a 'Points Possible' row, assignment columns
    named 'Name (id)', read-only score columns; a test student."""
    lines = [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "relu_approximation (501)",
              "Quiz (502)", "Current Score", "Final Score"],
             ["    Points Possible", "", "", "", "", "3.00", "10.00", "(read only)", "(read only)"],
             ["Doe, Jane", "10001", "S1", "jdoe", "MLP 2026", "", "8.00", "80", "80"],
             ["Kim, Lee", "10009", "S9", "lkim", "MLP 2026", "", "9.00", "90", "90"],
             ["Student, Test", "99", "", "", "MLP 2026", "", "", "", ""], *extra_rows]
    with open(path, "w", newline="", encoding="utf-8-sig") as handle:   # Canvas writes a BOM
        csv.writer(handle).writerows(lines)
    return path


def test_the_canvas_file_matches_students_by_canvas_id(folders, tmp_path):
    chapters = [read_chapter(f) for f in folders]
    export = write_canvas(canvas_export(tmp_path / "export.csv"), chapters, tmp_path / "canvas.csv")
    lines = table(tmp_path / "canvas.csv")
    assert lines[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                        "relu_approximation (501)", "spiral_split"]
    assert lines[1] == ["    Points Possible", "", "", "", "", "3", "3"]
    by = {line[1]: line for line in lines[2:]}
    assert by["10001"][5:] == ["3", ""]                 # spiral: waiting for hand grading
    assert by["10009"][5:] == ["", ""] and by["99"][5:] == ["", ""]
    assert export.written == 1
    assert export.left_empty["10001"] == ["spiral_split: waiting for hand grading"]
    assert export.not_in_lms == ["10002", "10003"]     # graded, but not in this Canvas course


def test_a_canvas_column_may_be_named(folders, tmp_path):
    chapters = [read_chapter(f) for f in folders]
    write_canvas(canvas_export(tmp_path / "export.csv"), chapters, tmp_path / "canvas.csv",
                 {"spiral_split": "Lab 4 (777)"})
    assert table(tmp_path / "canvas.csv")[0][-1] == "Lab 4 (777)"


def test_a_file_that_is_not_a_canvas_export_is_refused(tmp_path):
    (tmp_path / "x.csv").write_text("name,grade\nJane,3\n")
    with pytest.raises(LmsError, match="Grades > Export"):
        write_canvas(tmp_path / "x.csv", [], tmp_path / "c.csv")


def test_the_moodle_worksheet_matches_by_participant_id(folders, tmp_path):
    relu = read_chapter(folders[0])
    export = write_moodle(relu, tmp_path / "moodle.csv")
    lines = table(tmp_path / "moodle.csv")
    header = lines[0]
    # the upload reads these three columns by name, the id as 'Participant <id>'
    for column in ("Identifier", "Grade", "Last modified (grade)"):
        assert column in header
    rows = {line[0]: dict(zip(header, line)) for line in lines[1:]}
    assert set(rows) == {"Participant 10002", "Participant 10003"}   # Moodle's submissions only
    assert rows["Participant 10002"]["Grade"] == "1" and rows["Participant 10002"]["Maximum Grade"] == "3"
    assert rows["Participant 10003"]["Grade"] == ""                   # failed: left as it is
    time.strptime(rows["Participant 10002"]["Last modified (grade)"], "%A, %d %B %Y, %I:%M %p")
    assert "relu_approximation: 1 of 3" in rows["Participant 10002"]["Feedback comments"]
    assert export.written == 1 and export.left_empty == {"10003": ["relu_approximation: failed"]}


@pytest.mark.slow
def test_the_lms_command_writes_both(folders, tmp_path):
    done = subprocess.run([sys.executable, "-m", "course", "lms-export", *map(str, folders),
                           "--canvas", str(canvas_export(tmp_path / "e.csv")), "--moodle",
                           "--out", str(tmp_path / "lms")], cwd=paths.ROOT, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "lms").iterdir()) == [
        "canvas_import.csv", "moodle_relu_approximation.csv", "moodle_spiral_split.csv"]
