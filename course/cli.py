"""One command for every task: ``python -m course {sync,generate,check,dev,book,grade}``.

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


FAST = "not slow and not book and not browser and not mnist"   # pytest markers: see conftest.py


def cmd_dev(args) -> int:
    """The authors' inner loop for one chapter: sync, generate, check it, run its fast tests."""
    import subprocess
    master = paths.master_for(args.chapter)
    os.environ["CHAPTERS"] = master.stem
    slug = master.stem.split("_", 1)[1]
    for step in (cmd_sync, cmd_generate, cmd_check):
        if step(args):
            return 1
    tests = sorted(str(p.relative_to(paths.ROOT)) for p in (paths.ROOT / "tests").glob(f"test_*{slug}*.py"))
    command = [sys.executable, "-m", "pytest", "-q", "-m", FAST, "tests/test_masters.py", *tests]
    print("Running: " + " ".join(command[2:]), flush=True)
    return subprocess.run(command, cwd=paths.ROOT).returncode


def cmd_book(args) -> int:
    from .book import build
    html = build(edition=args.edition)
    print(f"Book ({args.edition}) built: {html / 'index.html'}")
    return 0


def cmd_grade(args) -> int:
    """Grade a class: collect, repair, grade in parallel, write grades, feedback, review list."""
    from autograder.collect import CollectError
    from autograder.grade import GradingAborted, grade
    if args.unsafe_no_sandbox:
        print("WARNING: --unsafe-no-sandbox: students' code runs WITHOUT isolation. It can read "
              "the solutions and the hidden checks, use the network and write outside its "
              "folder. Use this only for notebooks you trust.", file=sys.stderr)
    try:
        results = grade(args.chapter, [Path(p) for p in args.submissions], Path(args.out),
              workers=args.workers, scheduler=args.scheduler, timeout_cell=args.timeout_cell,
              timeout_notebook=args.timeout_notebook, memory_gb=args.memory,
              sandbox=not args.unsafe_no_sandbox, convention=args.lms, pattern=args.name_pattern,
              progress=not args.no_progress and sys.stderr.isatty(),
              log=lambda line: print(line, flush=True))
    except (GradingAborted, CollectError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\nInterrupted. Results so far are kept in {Path(args.out) / '.grader'}: run the "
              "same command again to grade the rest.", file=sys.stderr)
        return 130
    faults = sum(r.status == "grader error" for r in results)
    if faults:
        print(f"error: the grader itself failed on {faults} submission(s) (status 'grader error'; "
              f"logs in {Path(args.out) / 'grader-errors'}). Fix the cause and run the same "
              "command again: only those are graded again.", file=sys.stderr)
        return 3
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
    dev = sub.add_parser("dev", help="one chapter: sync, generate, check, then its fast tests")
    dev.add_argument("chapter", help="chapter slug or number, e.g. spiral_split or 04")
    book = sub.add_parser("book", help="execute the chapters and build the HTML book")
    book.add_argument("--edition", choices=["full", "no-solutions"], default="full",
                      help="'no-solutions' leaves every solution out (for a graded term)")
    grade = sub.add_parser("grade", help="grade a class: LMS zip/folder/notebooks -> grades, "
                                         "feedback, review list (see docs/grading.md)")
    grade.add_argument("chapter", help="chapter slug or number, e.g. relu_approximation or 01")
    grade.add_argument("submissions", nargs="+",
                       help="submitted .ipynb files, folders, or zips downloaded from the LMS")
    grade.add_argument("--out", default="grades", help="output folder (default: grades/)")
    grade.add_argument("--workers", type=int, default=None,
                       help="grading processes on this machine (default: one per CPU core)")
    grade.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="grade on a running Dask cluster, e.g. tcp://10.0.0.5:8786")
    grade.add_argument("--timeout-cell", type=int, default=60, metavar="S",
                       help="seconds a cell may run before it is interrupted (default 60)")
    grade.add_argument("--timeout-notebook", type=int, default=300, metavar="S",
                       help="seconds a notebook may run before its kernel is killed (default 300)")
    grade.add_argument("--memory", type=float, default=4.0, metavar="GB",
                       help="memory a kernel may allocate (default 4)")
    grade.add_argument("--lms", choices=["auto", "canvas", "moodle", "folders", "files"],
                       default="auto", help="how file names name students (default: auto)")
    grade.add_argument("--name-pattern", default=None, metavar="REGEX",
                       help="regular expression with a group (?P<student>...) applied to each "
                            "file's path inside the zip or folder")
    grade.add_argument("--no-progress", action="store_true", help="no progress bar")
    grade.add_argument("--unsafe-no-sandbox", action="store_true",
                       help="run students' code without isolation (only where Linux user "
                            "namespaces are unavailable, and only for trusted notebooks)")
    args = parser.parse_args(argv)
    handler = {"sync": cmd_sync, "generate": cmd_generate, "check": cmd_check,
               "book": cmd_book, "grade": cmd_grade, "dev": cmd_dev}[args.command]
    sys.exit(handler(args))
