"""Hand grading: points and comments for the answers a person grades, counted in every output.

After grading, ``OUT/hand_grades.csv`` lists each answer graded by hand (the Think! questions),
one row per student and question: ``student_id, name, question, max, points, comment, answer,
answer_id, note``. The instructor fills ``points`` (and ``comment``) in a spreadsheet and saves it
as CSV; the next ``python -m course grade ...`` or ``python -m course handgrade OUT`` reads it
back: ``grades.csv`` (points, total, status), ``needs_review.csv`` and each student's feedback page
include the points and comments. A row may also be added for an automatically graded test of a
submission the grader flagged (a kernel that died before the test ran): its points replace the
grader's score for that test.

Rules:

* every problem in the file is reported at once, each naming its row (as a spreadsheet numbers
  them, the header being row 1), and then nothing is written: the grades stay as they were;
* ``answer_id`` ties a grade to the answer it was given for (a hash of the answer's text, or of the
  submission for a test). When a student resubmits, grades of answers whose text did not change
  are kept; a changed answer's row comes back empty, its ``note`` saying what it had, to be graded
  again;
* a file changed by someone while a run reads it and writes the outputs stops the run with an error
  (the edits are kept; run again);
* running again with the same file writes the same outputs (the grades applied are kept in
  ``OUT/.grader/hand_grades.json``, so a deleted CSV comes back filled).
"""
from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import math
import os
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

HAND_CSV = "hand_grades.csv"
STATE = Path(".grader") / "hand_grades.json"
AUTO = Path(".grader") / "autograded.json"   # the last run's automatic results, before hand grades
COLUMNS = ["student_id", "name", "question", "max", "points", "comment", "answer", "answer_id",
           "note"]
MANUAL_NOTE = "answers graded by hand: "      # the grader's note on a result with Think! answers
LOST_TESTS = "did not run and score 0"         # the grader's note when a kernel died mid-notebook


class HandGradeError(ValueError):
    """The hand-grades file cannot be applied; the message names the rows and what to do."""


@dataclass
class HandGrade:
    """What the instructor gave one answer."""

    points: float | None
    comment: str
    answer_id: str


@dataclass
class Row:
    """One row of hand_grades.csv as read."""

    row: int
    student: str
    question: str
    points: float | None
    comment: str
    answer_id: str


@dataclass
class Snapshot:
    """hand_grades.csv as it was when a run started (to notice edits made during the run)."""

    path: Path
    text: str | None
    digest: str | None

    @classmethod
    def take(cls, out: Path) -> "Snapshot":
        path = Path(out) / HAND_CSV
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return cls(path, None, None)
        return cls(path, data.decode("utf-8-sig", "replace"), hashlib.sha256(data).hexdigest())

    def changed(self) -> bool:
        return Snapshot.take(self.path.parent).digest != self.digest

    def check_unchanged(self, what: str) -> None:
        if self.changed():
            raise HandGradeError(
                f"{self.path} was changed while this run was using it; {what}. Your edits are "
                f"kept: save the file, then run `python -m course handgrade {self.path.parent}`.")


@dataclass
class Chapter:
    """What writing a grading folder's outputs needs to know of its chapter."""

    slug: str
    notebook: str
    questions: list

    @property
    def assignment(self) -> str:
        return self.slug

    @property
    def max_scores(self) -> dict:
        return dict.fromkeys(self.questions, 0.0)


def answer_id(text: str) -> str:
    """A short hash of an answer's text, blind to whitespace a spreadsheet may change."""
    return hashlib.sha256(" ".join((text or "").split()).encode()).hexdigest()[:12]


def manual_questions(result) -> list[str]:
    """The questions of an (automatic) result that only a person can grade."""
    return [q for q, score in result.scores.items() if score is None]


def current_answer_id(result, question: str) -> str:
    if question in result.answers or result.scores.get(question, 0) is None:
        return answer_id(result.answers.get(question, ""))
    return (result.key or "")[:12]   # an autograded test: the submission it was graded on


# --- reading the file --------------------------------------------------------------------------------

