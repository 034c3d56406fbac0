"""Grading one submission: the task a grading worker runs (in a Dask worker process, or inline).

``grade_task(job, bundle)`` takes a :class:`Job` (the submission's bytes) and the chapter's
:class:`Bundle` (made once by the client and shipped to every worker: the nbgrader template, the
student notebook, the checks' and reference's source, the limits) and returns a
:class:`TaskResult`: scores, status, notes, feedback HTML, the autograded notebook, or the
grader's own fault. Both are plain dataclasses (pickled by Dask). It writes nothing outside its own scratch folder, so a
worker needs no shared file system and the client stays the one writer of results.

Per submission: read and repair the notebook; build an nbgrader course folder from the template;
start an oracle (checks + reference, in this process) and a sandboxed kernel forked from this
process's zygote; run ``nbgrader autograde`` under a per-notebook watchdog; then a test cell
keeps its points only if nbgrader passed it AND the oracle saw each of its hidden checks run and
pass; feedback is generated from that.
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from core import paths
from core.chapter import GRADED_ROLES, parse_directive

from .faults import GraderFault, from_exception, root_cause
from .repair import SubmissionError, identify_chapter, read_notebook, repair
from .sandbox.kernel import SandboxUnavailable

GRADER_VERSION = "3"  # bump when a change to the grader may change grades (invalidates stored results)


@dataclass
class Limits:
    timeout_cell: int = 60             # seconds per cell (nbclient interrupts the kernel)
    timeout_notebook: int = 300        # seconds per notebook (the kernel is killed)
    memory_gb: float = 4.0             # address space a kernel may add to what it starts with
    output_mb: int = 2                 # output kept per notebook
    tmpfs_mb: int = 256                # each of $HOME, /tmp and /dev/shm in the sandbox
    file_mb: int = 256                 # largest file a kernel may write
    startup_timeout: int = 120


@dataclass
class Bundle:
    """Everything a worker needs to grade one chapter; the same for every submission."""

    slug: str
    notebook: str                      # notebook name in nbgrader (the master's stem)
    source_text: str                   # the master notebook (nbgrader source)
    gradebook: bytes                   # gradebook.db after generate_assignment (template)
    student_text: str                  # the student notebook: what submissions are repaired to
    checks_source: str
    reference_source: str
    check_map: dict                    # test cell grade id -> hidden check names it calls
    hidden_lines: list                 # lines of the hidden tests, scrubbed from outputs
    max_scores: dict                   # grade id -> points, in notebook order
    others: dict                       # other chapter slug -> its graded-cell keys
    preload: list
    limits: Limits
    sandbox: bool = True
    fingerprint: str = ""
    data_dir: str | None = None        # read-only course data the kernels may read

    @property
    def assignment(self) -> str:
        return self.slug


@dataclass
class Job:
    """One submission to grade: its key in the results store and its bytes."""

    key: str
    student: str
    file: str
    data: bytes
    notes: list = field(default_factory=list)


@dataclass
class TaskResult:
    """What grading one submission gave: stored (``record()``) unless the grader was at fault."""

    key: str
    student: str
    max_scores: dict
    notes: list
    status: str = "graded"             # graded | needs review | failed | grader error
    scores: dict = field(default_factory=dict)
    answers: dict = field(default_factory=dict)
    feedback_html: str | None = None
    autograded: str | None = None
    worker: int = 0
    seconds: float = 0.0
    fault: GraderFault | None = None   # the grader's trouble: reported and retried, never stored

    def record(self) -> dict:
        """The results store's JSON record (with the feedback page and notebook, which the store
        keeps in files of their own)."""
        record = asdict(self)
        del record["fault"]
        return record


class _Cache:
    fingerprint = None
    student = None
    checks = None
    reference = None
    check_failed = None


_CACHE = _Cache()
_LOCK = threading.Lock()


def prepared(bundle: Bundle) -> _Cache:
    """Parse and load what a bundle holds, once per process."""
    if _CACHE.fingerprint != bundle.fingerprint:
        from .checks.compare import CheckFailed
        from .sandbox.oracle import load_module
        _CACHE.student = nbformat.reads(bundle.student_text, as_version=4)
        _CACHE.reference = load_module(f"_reference_{bundle.slug}", bundle.reference_source,
                                       f"solutions/{bundle.slug}.py")
        _CACHE.checks = load_module(f"_checks_{bundle.slug}", bundle.checks_source,
                                    f"autograder/checks/{bundle.slug}.py")
        _CACHE.check_failed = CheckFailed
        _CACHE.fingerprint = bundle.fingerprint
    return _CACHE


def readonly_paths(bundle: Bundle) -> list[str]:
    """What a kernel may read besides the system: the interpreter, the environment, data."""
    found = [sys.base_prefix, sys.prefix]
    repo = paths.ROOT.resolve()
    for entry in sys.path:
        path = Path(entry).resolve() if entry else None
        if not path or not path.is_dir() or path == repo or repo.is_relative_to(path):
            continue
        if path.is_relative_to(repo) and not path.is_relative_to(Path(sys.prefix).resolve()):
            continue  # nothing of the repository but the virtual environment
        found.append(str(path))
    if bundle.data_dir and Path(bundle.data_dir).is_dir():
        found.append(bundle.data_dir)
    unique = []
    for path in sorted(set(found), key=len):
        if not any(Path(path).is_relative_to(p) for p in unique):
            unique.append(path)
    return unique


def warm_worker(preload: list[str]) -> None:
    """Start this worker's kernel fork server before its first submission arrives."""
    from .sandbox.kernel import zygote_for
    quiet_logs()
    zygote_for(preload)


