"""The grader's own failures, kept apart from the submissions' faults.

A submission can be at fault (not a notebook, another chapter's, a kernel its code killed): that
is its result, stored and reported. The grader can be at fault too (a kernel that did not start,
a sandbox that could not be built, a crash in the grading code or a worker that died): that is
never a student's result. It is raised as :class:`GraderFault`, carrying the root cause in one
line and the whole log; the grading command reports it with status ``grader error``, keeps the
log under ``OUT/grader-errors/`` for the instructor, stores nothing, and the next run retries it.
"""
from __future__ import annotations

import re
import traceback

# Exception lines as Python prints them: "package.module.SomeError: message". Linear-time: one
# dotted name, a colon, the rest. Wrappers that only point elsewhere are skipped.
EXCEPTION_LINE = re.compile(r"^\s*(?:[A-Za-z_]\w*\.)*([A-Za-z_]\w*(?:Error|Exception|Exit|Unavailable)): (.*)$")
WRAPPERS = ("NbGraderException", "RuntimeError: nbgrader could not grade")
LINE_CAP = 2000          # characters of a log line looked at (logs may quote student output)


class GraderFault(Exception):
    """The grader, not the submission, failed; ``cause`` is one line, ``log`` the whole story."""

    def __init__(self, cause: str, log: str = ""):
        super().__init__(cause, log)   # both in args: the fault survives pickling (Dask)
        self.cause, self.log = cause, log

    def __str__(self) -> str:
        return self.cause


def root_cause(log: str) -> str:
    """The first specific exception a log names ("ModuleNotFoundError: No module named 'x'")."""
    for raw in (log or "").splitlines():
        line = raw[:LINE_CAP]
        match = EXCEPTION_LINE.match(line)
        if match and match.group(1) not in WRAPPERS:
            return f"{match.group(1)}: {match.group(2).strip()}"[:500]
    lines = [line.strip()[:500] for line in (log or "").splitlines() if line.strip()]
    return lines[-1] if lines else "no details"


def from_exception(err: BaseException) -> GraderFault:
    """A fault for an exception the grading code did not expect, with its traceback as the log."""
    if isinstance(err, GraderFault):
        return err
    log = "".join(traceback.format_exception(type(err), err, err.__traceback__))
    first = (str(err).strip().splitlines() or [""])[0][:500]
    return GraderFault(f"{type(err).__name__}: {first}".rstrip(": "), log)
