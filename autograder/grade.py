"""Grade a class: collect, repair, grade in parallel (Dask), write grades, feedback and a review list.

``python -m course grade CHAPTER SUBMISSIONS... [--out DIR] [--workers N] [--scheduler ADDR] ...``
(or ``make grade``) runs :func:`grade`. The steps:

1. **collect** (:mod:`autograder.collect`): LMS zips, folders and notebooks become one submission
   per student (Canvas/Moodle/Colab names, the latest of several, safe unpacking into
   ``OUT/submissions``);
2. **bundle**: the chapter's nbgrader template (``generate_assignment`` once), student notebook,
   checks and reference, limits; its fingerprint keys the results;
3. **grade**: each submission not already in the results store is a task
   (:func:`autograder.worker.grade_task`) on a Dask cluster: an embedded ``LocalCluster`` (one
   process per worker, one thread each) or ``--scheduler ADDRESS``; a tqdm bar shows progress;
4. **write** (this process is the one writer): ``OUT/.grader/results/<key>.json`` as each result
   arrives (so an interrupted run resumes and a late submission is graded alone), then
   ``grades.csv``, feedback under ``OUT/nbgrader/feedback/``, autograded notebooks under
   ``OUT/nbgrader/autograded/``, and ``needs_review.csv``.

Originals are only read. A submission that cannot be read or graded gets a row with its reason.
"""
from __future__ import annotations

import ast
import contextlib
import csv
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from course import paths
from course.master import BEGIN_HIDDEN, END_HIDDEN, chapter_slug, parse_directive, read_master
from .faults import GraderFault, from_exception
from .collect import CollectError, Submission, collect, student_id  # noqa: F401 (re-exported)
from .instructor import handgrade
from .repair import SubmissionError, chapter_keys  # noqa: F401 (re-exported)
from .worker import GRADER_VERSION, Bundle, Limits, fingerprint, grade_task

STATUSES = ("graded", "needs review", "failed", "grader error")
BASE_PRELOAD = ["ipykernel.kernelapp", "ipykernel.ipkernel", "IPython.core.interactiveshell",
                "numpy", "torch", "matplotlib", "matplotlib.pyplot"]
NEVER_PRELOAD = ("autograder", "solutions", "google", "course", "tests")


class GradingAborted(RuntimeError):
    """The whole run cannot go on (e.g. no sandbox); the message says what to do."""


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


# --- the chapter bundle -----------------------------------------------------------------------------------

def grader_sources(slug: str) -> list[Path]:
    """The code whose change may change grades (its hash is part of every result's key)."""
    files = sorted(paths.AUTOGRADER.glob("*.py")) + sorted(paths.AUTOGRADER.glob("sandbox/*.py"))
    files += sorted(paths.AUTOGRADER.glob("preprocessors/*.py"))
    files += [paths.AUTOGRADER / "checks" / "compare.py", paths.AUTOGRADER / "checks" / f"{slug}.py",
              paths.ROOT / "course" / "master.py"]
    return files


def hidden_check_map(master_nb, slug: str) -> dict[str, list[str]]:
    """Test cell id -> the names of the hidden checks its hidden block calls."""
    found = {}
    for node in master_nb.cells:
        role, ident, _ = parse_directive(node)
        if role != "check" or BEGIN_HIDDEN not in node.source:
            continue
        hidden = node.source.split(BEGIN_HIDDEN, 1)[1].split(END_HIDDEN, 1)[0]
        calls = re.findall(r"check\(\s*['\"](\w+)['\"]\s*,\s*['\"](\w+)['\"]", hidden)
        found[ident] = [name for chapter, name in calls if chapter == slug]
    return found


def max_points(master_nb) -> dict[str, float]:
    points = {}
    for node in master_nb.cells:
        role, ident, options = parse_directive(node)
        if role in ("check", "think") and ident:
            points[ident] = float(options.get("points", 0) or 0)
    return points


def preload_modules(student_nb) -> list[str]:
    """Modules the chapter imports, preloaded once in each worker's kernel fork server."""
    import importlib.util
    names = set(BASE_PRELOAD)
    for node in student_nb.cells:
        if node.cell_type != "code":
            continue
        try:
            tree = ast.parse("\n".join(line for line in node.source.splitlines()
                                       if not line.lstrip().startswith(("!", "%"))))
        except SyntaxError:
            continue
        for stmt in ast.walk(tree):
            if isinstance(stmt, ast.Import):
                names.update(alias.name for alias in stmt.names)
            elif isinstance(stmt, ast.ImportFrom) and stmt.module and not stmt.level:
                names.add(stmt.module)
    usable = []
    for name in sorted(names):
        if name.split(".")[0] in NEVER_PRELOAD:
            continue
        try:
            if importlib.util.find_spec(name) is not None:
                usable.append(name)
        except (ImportError, ValueError):
            continue
    return usable


