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

:func:`grade` is three steps: :func:`plan` (collect, and find what is already in the results
store), :func:`run` (the jobs left, inline or on Dask, each result stored as it arrives),
:func:`report` (hand grades applied, then every output written and a summary).

Originals are only read. A submission that cannot be read or graded gets a row with its reason.
"""
from __future__ import annotations

import ast
import contextlib
import logging
import os
import sys
import tempfile
import time
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from core import paths
from core.chapter import Chapter, chapter_slug

from .collect import CollectError, Submission, collect, student_id  # noqa: F401 (re-exported)
from .faults import from_exception
from .instructor import handgrade
from .repair import SubmissionError, chapter_keys  # noqa: F401 (re-exported)
from .results import (STATUSES, Result, Store, grader_error, to_result,  # noqa: F401 (re-exported)
                      write_csv, write_outputs, write_review)
from .results import summary as summary_text
from .sandbox.kernel import SandboxUnavailable, probe_sandbox
from .worker import GRADER_VERSION, Bundle, Job, Limits, TaskResult, fingerprint, grade_task, warm_worker

BASE_PRELOAD = ["ipykernel.kernelapp", "ipykernel.ipkernel", "IPython.core.interactiveshell",
                "numpy", "torch", "matplotlib", "matplotlib.pyplot"]
NEVER_PRELOAD = ("autograder", "solutions", "google", "core", "course", "tests")


class GradingAborted(RuntimeError):
    """The whole run cannot go on (e.g. no sandbox); the message says what to do."""


# --- the chapter bundle -----------------------------------------------------------------------------------

@dataclass
class ChapterFiles:
    """What a chapter's grading depends on, read once."""

    chapter: Chapter
    source_text: str                   # the master
    student_text: str                  # the student notebook generated from it
    checks_source: str
    reference_source: str
    data_dir: str | None               # the data sets the chapter declares, provisioned

    @property
    def master(self) -> Path:
        return self.chapter.path

    @property
    def slug(self) -> str:
        return self.chapter.slug


def grader_sources(slug: str) -> list[Path]:
    """The code whose change may change grades (its hash is part of every result's key)."""
    files = sorted(paths.AUTOGRADER.glob("*.py")) + sorted(paths.AUTOGRADER.glob("sandbox/*.py"))
    files += sorted(paths.AUTOGRADER.glob("preprocessors/*.py"))
    files += [paths.CHECKS / "compare.py", paths.CHECKS / f"{slug}.py"]
    files += sorted((paths.ROOT / "core").glob("*.py"))
    return files


def preload_modules() -> list[str]:
    """Modules the course's student notebooks import, preloaded once in each worker's kernel fork
    server. One list for every chapter: a worker that grades chapter after chapter (a cluster
    given with ``--scheduler``, or the tests' shared one) keeps its fork server instead of starting
    a new one (seconds: it imports PyTorch) for each chapter."""
    import importlib.util
    names = set(BASE_PRELOAD)
    for student in sorted(paths.STUDENTS.glob("[0-9][0-9]_*.ipynb")):
        names |= imported_modules(nbformat.read(str(student), as_version=4))
    usable = []
    for name in sorted(names):
        top = name.split(".")[0]
        if top in NEVER_PRELOAD:
            continue
        try:   # the top-level package only: finding `torch.nn` would import torch here (5 s)
            if importlib.util.find_spec(top) is not None:
                usable.append(name)
        except (ImportError, ValueError):
            continue
    return usable


def imported_modules(notebook) -> set[str]:
    """The absolute module names a notebook's code cells import (shell lines skipped)."""
    names = set()
    for node in notebook.cells:
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
    return names


def chapter_files(chapter: str) -> ChapterFiles:
    """What a chapter's grading depends on, read once."""
    master = paths.master_for(chapter)
    parsed = Chapter.read(master)
    student_path = paths.STUDENTS / master.name
    if not student_path.exists():
        raise GradingAborted(f"{student_path} is missing: run `make generate` first")
    data = os.environ.get("MLP_COURSE_DATA") or str(paths.ROOT / "data")
    if "mnist" in parsed.data:
        from core.mnist_data import provisioned_root  # the chapter reads MNIST, offline
        data = str(provisioned_root())
    return ChapterFiles(parsed, master.read_text(), student_path.read_text(),
                        (paths.CHECKS / f"{parsed.slug}.py").read_text(),
                        (paths.SOLUTIONS / f"{parsed.slug}.py").read_text(),
                        data if Path(data).is_dir() else None)


