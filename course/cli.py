"""One command for every task: ``python -m course {sync,generate,check,dev,book,grade,handgrade,
term,lms-export,similarity}``.

The Makefile wraps these; run ``python -m course --help`` for the details.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from core import paths


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
    """Fail when a master needs `make sync`, a generated file needs `make generate`, a student
    notebook holds anything of a solution or of the grader, or a hidden check call and the
    checks modules disagree."""
    from .check_calls import problems as check_call_problems
    from .generate import stale_files
    from .sync import sync_all
    problems = [f"{p.relative_to(paths.ROOT)} (run `make sync`)" for p in sync_all(check_only=True)]
    problems += [f"{name} (run `make generate`)" for name in stale_files()]
    problems += student_leaks()
    problems += check_call_problems(paths.masters())
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
    html = build(edition=args.edition, jobs=args.jobs)
    print(f"Book ({args.edition}) built: {html / 'index.html'}")
    return 0


def cmd_grade(args) -> int:
    """Grade a class: collect, repair, grade in parallel, write grades, feedback, review list."""
    from autograder.collect import CollectError
    from autograder.grade import GradingAborted, grade
    from autograder.instructor.handgrade import HandGradeError
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
    except (GradingAborted, CollectError, HandGradeError) as err:
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


def cmd_handgrade(args) -> int:
    """Apply OUT/hand_grades.csv: points and comments into grades.csv, totals and feedback."""
    from autograder.instructor.handgrade import HAND_CSV, HandGradeError, regrade_by_hand
    try:
        results, outcomes = regrade_by_hand(Path(args.out))
    except HandGradeError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    graded = sum(len([g for g in o.graded.values() if g.points is not None])
                 for o in outcomes.values())
    waiting = sum(len(o.waiting) for o in outcomes.values())
    stale = sum(len(o.stale) for o in outcomes.values())
    print(f"Hand grades: {graded} answer(s) graded, {waiting} waiting"
          + (f" ({stale} changed since graded: grade them again)" if stale else "")
          + f"; {Path(args.out) / 'grades.csv'} and feedback updated; fill "
          f"{Path(args.out) / HAND_CSV} and run again.")
    return 0


def cmd_term(args) -> int:
    """The term gradebook over chapters' grading folders: CSV and HTML."""
    from autograder.instructor.gradebook import GradebookError, read_chapter, write_term
    try:
        chapters = [read_chapter(folder) for folder in args.folders]
        csv_path, html_path, rows = write_term(chapters, Path(args.out))
    except GradebookError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"Term gradebook: {len(rows)} students, {len(chapters)} chapters; "
          f"{sum(bool(r.missing) for r in rows)} with something missing. {csv_path}  {html_path}")
    return 0


