"""Hand grading on a grading folder's own outputs (fast: results as the grader stores them, the
real writers of grades.csv, needs_review.csv, feedback and hand_grades.csv). The same loop on a
really graded class is in tests/test_handgrade_graded.py."""
import csv
import io

import pytest

from autograder.grade import Result, Store
from autograder.instructor import handgrade
from autograder.instructor.handgrade import Chapter, HandGradeError, Snapshot, finish

QUESTIONS = {"split": 2.0, "modes": 1.0, "general": 1.0}
PAGE = "<!DOCTYPE html><html><head><title>feedback</title></head><body class=\"x\"><p>auto</p></body></html>"


def result(student, modes="Dropout behaves differently.", general="It does not extrapolate.",
           split=2.0, status="needs review", key=None):
    return Result(student, f"{student}.ipynb", status, {"split": split, "modes": None, "general": None},
                  dict(QUESTIONS), ["answers graded by hand: modes, general"], name=student.title(),
                  answers={"modes": modes, "general": general}, key=key or f"key{student}" * 3)


def graded_folder(tmp_path, results):
    """A grading folder whose store holds each result's feedback page, as after a grading run."""
    out = tmp_path / "out"
    store = Store(out / ".grader" / "results")
    for r in results:
        (store.folder / f"{r.key}.html").write_text(PAGE)
    return out, store


def run(out, store, results):
    return finish(results, Chapter("spiral_split", "04_spiral_split", list(QUESTIONS)), out, store,
                  Snapshot.take(out))


def fresh():
    return [result("alice"), result("bob", modes="No idea"), result("carol", status="failed")]