def chapter_files(chapter: str) -> dict:
    """What a chapter's grading depends on, read once."""
    master = paths.master_for(chapter)
    slug = chapter_slug(master)
    student_path = paths.STUDENTS / master.name
    if not student_path.exists():
        raise GradingAborted(f"{student_path} is missing: run `make generate` first")
    data = os.environ.get("MLP_COURSE_DATA") or str(paths.ROOT / "data")
    if "MLP_COURSE_DATA" in master.read_text():
        from course.mnist_data import provisioned_root  # the chapter reads MNIST, offline
        data = str(provisioned_root())
    return {"master": master, "slug": slug, "source_text": master.read_text(),
            "student_text": student_path.read_text(),
            "checks_source": (paths.AUTOGRADER / "checks" / f"{slug}.py").read_text(),
            "reference_source": (paths.SOLUTIONS / f"{slug}.py").read_text(),
            "data_dir": data if Path(data).is_dir() else None}


def bundle_key(files: dict, limits: Limits, sandbox: bool) -> str:
    """The fingerprint of everything that may change a grade: chapter, grader code, limits."""
    return fingerprint(GRADER_VERSION, files["source_text"], files["student_text"],
                       files["reference_source"], limits, sandbox, files["data_dir"],
                       *(p.read_bytes() for p in grader_sources(files["slug"]) if p.exists()))


def build_bundle(chapter: str, limits: Limits, sandbox: bool, cache: Path) -> Bundle:
    import nbformat

    from .workspace import Workspace
    files = chapter_files(chapter)
    master, slug = files["master"], files["slug"]
    source_text, student_text = files["source_text"], files["student_text"]
    checks_source, reference_source = files["checks_source"], files["reference_source"]
    data_dir = files["data_dir"]
    key = bundle_key(files, limits, sandbox)
    cache.mkdir(parents=True, exist_ok=True)
    template = cache / f"template-{key[:16]}.db"
    if not template.exists():
        with tempfile.TemporaryDirectory(dir=cache) as folder:
            workspace = Workspace(Path(folder), master)
            workspace.generate_assignment()
            shutil.copyfile(Path(folder) / "gradebook.db", template.with_suffix(".tmp"))
        template.with_suffix(".tmp").replace(template)
    master_nb = read_master(master)
    student_nb = nbformat.reads(student_text, as_version=4)
    others = {}
    for other in paths.all_masters():
        other_student = paths.STUDENTS / other.name
        if other != master and other_student.exists():
            try:
                others[chapter_slug(other)] = sorted(
                    chapter_keys(nbformat.read(str(other_student), as_version=4)))
            except Exception:  # noqa: BLE001 (a half-written chapter elsewhere is no reason to stop)
                continue
    return Bundle(slug=slug, notebook=master.stem, source_text=source_text,
                  gradebook=template.read_bytes(), student_text=student_text,
                  checks_source=checks_source, reference_source=reference_source,
                  check_map=hidden_check_map(master_nb, slug), max_scores=max_points(master_nb),
                  others=others, preload=preload_modules(student_nb), limits=limits,
                  sandbox=sandbox, fingerprint=key, data_dir=data_dir)


# --- the results store (this process is its only writer) ------------------------------------------------------

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


# --- running the tasks --------------------------------------------------------------------------------------------

def run_inline(jobs: list[dict], bundle: Bundle, on_result) -> None:
    for job in jobs:
        on_result(job, grade_task(job, bundle), None)


def run_dask(jobs: list[dict], bundle_factory, preload: list[str], workers: int,
             scheduler: str | None, on_result, log) -> Bundle:
    from distributed import Client, LocalCluster, as_completed

    from .sandbox.kernel import SandboxUnavailable  # noqa: F401 (a name workers may raise)
    cluster = shared = None
    if scheduler:
        client = Client(scheduler, timeout="30s")
        log(f"Grading on the Dask cluster at {scheduler} "
            f"({len(client.scheduler_info()['workers'])} workers).")
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=":0", silence_logs=logging.ERROR,
                               memory_limit=0)
        client = Client(cluster)
    try:
        for address in client.scheduler_info()["workers"]:   # start fork servers meanwhile
            client.submit(warm_worker, preload, workers=[address], allow_other_workers=False,
                          pure=False, key=f"warm-{address}")
        bundle = bundle_factory()
        shared = client.scatter(bundle, broadcast=True)
        futures = {client.submit(grade_task, job, shared, key=f"grade-{job['key']}", pure=False,
                                 retries=1): job for job in jobs}
        try:
            for future in as_completed(futures):
                job = futures[future]
                try:
                    record, error = future.result(), None
                except Exception as err:  # noqa: BLE001 (a worker crash is reported, not raised)
                    record, error = None, err
                    if type(err).__name__ == "SandboxUnavailable":
                        for other in futures:
                            other.cancel()
                        raise GradingAborted(str(err)) from None
                on_result(job, record, error)
        except BaseException:
            for other in futures:
                other.cancel()
            raise
        return bundle
    finally:
        with contextlib.suppress(Exception):
            client.cancel([shared])   # scattered data goes first, quietly
        client.close()
        if cluster is not None:
            cluster.close()


def warm_worker(preload: list[str]) -> None:
    """Start the worker's kernel fork server before its first submission arrives."""
    from .sandbox.kernel import zygote_for
    from .worker import quiet_logs
    quiet_logs()
    zygote_for(preload)


