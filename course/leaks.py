"""What must never reach a student: solution code (of any chapter), hidden tests, the grader's
modules, and text meant for the book's readers or the course's maintainers."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat

from core import paths
from core.chapter import BEGIN_HIDDEN, BOOK_ONLY, Chapter

FORBIDDEN = [BEGIN_HIDDEN, "HIDDEN TESTS", "autograder", re.compile(r"\bsolutions\b(?!\s+folded)")]
# Prose a student notebook must not hold: it speaks of the book, of this repository or of the
# machines that build it. Mark such text `book-only` in the master (core/chapter.py).
NOT_FOR_STUDENTS = [re.compile(p, re.I) for p in (
    r"MLP_COURSE_DATA", r"build machines?", r"\bno internet\b", r"rendered book",
    r"\bin the student notebook\b", r"\bbenchmarks/", r"\bthe repository\b")]


def solution_lines(master: Path, min_length: int = 8) -> set[str]:
    """Lines found only inside the master's solution regions: none may reach a student.

    Lines that also appear elsewhere in the master (given code, prose) are not secret, and very
    short ones (``pass``, ``x = 0``) would match by chance, so both are left out.
    """
    secret, public = Chapter.read(master).split_lines()
    return {line for line in secret - public if len(line) >= min_length}


def course_solution_lines(masters: list[Path], min_length: int = 8) -> set[str]:
    """The graded answers of the course: each master's solution lines, except those an earlier
    master (in book order) already shows in the open (``loss.backward()``, taught before a later
    chapter asks for a training loop). A later chapter never shows an earlier chapter's answer:
    when it needs an earlier model it hands out an equivalent written differently, so none of
    these lines may appear in anything a student downloads, whichever chapter it is."""
    answers, shown_before = set(), set()
    for master in sorted(masters):
        secret, public = Chapter.read(master).split_lines()
        answers |= {line for line in secret - public - shown_before if len(line) >= min_length}
        shown_before |= public
    return answers


def book_only_lines(master: Path, min_length: int = 20) -> set[str]:
    """Lines of the master's book-only cells that no other cell of it holds."""
    cells = Chapter.read(master).cells
    only = {line.strip() for c in cells if c.role == BOOK_ONLY for line in c.body.splitlines()}
    elsewhere = {line.strip() for c in cells if c.role != BOOK_ONLY for line in c.node.source.splitlines()}
    return {line for line in only - elsewhere if len(line) >= min_length}


def prose_of(text: str) -> str:
    """The markdown of a notebook's text (the whole text if it is not a notebook)."""
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception:  # noqa: BLE001 (plain text: search all of it)
        return text
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def leaks(text: str, master: Path) -> list[str]:
    """Solution lines of any chapter, grader references, book-only and maintainer text found in
    ``text`` (the student notebook generated from ``master``)."""
    masters = sorted(set(paths.all_masters()) | {Path(master)})
    found = [f"solution line {line!r}" for line in sorted(course_solution_lines(masters)) if line in text]
    found += [f"book-only line {line!r}" for line in sorted(book_only_lines(master)) if line in text]
    for pattern in FORBIDDEN:
        match = pattern.search(text) if isinstance(pattern, re.Pattern) else (pattern if pattern in text else None)
        if match:
            found.append(f"grader reference {match.group(0) if isinstance(pattern, re.Pattern) else match!r}")
    prose = prose_of(text)
    found += [f"text not for students {m.group(0)!r}" for p in NOT_FOR_STUDENTS if (m := p.search(prose))]
    return found
