"""What must never reach a student: solution code, hidden tests, the grader's modules."""
from __future__ import annotations

import re
from pathlib import Path

from .master import BEGIN_HIDDEN, BEGIN_SOLUTION, END_SOLUTION, read_master

FORBIDDEN = [BEGIN_HIDDEN, "HIDDEN TESTS", "autograder", re.compile(r"\bsolutions\b(?!\s+folded)")]


def split_lines(master: Path) -> tuple[set[str], set[str]]:
    """(lines inside the master's solution regions, lines outside them), stripped."""
    inside, secret, public = False, set(), set()
    for node in read_master(master).cells:
        for line in node.source.splitlines():
            stripped = line.strip()
            if stripped in (BEGIN_SOLUTION, END_SOLUTION):
                inside = stripped == BEGIN_SOLUTION
            else:
                (secret if inside else public).add(stripped)
    return secret, public


def solution_lines(master: Path, min_length: int = 8) -> set[str]:
    """Lines found only inside the master's solution regions: none may reach a student.

    Lines that also appear elsewhere in the master (given code, prose) are not secret, and very
    short ones (``pass``, ``x = 0``) would match by chance, so both are left out.
    """
    secret, public = split_lines(master)
    return {line for line in secret - public if len(line) >= min_length}


def course_solution_lines(masters: list[Path], min_length: int = 8) -> set[str]:
    """Solution lines of any of the masters that no master shows in the open.

    A later chapter may hand out an earlier chapter's answer as given code (the spiral chapter
    trains the general-MLP chapter's ``Net``); those lines are published on purpose."""
    secret, public = set(), set()
    for master in masters:
        inside, outside = split_lines(master)
        secret |= inside
        public |= outside
    return {line for line in secret - public if len(line) >= min_length}


def leaks(text: str, master: Path) -> list[str]:
    """Solution lines and grader references found in ``text`` (a student-facing file)."""
    found = [f"solution line {line!r}" for line in sorted(solution_lines(master)) if line in text]
    for pattern in FORBIDDEN:
        match = pattern.search(text) if isinstance(pattern, re.Pattern) else (pattern if pattern in text else None)
        if match:
            found.append(f"grader reference {match.group(0) if isinstance(pattern, re.Pattern) else match!r}")
    return found
