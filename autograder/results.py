"""Grading results: the record of each submission, the results store, and the reports.

A :class:`Result` is one student's row; the :class:`Store` keeps one JSON file (plus feedback
HTML and autograded notebook) per graded submission under ``OUT/.grader/results`` (the grading
command is its only writer, so an interrupted run resumes and a late submission is graded
alone); :func:`write_outputs` writes ``grades.csv``, feedback, autograded notebooks and
``needs_review.csv`` from them; :func:`summary` is what the command prints. Hand grades
(:mod:`autograder.instructor.handgrade`) are applied to results before they are written.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .collect import Submission, student_id
from .faults import GraderFault

STATUSES = ("graded", "needs review", "failed", "grader error")


@dataclass
class Result:
    student: str
    source: Path | str
    status: str = "graded"            # graded | needs review | failed | grader error
    scores: dict = field(default_factory=dict)  # grade id -> score (None: graded by hand)
    max_scores: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    feedback: Path | None = None
    name: str = ""
    answers: dict = field(default_factory=dict)
    seconds: float | None = None
    reused: bool = False              # taken from the results store, not graded in this run
    key: str = ""

    @property
    def total(self) -> float:
        return sum(s for s in self.scores.values() if s is not None)

    @property
    def max_total(self) -> float:
        return sum(self.max_scores.values())

    @property
    def has_grades(self) -> bool:
        """Graded (perhaps needing a human too), not failed by the submission or the grader."""
        return self.status in ("graded", "needs review")

    @property
    def reason(self) -> str:
        return "; ".join(self.notes)


# --- the results store (the grading command is its only writer) ---------------------------------------

class Store:
    """One JSON file (plus feedback HTML and autograded notebook) per graded submission."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def load(self, key: str) -> dict | None:
        path = self.folder / f"{key}.json"
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        return record if record.get("key") == key else None

    def save(self, record: dict) -> dict:
        key = record["key"]
        for suffix, field_name in ((".html", "feedback_html"), (".ipynb", "autograded")):
            content = record.pop(field_name, None)
            if content is not None:
                _atomic_write(self.folder / f"{key}{suffix}", content)
        _atomic_write(self.folder / f"{key}.json", json.dumps(record, indent=1))
        return record

    def path(self, key: str, suffix: str) -> Path:
        return self.folder / f"{key}{suffix}"


def _atomic_write(path: Path, content: str) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(content)
    tmp.replace(path)


# --- rows and reports ----------------------------------------------------------------------------------

ERRORS_FOLDER = "grader-errors"


def grader_error(sub: Submission, fault: GraderFault, points: dict, key: str, out: Path) -> Result:
    """The row of a submission the grader failed on: the cause, where the log is, retry advice."""
    log = out / ERRORS_FOLDER / f"{student_id(sub.student)}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(log, f"{sub.file}\n{fault.cause}\n\n{fault.log}")
    note = (f"the grader failed, not the submission: {fault.cause} (log: "
            f"{log.relative_to(out)}); fix the cause and run the command again to grade it")
    return Result(sub.student, sub.file, "grader error", {}, dict(points), [*sub.notes, note],
                  name=sub.name, key=key)


def to_result(record: dict, sub: Submission, store: Store, reused: bool = False) -> Result:
    status = "needs review" if sub.review and record["status"] == "graded" else record["status"]
    return Result(student=sub.student, source=sub.file, status=status,
                  scores=dict(record.get("scores", {})),
                  max_scores=dict(record.get("max_scores", {})), notes=list(record["notes"]),
                  name=sub.name, answers=dict(record.get("answers", {})),
                  seconds=record.get("seconds"), reused=reused, key=record["key"])


# --- outputs ------------------------------------------------------------------------------------------------------

def write_outputs(results: list[Result], bundle, out: Path, store: Store) -> None:
    for r in results:
        folder = student_id(r.student)
        html = store.path(r.key, ".html")
        stale_log = out / ERRORS_FOLDER / f"{folder}.log"
        if r.status != "grader error" and stale_log.exists():
            stale_log.unlink()        # graded since: the old log would only mislead
        if r.has_grades and html.exists():
            target = out / "nbgrader" / "feedback" / folder / bundle.assignment / f"{bundle.notebook}.html"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(html, target)
            r.feedback = target
        notebook = store.path(r.key, ".ipynb")
        if r.has_grades and notebook.exists():
            target = out / "nbgrader" / "autograded" / folder / bundle.assignment / f"{bundle.notebook}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(notebook, target)
    write_csv(results, out / "grades.csv", list(bundle.max_scores))
    write_review(results, out / "needs_review.csv")


def write_csv(results: list[Result], path: Path, questions: list[str] | None = None) -> None:
    """grades.csv: student_id, points per question, total, max, status, reason, name, file."""
    known = questions or []
    questions = known + sorted({q for r in results for q in r.max_scores} - set(known))
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student_id", *questions, "total", "max", "status", "reason", "name",
                         "file"])
        for r in results:
            cells = ["" if r.scores.get(q) is None else f"{r.scores[q]:g}" for q in questions]
            writer.writerow([r.student, *cells, f"{r.total:g}", f"{r.max_total:g}", r.status,
                             r.reason, r.name, str(r.source)])


def write_review(results: list[Result], path: Path) -> None:
    """needs_review.csv: every submission a person should look at, why, and Think! answers."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student_id", "status", "total", "max", "why", "answers to grade by hand"])
        for r in results:
            if r.status == "graded":
                continue
            answers = "\n\n".join(f"[{k}]\n{v.strip()}" for k, v in r.answers.items())
            writer.writerow([r.student, r.status, f"{r.total:g}", f"{r.max_total:g}", r.reason,
                             answers])


def summary(results: list[Result], bundle, seconds: float, graded_now: int,
            out: Path) -> str:
    counts = {s: sum(r.status == s for r in results) for s in STATUSES}
    totals = sorted(r.total for r in results if r.has_grades)
    maximum = max((r.max_total for r in results), default=0)
    lines = [f"{bundle.slug}: {len(results)} submissions: {counts['graded']} graded, "
             f"{counts['needs review']} need review, {counts['failed']} failed"
             + (f", {counts['grader error']} grader errors (retried on the next run)"
                if counts["grader error"] else "") + " "
             f"({graded_now} graded now in {seconds:.0f} s"
             + (f", {60 * graded_now / seconds:.0f}/min" if graded_now and seconds else "") + ")."]
    if totals:
        mean = sum(totals) / len(totals)
        median = totals[len(totals) // 2]
        lines.append(f"Scores: mean {mean:.2f}, median {median:g} of {maximum:g}; full marks: "
                     f"{sum(t == maximum for t in totals)}.")
    review = [r for r in results if r.status != "graded"]
    if review:
        lines.append(f"Need a human ({len(review)}; all in {out / 'needs_review.csv'}):")
        for r in review[:15]:
            lines.append(f"  {r.student}: {r.status}: {r.reason[:150]}")
        if len(review) > 15:
            lines.append(f"  ... and {len(review) - 15} more")
    lines.append(f"Grades: {out / 'grades.csv'}   Feedback: {out / 'nbgrader' / 'feedback'}")
    return "\n".join(lines)