# --- the command ----------------------------------------------------------------------------------------------------

def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def grade(chapter: str, submissions, out, *, workers: int | None = None,
          scheduler: str | None = None, timeout_cell: int = 60, timeout_notebook: int = 300,
          memory_gb: float = 4.0, sandbox: bool = True, convention: str = "auto",
          pattern: str | None = None, progress: bool = False, log=None,
          on_result=None) -> list[Result]:
    """Grade every submission of one chapter; write grades.csv, feedback and the review list.

    ``submissions``: notebooks, folders or LMS zips (a list), or ``{student: notebook}``.
    ``workers=0`` grades in this process (no Dask), for debugging. ``on_result(Result)`` is called
    as each submission's result is stored (what is stored survives an interruption).
    """
    log = log or (lambda message: None)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    state = out / ".grader"
    store = Store(state / "results")
    limits = Limits(timeout_cell=int(timeout_cell), timeout_notebook=int(timeout_notebook),
                    memory_gb=float(memory_gb))
    master = paths.master_for(chapter)
    if sandbox and not scheduler:
        from .sandbox.kernel import SandboxUnavailable, probe_sandbox
        try:
            probe_sandbox()
        except SandboxUnavailable as err:
            raise GradingAborted(str(err)) from None
    started = time.perf_counter()
    hand_grades = handgrade.Snapshot.take(out)   # hand grades: read now, applied when writing
    subs = collect(submissions, convention=convention, pattern=pattern,
                   unpack_to=out / "submissions")
    # The bundle's template (nbgrader generate_assignment, seconds, cached) is built once the
    # cluster is up, while its workers start their kernel fork servers. Not in a thread: nbgrader
    # changes the process's working folder while it converts, which new workers would inherit.
    made: dict = {}

    def bundle_factory() -> Bundle:
        if "bundle" not in made:
            made["bundle"] = _quietly(build_bundle, str(master), limits, sandbox, state)
        return made["bundle"]

    files = chapter_files(str(master))
    chapter_key = bundle_key(files, limits, sandbox)
    points = max_points(read_master(master))
    preload = preload_modules(nbformat.reads(files["student_text"], as_version=4))
    results: dict[str, Result] = {}
    jobs = []
    for sub in subs:
        key = fingerprint(chapter_key, sub.student, sub.sha256)[:32]
        if sub.problem or sub.data is None:
            results[sub.student] = Result(sub.student, sub.file, "failed", {}, dict(points),
                                          [*sub.notes, f"{sub.file}: {sub.problem}"],
                                          name=sub.name, key=key)
            continue
        record = store.load(key)
        if record is not None:
            results[sub.student] = to_result(record, sub, store, reused=True)
            continue
        jobs.append({"key": key, "student": sub.student, "file": sub.file, "data": sub.data,
                     "notes": sub.notes})
    by_key = {sub.student: sub for sub in subs}
    counts = {"done": 0, "failed": 0}
    n = workers if workers is not None else default_workers()
    reused = sum(r.reused for r in results.values())
    if jobs:
        log(f"Grading {len(jobs)} submission(s) of {files['slug']}"
            + (f" ({reused} already graded)" if reused else "")
            + ("" if scheduler else f" with {n} worker(s)") + ".")
    bar = _progress(len(jobs), progress)

    def record_result(job, record, error) -> None:
        sub = by_key[job["student"]]
        if record is None or record.get("fault"):   # the grader's trouble: reported, never kept
            fault = from_exception(error) if record is None else GraderFault(**record["fault"])
            results[sub.student] = grader_error(sub, fault, points, job["key"], out)
        else:
            record.update(file=sub.file, name=sub.name)
            results[sub.student] = to_result(store.save(record), sub, store)
        if on_result is not None:
            on_result(results[sub.student])
        failed = results[sub.student].status in ("failed", "grader error")
        counts["failed" if failed else "done"] += 1
        if bar is not None:
            bar.set_postfix(done=counts["done"], failed=counts["failed"],
                            left=len(jobs) - counts["done"] - counts["failed"], refresh=False)
            bar.update(1)

    if jobs:
        try:
            if n == 0 and not scheduler:
                run_inline(jobs, bundle_factory(), record_result)
            else:
                run_dask(jobs, bundle_factory, preload, n, scheduler, record_result, log)
        finally:
            if bar is not None:
                bar.close()
    bundle = bundle_factory()
    ordered = [results[sub.student] for sub in subs if sub.student in results]
    handgrade.finish(ordered, bundle, out, store, hand_grades)  # write_outputs, with hand grades
    log(summary(ordered, bundle, time.perf_counter() - started, len(jobs), out))
    return ordered


def _quietly(function, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args)


def _progress(total: int, enabled: bool):
    if not enabled or not total:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, desc="grading", unit="nb", dynamic_ncols=True, file=sys.stderr,
                postfix={"done": 0, "failed": 0, "left": total})


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

def write_outputs(results: list[Result], bundle: Bundle, out: Path, store: Store) -> None:
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


def summary(results: list[Result], bundle: Bundle, seconds: float, graded_now: int,
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