def grade_task(job: Job, bundle: Bundle) -> TaskResult:
    """Grade one submission; never raises for a bad submission (only SandboxUnavailable, which
    stops the whole run)."""
    started = time.perf_counter()
    result = TaskResult(job.key, job.student, dict(bundle.max_scores), list(job.notes),
                        worker=os.getpid())
    with _LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            _grade(job, bundle, result)
        except SubmissionError as err:
            result.status = "failed"
            result.notes.append(str(err))
        except SandboxUnavailable:
            raise
        except Exception as err:  # noqa: BLE001 (the grader's fault: reported, retried, never kept)
            result.status, result.fault = "grader error", from_exception(err)
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def _grade(job: Job, bundle: Bundle, result: TaskResult) -> None:
    from .sandbox.kernel import KernelJob, kernel_job, scratch_root, zygote_for
    from .sandbox.oracle import Oracle, student_code
    from .workspace import feedback_html, grading_workspace

    cache = prepared(bundle)
    submission = read_notebook(job.data)
    repaired = repair(submission, cache.student)
    if not any(k.split(":", 1)[0] in GRADED_ROLES for k in repaired.recognised):
        raise SubmissionError(identify_chapter(submission, bundle.slug,
                                               {k: set(v) for k, v in bundle.others.items()}))
    result.notes += repaired.notes
    result.answers = repaired.answers

    scratch = Path(tempfile.mkdtemp(prefix="sub-", dir=scratch_root()))
    try:
        workspace = grading_workspace(scratch / "nbgrader", bundle)
        student = "student"  # one submission per course folder: the real id never touches paths
        target = workspace.submitted_path(student)
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(repaired.notebook, str(target))

        ours, theirs = socket.socketpair()
        oracle = Oracle(ours, bundle.slug, cache.checks, cache.reference, cache.check_failed,
                        student_code(repaired.notebook, cache.student))
        limits = bundle.limits
        job_state = KernelJob(zygote=zygote_for(bundle.preload), scratch=scratch,
                              oracle_peer=theirs, sandbox=bundle.sandbox,
                              memory_bytes=int(limits.memory_gb * (1 << 30)),
                              tmpfs_mb=limits.tmpfs_mb, fsize_mb=limits.file_mb,
                              output_limit=limits.output_mb << 20,
                              startup_timeout=limits.startup_timeout,
                              readonly=readonly_paths(bundle), data_dir=bundle.data_dir)
        watchdog = threading.Timer(limits.timeout_notebook, job_state.expire)
        oracle.start()
        try:
            with kernel_job(job_state):
                watchdog.start()
                try:
                    outcome = workspace.api.autograde(bundle.assignment, student, force=True)
                finally:
                    watchdog.cancel()
        finally:
            oracle.stop()
        if not outcome.get("success"):
            log = f"{outcome.get('log') or ''}\n{outcome.get('error') or ''}"
            if isinstance(job_state.start_error, SandboxUnavailable):
                raise job_state.start_error   # no kernel can start here: the run stops
            if job_state.start_error is not None:
                raise GraderFault(str(job_state.start_error), log)
            raise GraderFault(f"nbgrader could not grade this notebook: {root_cause(log)}", log)
        autograded = nbformat.read(str(workspace.autograded_path(student)), as_version=4)
        apply_verdicts(workspace, student, bundle, oracle, autograded, result)
        incidents(autograded, job_state, bundle, result)
        scrub_hidden_tests(autograded, bundle)
        result.feedback_html = feedback_html(workspace, student, autograded)
        result.autograded = nbformat.writes(autograded)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def scrub_hidden_tests(notebook, bundle: Bundle) -> None:
    """Outputs never quote a hidden test (a student could print the kernel's input history)."""
    lines = bundle.hidden_lines
    if not lines:
        return
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if "text" in output and isinstance(output["text"], str):
                output["text"] = _scrub(output["text"], lines)
            for kind, value in list(output.get("data", {}).items()):
                if isinstance(value, str):
                    output["data"][kind] = _scrub(value, lines)


