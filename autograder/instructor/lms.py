"""Grades back into the LMS: the files Canvas and Moodle import as they are.

* **Canvas** (Grades > Import): the gradebook CSV. Built from the gradebook the instructor
  exported (Grades > Export), so its identity columns (``Student, ID, SIS User ID, SIS Login ID,
  Section``) and its ``Points Possible`` row are Canvas's own; students are matched by Canvas's
  user ``ID`` (the number in Canvas's submission file names), with one column per chapter: an
  existing assignment column when its name (without the ``(assignment id)``) is the chapter's name
  or is given with ``--column``, else a new column (Canvas then creates that assignment).
* **Moodle** (the assignment's "Upload grading worksheet"; the assignment needs the feedback type
  "Offline grading worksheet"): one worksheet per chapter, ``Identifier, Full name, Grade,
  Maximum Grade, Last modified (grade), Feedback comments``, the identifier being
  ``Participant <id>`` with the id Moodle put in each submission's name.

A cell is left empty (the LMS keeps what it has) for a student with no submission, a failed one,
or answers still waiting for hand grading; the report says who.
"""
from __future__ import annotations

import csv
import io
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..collect import MOODLE
from .gradebook import ChapterGrades, ChapterRow

CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Integration ID", "Section")
POINTS_POSSIBLE = "Points Possible"
MOODLE_COLUMNS = ["Identifier", "Full name", "Grade", "Maximum Grade", "Last modified (grade)",
                  "Feedback comments"]
MOODLE_PREFIX = "Participant "


class LmsError(ValueError):
    """An export that is not what the LMS writes; the message says what to download."""


@dataclass
class Export:
    """What was written, and who could not be given a grade."""

    path: Path
    written: int = 0
    left_empty: dict = field(default_factory=dict)      # student -> [why, per chapter]
    not_in_lms: list = field(default_factory=list)      # graded students the LMS file lacks


def gradable(row: ChapterRow | None) -> str | None:
    """Why a row gets no grade in the LMS (None: it gets its total)."""
    if row is None:
        return "no submission"
    if row.status == "failed":
        return "failed"
    if row.waiting:
        return "waiting for hand grading"
    return None


# --- Canvas -------------------------------------------------------------------------------------------

def read_canvas_export(path: Path) -> tuple[list[str], list[list[str]]]:
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except OSError as err:
        raise LmsError(f"{path}: cannot be read ({err.strerror}); give the gradebook exported "
                       "from Canvas (Grades > Export)") from None
    except UnicodeDecodeError:
        raise LmsError(f"{path}: not UTF-8 text; give the CSV file Canvas exported, as it "
                       "downloaded (a spreadsheet may have saved it in another encoding)") from None
    table = [row for row in csv.reader(io.StringIO(text)) if row]
    if not table or "ID" not in table[0] or "Student" not in table[0]:
        raise LmsError(f"{path}: not a Canvas gradebook export (no 'Student' and 'ID' columns); "
                       "download it in Canvas from Grades > Export > Export Entire Gradebook")
    return table[0], table[1:]


def canvas_column(header: list[str], chapter: str, chosen: str | None) -> str:
    if chosen:
        return chosen
    for name in header:
        if re.sub(r"\s*\(\d+\)$", "", name).strip().lower() == chapter.lower():
            return name
    return chapter


def write_canvas(export: Path, chapters: list[ChapterGrades], out: Path,
                 columns: dict | None = None) -> Export:
    header, rows = read_canvas_export(export)
    identity = [c for c in header if c in CANVAS_IDENTITY]
    where = {c: header.index(c) for c in identity}
    names = [canvas_column(header, c.name, (columns or {}).get(c.name)) for c in chapters]
    result = Export(Path(out))
    lines = [identity + names]
    seen = set()
    for row in rows:
        row = row + [""] * (len(header) - len(row))
        first = row[where["Student"]].strip()
        canvas_id = row[where["ID"]].strip()
        if first == POINTS_POSSIBLE:
            lines.append([row[where[c]] for c in identity] + [f"{c.maximum:g}" for c in chapters])
            continue
        if not canvas_id:
            continue                       # Canvas's other header rows (e.g. posting policy)
        seen.add(canvas_id)
        cells = []
        for chapter in chapters:
            graded = chapter.rows.get(canvas_id)
            why = gradable(graded)
            if why:
                result.left_empty.setdefault(canvas_id, []).append(f"{chapter.name}: {why}")
                cells.append("")
            else:
                cells.append(f"{graded.total:g}")
        result.written += any(cells)
        lines.append([row[where[c]] for c in identity] + cells)
    result.not_in_lms = sorted({s for c in chapters for s in c.rows} - seen)
    _write(out, lines)
    return result


# --- Moodle ------------------------------------------------------------------------------------------------

def moodle_participant(row: ChapterRow) -> bool:
    return any(MOODLE.match(part) for part in re.split(r"[/\\]", row.file))


def write_moodle(chapter: ChapterGrades, out: Path, comment=None) -> Export:
    rows = [r for r in chapter.rows.values() if moodle_participant(r)] or list(chapter.rows.values())
    result = Export(Path(out))
    now = time.strftime("%A, %d %B %Y, %I:%M %p")   # Moodle's own date format (strtotime reads it)
    lines = [MOODLE_COLUMNS]
    for row in rows:
        if not row.student.isdigit():
            result.not_in_lms.append(row.student)
            continue
        why = gradable(row)
        if why:
            result.left_empty.setdefault(row.student, []).append(f"{chapter.name}: {why}")
        grade = "" if why else f"{row.total:g}"
        result.written += not why
        lines.append([MOODLE_PREFIX + row.student, row.name, grade, f"{chapter.maximum:g}",
                      now if grade else "", (comment or default_comment)(chapter, row) if grade else ""])
    _write(out, lines)
    return result


def default_comment(chapter: ChapterGrades, row: ChapterRow) -> str:
    return f"{chapter.name}: {row.total:g} of {row.maximum:g}. The feedback page has the details."


def _write(path: Path, lines: list[list[str]]) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(lines)
