"""One command for every task: ``python -m course {sync,generate,check,book,grade}``.

The Makefile wraps these; run ``python -m course --help`` for the details.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import paths


def cmd_sync(args) -> int:
    from .sync import sync_all
    changed = sync_all()
    print("Masters synced: " + (", ".join(p.name for p in changed) if changed else "nothing changed."))
    return 0


def cmd_generate(args) -> int:
    from .generate import write_all
    changed = write_all()
    print("Generated: " + (", ".join(str(p.relative_to(paths.ROOT)) for p in changed)
                           if changed else "everything was up to date."))
    return 0


def cmd_check(args) -> int:
    """Fail when a master needs `make sync`, a generated file needs `make generate`, or a
    student notebook holds anything of a solution or of the grader."""
    from .generate import stale_files
    from .sync import sync_all
    problems = [f"{p.relative_to(paths.ROOT)} (run `make sync`)" for p in sync_all(check_only=True)]
    problems += [f"{name} (run `make generate`)" for name in stale_files()]
    problems += student_leaks()
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    if not problems:
        print("Masters and generated files are fresh.")
    return 1 if problems else 0


def student_leaks() -> list[str]:
    from .leaks import leaks
    problems = []
    for master in paths.masters():
        student = paths.STUDENTS / master.name
        if student.exists():
            problems += [f"{student.relative_to(paths.ROOT)} leaks {what}"
                         for what in leaks(student.read_text(), master)]
    return problems


def cmd_book(args) -> int:
    from .book import build
    html = build(edition=args.edition)
    print(f"Book ({args.edition}) built: {html / 'index.html'}")
    return 0


def cmd_grade(args) -> int:
    from autograder.grade import grade
    results = grade(args.chapter, [Path(p) for p in args.submissions], Path(args.out))
    for r in results:
        print(f"{r.student:30s} {r.total:5g}/{r.max_total:g}  {r.status}"
              + (f"  ({'; '.join(r.notes)})" if r.notes else ""))
    print(f"Grades: {Path(args.out) / 'grades.csv'}")
    return 0


def use_this_environment() -> None:
    """Tools nbgrader runs as programs (alembic, the kernel) come from this interpreter's venv."""
    bin_dir = str(Path(sys.executable).parent)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != bin_dir:
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def main(argv=None) -> None:
    use_this_environment()
    parser = argparse.ArgumentParser(prog="python -m course", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("sync", help="stamp setup cells and write nbgrader metadata into the masters")
    sub.add_parser("generate", help="write student notebooks and solution modules")
    sub.add_parser("check", help="fail if masters or generated files are stale")
    book = sub.add_parser("book", help="execute the chapters and build the HTML book")
    book.add_argument("--edition", choices=["full", "no-solutions"], default="full",
                      help="'no-solutions' leaves every solution out (for a graded term)")
    grade = sub.add_parser("grade", help="autograde submissions of one chapter")
    grade.add_argument("chapter", help="chapter slug or number, e.g. relu_approximation or 01")
    grade.add_argument("submissions", nargs="+", help="submitted .ipynb files")
    grade.add_argument("--out", default="grades", help="output folder (default: grades/)")
    args = parser.parse_args(argv)
    handler = {"sync": cmd_sync, "generate": cmd_generate, "check": cmd_check,
               "book": cmd_book, "grade": cmd_grade}[args.command]
    sys.exit(handler(args))