def parse_points(text: str) -> float | None:
    text = (text or "").strip()
    if not text:
        return None
    if "," in text and "." not in text:
        text = text.replace(",", ".")     # a decimal comma from a spreadsheet
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def read_rows(snapshot: Snapshot, results: dict) -> list[Row]:
    """The rows of the file, checked against the results; HandGradeError lists every problem."""
    if snapshot.text is None:
        return []
    reader = csv.DictReader(io.StringIO(snapshot.text))
    missing = [c for c in ("student_id", "question", "points") if c not in (reader.fieldnames or [])]
    if missing:
        raise HandGradeError(f"{snapshot.path}: no column {', '.join(map(repr, missing))}; keep the "
                             f"header row as written ({', '.join(COLUMNS)}). Nothing was changed.")
    rows, problems, seen = [], [], {}
    for number, record in enumerate(reader, start=2):
        row, problem = check_row(number, record, results)
        key = (row.student, row.question) if row else None
        if problem is None and key in seen:
            problem = f"{row.student} / {row.question} is also on row {seen[key]}; keep one row"
        if problem:
            problems.append(f"  row {number}: {problem}")
            continue
        seen[key] = number
        rows.append(row)
    if problems:
        raise HandGradeError(f"{snapshot.path}: {len(problems)} problem(s); nothing was changed "
                             "(grades.csv, feedback and the stored hand grades are as they were). "
                             "Fix these rows and run again:\n" + "\n".join(problems))
    return rows


def check_row(number: int, record: dict, results: dict) -> tuple[Row | None, str | None]:
    student = (record.get("student_id") or "").strip()
    question = (record.get("question") or "").strip()
    if not student and not question and not any((v or "").strip() for v in record.values()
                                                 if isinstance(v, str)):
        return None, "an empty row; delete it"
    result = results.get(student)
    if result is None:
        return None, (f"unknown student {student!r}: no submission of this chapter has that id "
                      "(student ids are in grades.csv)")
    if question not in result.max_scores:
        return None, (f"unknown question {question!r} for {student}; the questions are "
                      + ", ".join(result.max_scores))
    maximum = float(result.max_scores[question])
    raw = record.get("points") or ""
    try:
        points = parse_points(raw)
    except ValueError:
        return None, (f"points {raw.strip()!r} ({student} / {question}) is not a number: write a "
                      f"number from 0 to {maximum:g}, or leave the cell empty")
    if points is not None and not 0 <= points <= maximum:
        return None, (f"points {points:g} ({student} / {question}) is outside 0 to {maximum:g} "
                      "(the question's maximum)")
    if not result.has_grades:
        return None, f"{student}'s submission could not be graded ({result.reason[:120]})"
    return Row(number, student, question, points, (record.get("comment") or "").strip(),
               (record.get("answer_id") or "").strip()), None


# --- the stored grades ----------------------------------------------------------------------------------

def load_state(out: Path) -> dict[tuple[str, str], HandGrade]:
    path = Path(out) / STATE
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {(s, q): HandGrade(**g) for s, by_q in stored.items() for q, g in by_q.items()}


def save_state(out: Path, state: dict) -> None:
    grouped: dict = {}
    for (student, question), grade in sorted(state.items()):
        grouped.setdefault(student, {})[question] = asdict(grade)
    _atomic_write(Path(out) / STATE, json.dumps(grouped, indent=1, sort_keys=True))


def update_state(state: dict, rows: list[Row], results: dict) -> dict:
    """The file's rows override what is stored, for the answers they were given for."""
    state = dict(state)
    for row in rows:
        current = current_answer_id(results[row.student], row.question)
        if row.answer_id and row.answer_id != current:
            continue               # a grade for an earlier answer: asked again, not applied
        key = (row.student, row.question)
        if row.points is None and not row.comment:
            if key in state and state[key].answer_id == current:
                del state[key]     # cleared by the instructor (an earlier answer's grade stays)
        else:
            state[key] = HandGrade(row.points, row.comment, current)
    return state


# --- merging into the results ---------------------------------------------------------------------------

@dataclass
class Outcome:
    """Per student: what was graded by hand, what is still waiting, what must be graded again."""

    graded: dict = field(default_factory=dict)    # question -> HandGrade applied
    waiting: list = field(default_factory=list)   # questions with no points yet
    stale: dict = field(default_factory=dict)     # question -> the grade of an earlier answer