def bundle_key(files: ChapterFiles, limits: Limits, sandbox: bool) -> str:
    """The fingerprint of everything that may change a grade: chapter, grader code, limits."""
    return fingerprint(GRADER_VERSION, files.source_text, files.student_text,
                       files.reference_source, limits, sandbox, files.data_dir,
                       *(p.read_bytes() for p in grader_sources(files.slug) if p.exists()))


def template(files: ChapterFiles, key: str, cache: Path) -> bytes:
    """The gradebook nbgrader's ``generate_assignment`` writes for the chapter (cached by key)."""
    from core.workspace import Workspace
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"template-{key[:16]}.db"
    if not path.exists():
        with tempfile.TemporaryDirectory(dir=cache) as folder:
            Workspace(Path(folder), files.master).generate_assignment()
            shutil.copyfile(Path(folder) / "gradebook.db", path.with_suffix(".tmp"))
        path.with_suffix(".tmp").replace(path)
    return path.read_bytes()


def other_chapters(master: Path) -> dict[str, list[str]]:
    """Every other chapter's graded-cell keys (to say which chapter a wrong notebook is of)."""
    others = {}
    for other in paths.all_masters():
        other_student = paths.STUDENTS / other.name
        if other != master and other_student.exists():
            try:
                others[chapter_slug(other)] = sorted(
                    chapter_keys(nbformat.read(str(other_student), as_version=4)))
            except Exception:  # noqa: BLE001 (a half-written chapter elsewhere is no reason to stop)
                continue
    return others


def build_bundle(chapter: str, limits: Limits, sandbox: bool, cache: Path) -> Bundle:
    files = chapter_files(chapter)
    key = bundle_key(files, limits, sandbox)
    parsed = files.chapter
    return Bundle(slug=parsed.slug, notebook=parsed.notebook, source_text=files.source_text,
                  gradebook=template(files, key, cache), student_text=files.student_text,
                  checks_source=files.checks_source, reference_source=files.reference_source,
                  check_map=parsed.check_map(), hidden_lines=parsed.hidden_lines(),
                  max_scores=parsed.points, others=other_chapters(files.master),
                  preload=preload_modules(), limits=limits, sandbox=sandbox,
                  fingerprint=key, data_dir=files.data_dir)


# --- running the tasks --------------------------------------------------------------------------------------------

def run_inline(jobs: list[Job], bundle: Bundle, on_result) -> None:
    for job in jobs:
        on_result(job, grade_task(job, bundle), None)


def local_cluster(workers: int):
    """The Dask cluster the command starts on this machine: one process per worker, one task at
    a time in each (a worker grades one submission at a time), no memory limit of Dask's own
    (the sandbox limits each kernel)."""
    from distributed import LocalCluster
    return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                        dashboard_address=":0", silence_logs=logging.ERROR, memory_limit=0)


def run_dask(jobs: list[Job], bundle_factory, preload: list[str], workers: int,
             scheduler: str | None, on_result, log) -> Bundle:
    from distributed import Client, as_completed

    cluster = shared = None
    if scheduler:
        client = Client(scheduler, timeout="30s")
        log(f"Grading on the Dask cluster at {scheduler} "
            f"({len(client.scheduler_info()['workers'])} workers).")
    else:
        cluster = local_cluster(workers)
        client = Client(cluster)
    try:
        for address in client.scheduler_info()["workers"]:   # start fork servers meanwhile
            client.submit(warm_worker, preload, workers=[address], allow_other_workers=False,
                          pure=False, key=f"warm-{address}")
        bundle = bundle_factory()
        shared = client.scatter(bundle, broadcast=True)
        futures = {client.submit(grade_task, job, shared, key=f"grade-{job.key}", pure=False,
                                 retries=1): job for job in jobs}
        try:
            for future in as_completed(futures):
                job = futures[future]
                try:
                    result, error = future.result(), None
                except SandboxUnavailable as err:   # no kernel can start: nothing can be graded
                    for other in futures:
                        other.cancel()
                    raise GradingAborted(str(err)) from None
                except Exception as err:  # noqa: BLE001 (a worker crash is reported, not raised)
                    result, error = None, err
                on_result(job, result, error)
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


# --- the command ----------------------------------------------------------------------------------------------------

def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


@dataclass
class Plan:
    """What a run does: the submissions, the jobs left to grade, the rows already known."""

    files: ChapterFiles
    submissions: list[Submission]
    jobs: list[Job]
    results: dict[str, Result]         # student -> row (failed to collect, or stored before)
    points: dict[str, float]
    preload: list[str]

    @property
    def reused(self) -> int:
        return sum(r.reused for r in self.results.values())