def table(path):
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def fill(out, grades: dict):
    """Write points and comments into hand_grades.csv as a spreadsheet would (no BOM)."""
    rows = table(out / "hand_grades.csv")
    for row in rows:
        points, comment = grades.get((row["student_id"], row["question"]), ("", ""))
        row["points"], row["comment"] = points, comment
    with open(out / "hand_grades.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture
def first_run(tmp_path):
    results = fresh()
    out, store = graded_folder(tmp_path, results)
    run(out, store, results)
    return out, store


def test_the_first_run_lists_each_answer_to_grade(first_run):
    out, _ = first_run
    rows = table(out / "hand_grades.csv")
    assert [(r["student_id"], r["question"]) for r in rows] == [
        ("alice", "modes"), ("alice", "general"), ("bob", "modes"), ("bob", "general")]
    assert rows[0]["answer"] == "Dropout behaves differently." and rows[0]["max"] == "1"
    assert all(r["points"] == "" and r["answer_id"] for r in rows)
    grades = {r["student_id"]: r for r in table(out / "grades.csv")}
    assert grades["alice"]["status"] == "needs review" and grades["alice"]["modes"] == ""
    assert "waiting for hand grading: modes, general" in grades["alice"]["reason"]


def test_points_and_comments_count_everywhere(first_run):
    out, store = first_run
    fill(out, {("alice", "modes"): ("1", "Right <b>and</b> clear."), ("alice", "general"): ("0,5", "Half."),
               ("bob", "modes"): ("0", "Please answer.")})
    results = fresh()
    run(out, store, results)
    grades = {r["student_id"]: r for r in table(out / "grades.csv")}
    assert grades["alice"]["modes"] == "1" and grades["alice"]["general"] == "0.5"
    assert grades["alice"]["total"] == "3.5" and grades["alice"]["status"] == "graded"
    assert grades["bob"]["total"] == "2" and grades["bob"]["status"] == "needs review"
    review = {r["student_id"] for r in table(out / "needs_review.csv")}
    assert "alice" not in review and "bob" in review
    page = (out / "nbgrader" / "feedback" / "alice" / "spiral_split" / "04_spiral_split.html").read_text()
    assert "Graded by hand" in page and "Right &lt;b&gt;and&lt;/b&gt; clear." in page
    assert "<b>3.5</b> of 4" in page and page.index("hand-grading") > page.index("<body")
    assert "<p>auto</p>" in page


def test_rerunning_is_idempotent(first_run):
    out, store = first_run
    fill(out, {("alice", "modes"): ("1", "Good."), ("bob", "general"): ("0.5", "")})
    run(out, store, fresh())
    files = ["grades.csv", "needs_review.csv", "hand_grades.csv",
             "nbgrader/feedback/alice/spiral_split/04_spiral_split.html", ".grader/hand_grades.json"]
    first = {f: (out / f).read_bytes() for f in files}
    run(out, store, fresh())
    assert {f: (out / f).read_bytes() for f in files} == first


@pytest.mark.parametrize("edit, phrase", [
    ({("alice", "modes"): ("2", "")}, "row 2: points 2 (alice / modes) is outside 0 to 1"),
    ({("bob", "general"): ("-1", "")}, "row 5: points -1 (bob / general) is outside 0 to 1"),
    ({("alice", "general"): ("one", "")}, "row 3: points 'one' (alice / general) is not a number"),
    ({("alice", "general"): ("nan", "")}, "is not a number"),
])
def test_bad_points_name_the_row_and_change_nothing(first_run, edit, phrase):
    out, store = first_run
    fill(out, {("alice", "modes"): ("1", "fine"), **edit})
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(HandGradeError) as caught:
        run(out, store, fresh())
    assert phrase in str(caught.value) and "nothing was changed" in str(caught.value)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def append_row(out, values: dict):
    with open(out / "hand_grades.csv", "a", newline="", encoding="utf-8") as handle:
        csv.DictWriter(handle, fieldnames=handgrade.COLUMNS).writerow(values)


@pytest.mark.parametrize("row, phrase", [
    ({"student_id": "mallory", "question": "modes", "points": "1"}, "row 6: unknown student 'mallory'"),
    ({"student_id": "alice", "question": "essay", "points": "1"}, "row 6: unknown question 'essay'"),
    ({"student_id": "alice", "question": "modes", "points": "1"}, "alice / modes is also on row 2"),
    ({"student_id": "carol", "question": "modes", "points": "1"}, "could not be graded"),
])
def test_unknown_students_and_questions_are_refused(first_run, row, phrase):
    out, store = first_run
    append_row(out, row)
    before = (out / "grades.csv").read_bytes(), (out / ".grader" / "hand_grades.json").read_bytes()
    with pytest.raises(HandGradeError, match="row 6"):
        run(out, store, fresh())
    with pytest.raises(HandGradeError) as caught:
        run(out, store, fresh())
    assert phrase in str(caught.value)
    assert ((out / "grades.csv").read_bytes(), (out / ".grader" / "hand_grades.json").read_bytes()) == before


def test_a_file_edited_during_the_run_stops_it(first_run):
    out, store = first_run
    fill(out, {("alice", "modes"): ("1", "")})
    snapshot = Snapshot.take(out)                      # the run starts and reads the file ...
    fill(out, {("alice", "modes"): ("0", "changed my mind")})   # ... someone saves it meanwhile
    before = (out / "grades.csv").read_bytes()
    with pytest.raises(HandGradeError, match="changed while this run was using it"):
        finish(fresh(), Chapter("spiral_split", "04_spiral_split", list(QUESTIONS)), out, store,
               snapshot)
    assert (out / "grades.csv").read_bytes() == before
    assert "changed my mind" in (out / "hand_grades.csv").read_text()   # the edit is kept


def test_a_resubmission_keeps_unchanged_answers_and_asks_again_for_changed_ones(first_run):
    out, store = first_run
    fill(out, {("alice", "modes"): ("1", "Good."), ("alice", "general"): ("1", "Good too.")})
    run(out, store, fresh())
    resubmitted = [result("alice", general="A new answer: more data helps.", key="new" * 8),
                   result("bob", modes="No idea")]
    (store.folder / f"{resubmitted[0].key}.html").write_text(PAGE)
    run(out, store, resubmitted)
    grades = {r["student_id"]: r for r in table(out / "grades.csv")}
    assert grades["alice"]["modes"] == "1" and grades["alice"]["general"] == ""
    assert grades["alice"]["status"] == "needs review"
    assert "grade it again: general" in grades["alice"]["reason"]
    rows = {(r["student_id"], r["question"]): r for r in table(out / "hand_grades.csv")}
    assert rows[("alice", "modes")]["points"] == "1"
    assert rows[("alice", "general")]["points"] == ""
    assert "changed since it got 1 (Good too.)" in rows[("alice", "general")]["note"]
    assert rows[("alice", "general")]["answer"] == "A new answer: more data helps."
    run(out, store, resubmitted)                      # until graded again, it keeps asking
    rows = {(r["student_id"], r["question"]): r for r in table(out / "hand_grades.csv")}
    assert "changed since it got 1 (Good too.)" in rows[("alice", "general")]["note"]
    fill(out, {("alice", "modes"): ("1", "Good."), ("alice", "general"): ("0.5", "Less so.")})
    run(out, store, resubmitted)
    grades = {r["student_id"]: r for r in table(out / "grades.csv")}
    assert grades["alice"]["general"] == "0.5" and grades["alice"]["status"] == "graded"


def test_whitespace_a_spreadsheet_changes_does_not_count_as_a_new_answer(first_run):
    out, store = first_run
    fill(out, {("alice", "modes"): ("1", "")})
    run(out, store, fresh())
    reflowed = [result("alice", modes="Dropout   behaves\r\ndifferently.  "), result("bob", modes="No idea")]
    run(out, store, reflowed)
    assert {r["student_id"]: r for r in table(out / "grades.csv")}["alice"]["modes"] == "1"


def test_a_deleted_file_comes_back_with_the_grades_given(first_run):
    out, store = first_run
    fill(out, {("bob", "modes"): ("0.5", "Partly.")})
    run(out, store, fresh())
    (out / "hand_grades.csv").unlink()
    run(out, store, fresh())
    rows = {(r["student_id"], r["question"]): r for r in table(out / "hand_grades.csv")}
    assert rows[("bob", "modes")]["points"] == "0.5" and rows[("bob", "modes")]["comment"] == "Partly."


def test_an_autograded_test_may_be_overridden_by_a_row_added_by_hand(first_run):
    out, store = first_run
    append_row(out, {"student_id": "alice", "question": "split", "points": "1",
                     "comment": "The kernel died; I ran it myself."})
    run(out, store, fresh())
    grades = {r["student_id"]: r for r in table(out / "grades.csv")}
    assert grades["alice"]["split"] == "1"
    assert "split 1/2" in grades["alice"]["reason"]


def test_the_handgrade_command_applies_the_file_to_the_last_run(first_run):
    out, _ = first_run
    fill(out, {("alice", "modes"): ("1", ""), ("alice", "general"): ("1", "")})
    results, outcomes = handgrade.regrade_by_hand(out)
    assert {r.student: r.total for r in results}["alice"] == 4.0
    assert outcomes["alice"].waiting == [] and outcomes["bob"].waiting == ["modes", "general"]


def test_a_missing_header_is_refused(first_run):
    out, store = first_run
    (out / "hand_grades.csv").write_text("student,question,score\nalice,modes,1\n")
    with pytest.raises(HandGradeError, match="no column 'student_id', 'points'"):
        run(out, store, fresh())


def test_the_file_opens_in_a_spreadsheet_as_utf8(first_run):
    out, _ = first_run
    data = (out / "hand_grades.csv").read_bytes()
    assert data.startswith("\ufeff".encode())          # Excel reads UTF-8 only with the BOM
    assert list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))[0] == handgrade.COLUMNS