def apply(results: list, state: dict) -> dict[str, Outcome]:
    """Fill the results' hand-graded scores from the state; update status and notes."""
    outcomes = {}
    for r in results:
        if not r.has_grades:
            continue
        outcome = Outcome()
        manual = manual_questions(r)
        for question in manual:
            r.answers.setdefault(question, "")       # an answer cell the student deleted
        questions = manual + [q for (s, q) in state if s == r.student and q not in manual
                              and q in r.max_scores]
        for question in questions:
            grade = state.get((r.student, question))
            if grade is not None and grade.answer_id != current_answer_id(r, question):
                outcome.stale[question] = grade
                grade = None
            if grade is not None and grade.points is not None:
                r.scores[question] = grade.points
                outcome.graded[question] = grade
            elif question in manual:
                outcome.waiting.append(question)
                if grade is not None:
                    outcome.graded[question] = grade     # a comment without points yet
        if questions:
            outcomes[r.student] = outcome
            settle(r, outcome)
    return outcomes


def settle(result, outcome: Outcome) -> None:
    """Status and notes of a result once hand grades are in."""
    notes = [n for n in result.notes if not n.startswith(MANUAL_NOTE)]
    done = [f"{q} {g.points:g}/{float(result.max_scores[q]):g}"
            for q, g in outcome.graded.items() if g.points is not None]
    if done:
        notes.append("graded by hand: " + ", ".join(done))
    if outcome.waiting:
        notes.append("waiting for hand grading: " + ", ".join(outcome.waiting))
    if outcome.stale:
        notes.append("answer changed since it was graded by hand, grade it again: "
                     + ", ".join(outcome.stale))
    result.notes = notes
    lost = any(LOST_TESTS in n for n in notes)
    if result.status == "needs review" and not outcome.waiting and not lost:
        result.status = "graded"


# --- writing ---------------------------------------------------------------------------------------------

def prompts(slug: str) -> dict[str, str]:
    """Think! id -> the question's own text in the student notebook (shown once, not per answer)."""
    import nbformat

    from autograder.repair import cell_key
    from core import paths
    from core.chapter import TEXT_STUB, strip_markdown_directive
    try:
        student = nbformat.read(str(paths.STUDENTS / paths.master_for(slug).name), as_version=4)
    except (OSError, ValueError, LookupError, SystemExit):
        return {}
    found = {}
    for cell in student.cells:
        key = cell_key(cell) if TEXT_STUB in cell.source else None
        if key and key.startswith("think:"):
            found[key.split(":", 1)[1]] = strip_markdown_directive(cell.source.split(TEXT_STUB)[0])
    return found


def shown_answer(text: str, prompt: str) -> str:
    """The student's answer without the question they were asked (when they left it as given)."""
    text = (text or "").strip()
    if prompt and " ".join(text.split()).startswith(" ".join(prompt.split())):
        words = len(prompt.split())
        rest = text
        for _ in range(words):             # drop the prompt's words, keep the answer's layout
            rest = rest.lstrip().split(None, 1)[1] if len(rest.split(None, 1)) > 1 else ""
        return rest.strip()
    return text


def write_csv(path: Path, results: list, outcomes: dict, state: dict, asked: dict | None = None) -> None:
    """hand_grades.csv: one row per hand-graded answer, filled from what is stored."""
    asked = asked or {}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for r in results:
        outcome = outcomes.get(r.student)
        if outcome is None:
            continue
        questions = manual_questions_of(r, outcome)
        for question in questions:
            grade = outcome.graded.get(question)
            stale = outcome.stale.get(question)
            note = ""
            if stale is not None:
                note = (f"the answer changed since it got {_points(stale.points) or 'no points'}"
                        + (f" ({stale.comment})" if stale.comment else "") + ": grade it again")
            answer = shown_answer(r.answers.get(question, ""), asked.get(question, "")) \
                if question in r.answers else f"(an automatically graded test: {r.reason})"
            writer.writerow([r.student, r.name, question, f"{float(r.max_scores[question]):g}",
                             _points(grade.points) if grade else "", grade.comment if grade else "",
                             answer.strip(), current_answer_id(r, question), note])
    _atomic_write(path, "\ufeff" + buffer.getvalue())   # the BOM makes Excel read UTF-8


def manual_questions_of(result, outcome: Outcome) -> list[str]:
    found = list(outcome.waiting) + list(outcome.graded) + list(outcome.stale)
    order = list(result.max_scores)
    return sorted(set(found), key=lambda q: order.index(q) if q in order else len(order))


def _points(points: float | None) -> str:
    return "" if points is None else f"{points:g}"