def _scrub(text: str, lines: list[str]) -> str:
    for line in lines:
        if line in text:
            text = text.replace(line, "[hidden test]")
    return text


def apply_verdicts(workspace, student: str, bundle: Bundle, oracle, autograded,
                   result: TaskResult) -> None:
    """Scores from nbgrader, zeroed where the oracle did not see the cell's hidden checks pass."""
    from nbgrader.api import Gradebook
    from .sandbox.kernel import error_output
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in autograded.cells}
    with Gradebook(workspace.config.CourseDirectory.db_url) as gradebook:
        notebook = gradebook.find_submission_notebook(workspace.notebook, bundle.assignment,
                                                      student)
        for grade in notebook.grades:
            name = grade.name
            result.max_scores[name] = grade.max_score
            if grade.needs_manual_grade:
                result.scores[name] = None
                continue
            score = grade.auto_score or 0.0
            required = bundle.check_map.get(name, [])
            if required and score > 0:
                status, message = oracle.verdict(required)
                if status != "pass":
                    grade.auto_score = 0.0
                    score = 0.0
                    result.notes.append(f"test '{name}': its hidden test did not pass "
                                           f"({status}), so it scores 0: {message}")
                    if name in cells:
                        cells[name].outputs.append(error_output(
                            "HiddenTestNotPassed", f"{message} (this test scores 0)"))
            result.scores[name] = score
        gradebook.db.commit()
    ordered = {name: result.scores.get(name) for name in bundle.max_scores
               if name in result.scores}
    ordered.update(result.scores)
    result.scores = ordered
    manual = [name for name, score in result.scores.items() if score is None]
    if manual:
        result.status = "needs review"
        result.notes.append("answers graded by hand: " + ", ".join(manual))


def describe(cell, index: int) -> str:
    role, ident, _ = parse_directive(cell)
    if role:
        return f"cell {index + 1} ({role} {ident})".replace(" )", ")")
    first = next((line for line in cell.source.splitlines() if line.strip()), "")[:40]
    return f"cell {index + 1}" + (f" ('{first}')" if first else "")


def incidents(autograded, job_state, bundle: Bundle, result: TaskResult) -> None:
    """Notes on what went wrong while running (time limits, memory, a dead kernel)."""
    limits = bundle.limits
    for index, cell in enumerate(autograded.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            name, value = output.get("ename", ""), str(output.get("evalue", ""))
            if name == "CellTimeoutError":
                result.notes.append(f"{describe(cell, index)} ran past the {limits.timeout_cell} s "
                                       "per-cell limit and was interrupted")
            elif name == "MemoryError" or "can't allocate memory" in value \
                    or "Cannot allocate memory" in value:
                result.notes.append(f"{describe(cell, index)} ran out of memory (limit "
                                       f"{limits.memory_gb:g} GB)")
    if job_state.truncated:
        result.notes.append(f"the notebook printed more than {limits.output_mb} MB; the rest "
                               "of its output was dropped")
    if job_state.dead:
        at = job_state.dead_cell or 0
        lost = [c.metadata["nbgrader"]["grade_id"] for i, c in enumerate(autograded.cells)
                if i > at and c.metadata.get("nbgrader", {}).get("grade")]
        where = describe(autograded.cells[at], at) if at < len(autograded.cells) else "a cell"
        note = f"{job_state.dead} while running {where}"
        if lost:
            note += "; these tests did not run and score 0: " + ", ".join(lost)
            result.status = "needs review"
        result.notes.append(note)


def fingerprint(*parts) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else str(part).encode())
        digest.update(b"\0")
    return digest.hexdigest()


def quiet_logs() -> None:
    for name in ("traitlets", "nbgrader", "alembic", "sqlalchemy"):
        logging.getLogger(name).setLevel(logging.ERROR)