def plan(chapter: str, submissions, out: Path, limits: Limits, sandbox: bool, store: Store,
         convention: str = "auto", pattern: str | None = None) -> Plan:
    """Collect the submissions; each becomes a failed row, a stored result or a job."""
    subs = collect(submissions, convention=convention, pattern=pattern,
                   unpack_to=out / "submissions")
    files = chapter_files(chapter)
    chapter_key = bundle_key(files, limits, sandbox)
    points = files.chapter.points
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
        jobs.append(Job(key, sub.student, sub.file, sub.data, sub.notes))
    preload = preload_modules()
    return Plan(files, subs, jobs, results, points, preload)


@dataclass
class Recorder:
    """Takes each task's result as it arrives: stores it (or reports the grader's fault), tells
    ``on_result`` and moves the progress bar. This process is the store's one writer."""

    plan: Plan
    store: Store
    out: Path
    on_result: object = None
    bar: object = None
    counts: dict = field(default_factory=lambda: {"done": 0, "failed": 0})

    def __post_init__(self):
        self.by_student = {sub.student: sub for sub in self.plan.submissions}

    def __call__(self, job: Job, task: TaskResult | None, error: BaseException | None) -> None:
        sub = self.by_student[job.student]
        if task is None or task.fault is not None:   # the grader's trouble: reported, never kept
            fault = from_exception(error) if task is None else task.fault
            row = grader_error(sub, fault, self.plan.points, job.key, self.out)
        else:
            record = task.record()
            record.update(file=sub.file, name=sub.name)
            row = to_result(self.store.save(record), sub, self.store)
        self.plan.results[sub.student] = row
        if self.on_result is not None:
            self.on_result(row)
        self.counts["failed" if row.status in ("failed", "grader error") else "done"] += 1
        if self.bar is not None:
            left = len(self.plan.jobs) - self.counts["done"] - self.counts["failed"]
            self.bar.set_postfix(done=self.counts["done"], failed=self.counts["failed"], left=left,
                                 refresh=False)
            self.bar.update(1)


def run(work: Plan, recorder: Recorder, bundle_factory, workers: int, scheduler: str | None,
        progress: bool, log) -> None:
    """Grade the plan's jobs: inline (``workers=0``) or on a Dask cluster."""
    if not work.jobs:
        return
    reused = work.reused
    log(f"Grading {len(work.jobs)} submission(s) of {work.files.slug}"
        + (f" ({reused} already graded)" if reused else "")
        + ("" if scheduler else f" with {workers} worker(s)") + ".")
    recorder.bar = _progress(len(work.jobs), progress)
    try:
        if workers == 0 and not scheduler:
            run_inline(work.jobs, bundle_factory(), recorder)
        else:
            run_dask(work.jobs, bundle_factory, work.preload, workers, scheduler, recorder, log)
    finally:
        if recorder.bar is not None:
            recorder.bar.close()


def report(work: Plan, bundle: Bundle, out: Path, store: Store, hand_grades, seconds: float,
           log) -> list[Result]:
    """Hand grades applied, then grades.csv, feedback, the review list and the summary."""
    ordered = [work.results[sub.student] for sub in work.submissions if sub.student in work.results]
    handgrade.finish(ordered, bundle, out, store, hand_grades)  # write_outputs, with hand grades
    log(summary_text(ordered, bundle, seconds, len(work.jobs), out))
    return ordered


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
        try:
            probe_sandbox()
        except SandboxUnavailable as err:
            raise GradingAborted(str(err)) from None
    started = time.perf_counter()
    hand_grades = handgrade.Snapshot.take(out)   # hand grades: read now, applied when writing
    work = plan(str(master), submissions, out, limits, sandbox, store, convention, pattern)
    # The bundle's template (nbgrader generate_assignment, seconds, cached) is built once the
    # cluster is up, while its workers start their kernel fork servers. Not in a thread: nbgrader
    # changes the process's working folder while it converts, which new workers would inherit.
    made: dict = {}

    def bundle_factory() -> Bundle:
        if "bundle" not in made:
            made["bundle"] = _quietly(build_bundle, str(master), limits, sandbox, state)
        return made["bundle"]

    recorder = Recorder(work, store, out, on_result)
    run(work, recorder, bundle_factory, workers if workers is not None else default_workers(),
        scheduler, progress, log)
    return report(work, bundle_factory(), out, store, hand_grades, time.perf_counter() - started,
                  log)


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