def cmd_lms_export(args) -> int:
    """Canvas gradebook CSV and/or Moodle grading worksheets from chapters' grading folders."""
    from autograder.instructor.gradebook import GradebookError, read_chapter
    from autograder.instructor.lms import LmsError, write_canvas, write_moodle
    out = Path(args.out)
    try:
        chapters = [read_chapter(folder) for folder in args.folders]
        bad = [item for item in args.column if "=" not in item]
        if bad:
            raise LmsError(f"--column {bad[0]!r}: write CHAPTER=COLUMN, e.g. "
                           "relu_approximation='Lab 1 (4711)'")
        columns = dict(item.split("=", 1) for item in args.column)
        exports = []
        if args.canvas:
            exports.append(write_canvas(Path(args.canvas), chapters, out / "canvas_import.csv",
                                        columns))
        if args.moodle:
            exports += [write_moodle(c, out / f"moodle_{c.name}.csv") for c in chapters]
    except (GradebookError, LmsError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not exports:
        print("error: say which LMS: --canvas EXPORT.csv and/or --moodle", file=sys.stderr)
        return 2
    for export in exports:
        print(f"{export.path}: {export.written} student(s) with grades; "
              f"{len(export.left_empty)} left empty"
              + (f"; not in the LMS file: {', '.join(export.not_in_lms[:10])}"
                 if export.not_in_lms else ""))
    return 0


def cmd_similarity(args) -> int:
    """Pairs of submissions whose code is unusually alike (informs; changes no grade)."""
    from autograder.collect import CollectError
    from autograder.instructor.similarity import compare, chapter_codes, write_report
    try:
        codes, given = chapter_codes(args.chapter, [Path(p) for p in args.submissions],
                                     args.lms, args.name_pattern)
    except CollectError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    pairs = compare(codes, given)
    csv_path, html_path, flagged = write_report(pairs, codes, args.chapter, Path(args.out),
                                                args.threshold)
    print(f"Similarity: {len(codes)} submissions, {len(flagged)} pair(s) with a score of "
          f"{args.threshold:g} or more. {html_path}  {csv_path}")
    for p in flagged[:10]:
        print(f"  {p.a.student} and {p.b.student}: {p.score:.2f}")
    return 0


def use_this_environment() -> None:
    """Tools nbgrader runs as programs (alembic, the kernel) come from this interpreter's venv."""
    bin_dir = str(Path(sys.executable).parent)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != bin_dir:
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def add_term_commands(sub) -> None:
    """The instructor's commands after grading (docs/term.md)."""
    from autograder.instructor.similarity import THRESHOLD
    hand = sub.add_parser("handgrade", help="apply OUT/hand_grades.csv (points and comments of "
                                            "answers graded by hand) to grades.csv and feedback")
    hand.add_argument("out", nargs="?", default="grades", help="a grading folder (default: grades/)")
    term = sub.add_parser("term", help="term gradebook: one row per student over chapters' "
                                       "grading folders (CSV and HTML)")
    term.add_argument("folders", nargs="+", help="grading folders, one per chapter")
    term.add_argument("--out", default="term", help="output folder (default: term/)")
    lms = sub.add_parser("lms-export", help="the files Canvas and Moodle import: Canvas gradebook "
                                            "CSV, Moodle grading worksheets")
    lms.add_argument("folders", nargs="+", help="grading folders, one per chapter")
    lms.add_argument("--canvas", metavar="EXPORT.csv",
                     help="the gradebook exported from Canvas (Grades > Export)")
    lms.add_argument("--column", action="append", default=[], metavar="CHAPTER=COLUMN",
                     help="the Canvas column of a chapter, e.g. relu_approximation='Lab 1 (4711)'")
    lms.add_argument("--moodle", action="store_true",
                     help="one Moodle grading worksheet per chapter (Upload grading worksheet)")
    lms.add_argument("--out", default="lms", help="output folder (default: lms/)")
    sim = sub.add_parser("similarity", help="pairs of submissions with unusually alike code, side "
                                            "by side (HTML); changes no grade")
    sim.add_argument("chapter", help="chapter slug or number")
    sim.add_argument("submissions", nargs="+", help="submitted notebooks, folders or LMS zips")
    sim.add_argument("--out", default="grades", help="output folder (default: grades/)")
    sim.add_argument("--threshold", type=float, default=THRESHOLD,
                     help=f"report pairs scoring at least this (0 to 1, default {THRESHOLD})")
    sim.add_argument("--lms", choices=["auto", "canvas", "moodle", "folders", "files"],
                     default="auto", help="how file names name students (default: auto)")
    sim.add_argument("--name-pattern", default=None, metavar="REGEX",
                     help="regular expression with a group (?P<student>...)")


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
    book.add_argument("--jobs", type=int, default=None,
                      help="chapters executed at once (default: 2 where there are 2 CPUs, else 1)")
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
    add_term_commands(sub)
    args = parser.parse_args(argv)
    handler = {"sync": cmd_sync, "generate": cmd_generate, "check": cmd_check,
               "book": cmd_book, "grade": cmd_grade, "dev": cmd_dev, "handgrade": cmd_handgrade,
               "term": cmd_term, "lms-export": cmd_lms_export,
               "similarity": cmd_similarity}[args.command]
    sys.exit(handler(args))
