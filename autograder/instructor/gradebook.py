"""The term gradebook: several chapters' grading folders -> one row per student.

``python -m course term OUT_01 OUT_04 OUT_07 --out term`` reads each folder's ``grades.csv``
(hand grades included) and writes ``term/term.csv`` and ``term/term.html``: per student, each
chapter's total, the term total and maximum, and what is missing: no submission, a submission
that failed (and why), answers waiting for hand grading, a submission that needs review.
"""
from __future__ import annotations

import csv
import html
import json
from dataclasses import dataclass, field
from pathlib import Path

from .handgrade import AUTO

FIXED = ("student_id", "total", "max", "status", "reason", "name", "file")
UNGRADED = ("failed", "grader error")   # statuses whose total is no grade


class GradebookError(ValueError):
    """A folder that is not a grading folder, or two folders of one chapter."""


@dataclass
class ChapterRow:
    """One student's line of one chapter's grades.csv."""

    student: str
    name: str
    total: float
    maximum: float
    status: str
    reason: str
    file: str
    waiting: list = field(default_factory=list)   # questions with no points yet (hand grading)


@dataclass
class ChapterGrades:
    name: str
    folder: Path
    maximum: float
    rows: dict                                    # student id -> ChapterRow


@dataclass
class TermRow:
    student: str
    name: str
    totals: dict                                  # chapter name -> total, or None
    missing: list

    @property
    def total(self) -> float:
        return sum(t for t in self.totals.values() if t is not None)


def chapter_name(folder: Path) -> str:
    try:
        return json.loads((folder / AUTO).read_text())["slug"]
    except (OSError, ValueError, KeyError):
        return folder.name


def read_chapter(folder) -> ChapterGrades:
    folder = Path(folder)
    path = folder / "grades.csv"
    if not path.is_file():
        raise GradebookError(f"{folder}: no grades.csv; give the folders that "
                             "`python -m course grade ... --out FOLDER` wrote")
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        questions = [c for c in reader.fieldnames or [] if c not in FIXED]
        rows = {}
        for record in reader:
            waiting = [] if record["status"] in UNGRADED else \
                [q for q in questions if not (record.get(q) or "").strip()]
            rows[record["student_id"]] = ChapterRow(
                record["student_id"], record.get("name", ""), float(record["total"] or 0),
                float(record["max"] or 0), record["status"], record.get("reason", ""),
                record.get("file", ""), waiting)
    maximum = max((r.maximum for r in rows.values()), default=0.0)
    return ChapterGrades(chapter_name(folder), folder, maximum, rows)


def term_rows(chapters: list[ChapterGrades]) -> list[TermRow]:
    names = [c.name for c in chapters]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise GradebookError("two grading folders of the same chapter: " + ", ".join(twice)
                             + "; give one folder per chapter")
    students: dict[str, str] = {}
    for chapter in chapters:
        for student, row in chapter.rows.items():
            if row.name or student not in students:
                students[student] = row.name
    rows = []
    for student in sorted(students, key=_natural):
        totals, missing = {}, []
        for chapter in chapters:
            row = chapter.rows.get(student)
            totals[chapter.name] = None if row is None or row.status in UNGRADED else row.total
            missing += missing_of(chapter.name, row)
        rows.append(TermRow(student, students[student], totals, missing))
    return rows


def missing_of(chapter: str, row: ChapterRow | None) -> list[str]:
    if row is None:
        return [f"{chapter}: no submission"]
    if row.status == "failed":
        return [f"{chapter}: failed ({row.reason[:120]})"]
    if row.status == "grader error":
        return [f"{chapter}: not graded yet, the grader failed (run the grading command again)"]
    found = []
    if row.waiting:
        found.append(f"{chapter}: waiting for hand grading ({', '.join(row.waiting)})")
    if row.status == "needs review" and not row.waiting:
        found.append(f"{chapter}: needs review ({row.reason[:120]})")
    return found


def _natural(text: str):
    return (0, int(text), "") if text.isdigit() else (1, 0, text)


def write_term(chapters: list[ChapterGrades], out) -> tuple[Path, Path, list[TermRow]]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = term_rows(chapters)
    maximum = sum(c.maximum for c in chapters)
    csv_path, html_path = out / "term.csv", out / "term.html"
    with open(csv_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student_id", "name", *(c.name for c in chapters), "term_total",
                         "term_max", "missing"])
        for row in rows:
            writer.writerow([row.student, row.name,
                             *("" if row.totals[c.name] is None else f"{row.totals[c.name]:g}"
                               for c in chapters),
                             f"{row.total:g}", f"{maximum:g}", "; ".join(row.missing)])
    html_path.write_text(term_html(chapters, rows, maximum), encoding="utf-8")
    return csv_path, html_path, rows


STYLE = """body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}
th,td{border:1px solid #bbb;padding:4px 8px;text-align:right}th{background:#eee;position:sticky;top:0}
td.who,td.missing{text-align:left}td.none{background:#fde2e2}tr:nth-child(even){background:#fafafa}
td.missing{color:#8a1c1c;max-width:40em}"""


def term_html(chapters: list[ChapterGrades], rows: list[TermRow], maximum: float) -> str:
    e = html.escape
    head = "".join(f"<th>{e(c.name)}<br><small>of {c.maximum:g}</small></th>" for c in chapters)
    body = []
    for row in rows:
        cells = "".join(
            "<td class=\"none\">&ndash;</td>" if row.totals[c.name] is None
            else f"<td>{row.totals[c.name]:g}</td>" for c in chapters)
        body.append(f"<tr><td class=\"who\">{e(row.student)}</td><td class=\"who\">{e(row.name)}</td>"
                    f"{cells}<td><b>{row.total:g}</b></td>"
                    f"<td class=\"missing\">{e('; '.join(row.missing))}</td></tr>")
    complete = sum(not r.missing for r in rows)
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Term "
            f"gradebook</title><style>{STYLE}</style></head><body><h1>Term gradebook</h1>"
            f"<p>{len(rows)} students, {len(chapters)} chapters ({', '.join(e(c.name) for c in chapters)}); "
            f"term maximum {maximum:g}; {complete} students with nothing missing.</p>"
            f"<table><tr><th>student</th><th>name</th>{head}<th>term total<br><small>of "
            f"{maximum:g}</small></th><th>missing</th></tr>{''.join(body)}</table></body></html>")