def feedback_section(result, outcome: Outcome) -> str:
    rows = []
    for question in manual_questions_of(result, outcome):
        grade = outcome.graded.get(question)
        maximum = float(result.max_scores[question])
        if question in outcome.waiting:
            points = f"not graded yet (out of {maximum:g})"
        else:
            points = f"{grade.points:g} / {maximum:g}"
        comment = grade.comment if grade else ""
        rows.append(f"<tr><td>{html.escape(question)}</td><td>{html.escape(points)}</td>"
                    f"<td style=\"white-space:pre-wrap\">{html.escape(comment)}</td></tr>")
    return ("<section id=\"hand-grading\" style=\"border:2px solid #2e7d32;border-radius:6px;"
            "padding:0.8em 1.2em;margin:1em auto;max-width:900px;font-family:sans-serif\">"
            "<h2>Graded by hand</h2>"
            f"<p>Total, with the answers graded by hand: <b>{result.total:g}</b> of "
            f"{result.max_total:g}.</p>"
            "<table style=\"border-collapse:collapse\" cellpadding=\"6\" border=\"1\">"
            "<tr><th>question</th><th>points</th><th>comment</th></tr>" + "".join(rows)
            + "</table></section>")


def add_feedback(results: list, outcomes: dict) -> None:
    """Put the hand grades at the top of each student's feedback page (a fresh copy each run)."""
    for r in results:
        outcome = outcomes.get(r.student)
        if outcome is None or r.feedback is None or not Path(r.feedback).exists():
            continue
        page = Path(r.feedback).read_text(encoding="utf-8")
        section = feedback_section(r, outcome)
        match = re.search(r"<body[^>]*>", page)
        at = match.end() if match else 0
        Path(r.feedback).write_text(page[:at] + section + page[at:], encoding="utf-8")


# --- the two ways in --------------------------------------------------------------------------------------

def finish(results: list, chapter, out: Path, store, snapshot: Snapshot) -> dict[str, Outcome]:
    """After grading: save the automatic results, apply the hand grades, write every output.

    Raises HandGradeError before writing anything when the file has a bad row or was changed
    during the run."""
    from autograder.results import write_outputs
    out = Path(out)
    by_student = {r.student: r for r in results}
    rows = read_rows(snapshot, by_student)
    snapshot.check_unchanged("nothing was written")
    save_auto(out, results, chapter)
    state = update_state(load_state(out), rows, by_student)
    save_state(out, state)
    outcomes = apply(results, state)
    write_outputs(results, chapter, out, store)
    add_feedback(results, outcomes)
    snapshot.check_unchanged("grades.csv and feedback include the file as it was when the run "
                             "started")
    if outcomes or snapshot.text is not None:
        write_csv(snapshot.path, results, outcomes, state, prompts(chapter.slug))
    return outcomes


def regrade_by_hand(out: Path) -> tuple[list, dict]:
    """`python -m course handgrade OUT`: apply hand_grades.csv to the last grading run's results."""
    from autograder.results import Store
    out = Path(out)
    if not (out / AUTO).exists():
        raise HandGradeError(f"{out} holds no grading run of this version (no {AUTO}); run "
                             "`python -m course grade CHAPTER SUBMISSIONS --out "
                             f"{out}` first (it reuses what was graded)")
    snapshot = Snapshot.take(out)
    results, chapter = load_auto(out)
    outcomes = finish(results, chapter, out, Store(out / ".grader" / "results"), snapshot)
    return results, outcomes


def save_auto(out: Path, results: list, chapter) -> None:
    record = {"slug": chapter.slug, "notebook": chapter.notebook,
              "questions": list(chapter.max_scores),
              "results": [_result_record(r) for r in results]}
    _atomic_write(out / AUTO, json.dumps(record, indent=1))


def load_auto(out: Path) -> tuple[list, Chapter]:
    from autograder.results import Result
    record = json.loads((Path(out) / AUTO).read_text())
    names = {f.name for f in fields(Result)}
    results = [Result(**{k: v for k, v in r.items() if k in names}) for r in record["results"]]
    return results, Chapter(record["slug"], record["notebook"], record["questions"])


def _result_record(result) -> dict:
    record = {f.name: getattr(result, f.name) for f in fields(result)}
    record.update(source=str(result.source), feedback=None, scores=dict(result.scores),
                  notes=list(result.notes))
    return record


def _atomic_write(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(content, encoding="utf-8")
    tmp.replace(path)
