"""Grade submissions of one chapter with nbgrader: repair, autograde, feedback, grades CSV.

``python -m course grade CHAPTER SUBMISSION... [--out DIR]`` (or ``make grade``) runs it.
Originals are only read; everything is written under ``--out``. A submission that cannot be
read or graded gets a row with its reason, and the others go on.
"""
from __future__ import annotations

import contextlib
import csv
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from course import paths
from .repair import repair
from .workspace import Workspace

GRADING_ENV = {
    "CUDA_VISIBLE_DEVICES": "",   # the grader forces CPU
    "MPLBACKEND": "Agg",          # no figure windows
    "TQDM_DISABLE": "1",          # progress bars in student code stay quiet
}


class SubmissionError(ValueError):
    """A submission that cannot be graded; the message says why and what to do."""


@dataclass
class Result:
    student: str
    source: Path
    status: str = "graded"            # graded | needs review | failed
    scores: dict = field(default_factory=dict)  # grade id -> score (None: graded by hand)
    max_scores: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    feedback: Path | None = None

    @property
    def total(self) -> float:
        return sum(s for s in self.scores.values() if s is not None)

    @property
    def max_total(self) -> float:
        return sum(self.max_scores.values())


def student_id(path: Path) -> str:
    """A file-system-safe id from a file name (issue-free names map to themselves)."""
    stem = Path(path).stem
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("_") or "student"


def load_submission(path: Path):
    """Read a submitted notebook; SubmissionError says what is wrong with it."""
    data = Path(path).read_bytes()
    if not data.strip():
        raise SubmissionError("the file is empty; ask the student to download the notebook again "
                              "(File > Download > Download .ipynb)")
    try:
        return nbformat.reads(data.decode("utf-8", errors="replace"), as_version=4)
    except Exception as err:  # noqa: BLE001 (nbformat raises several kinds)
        raise SubmissionError(f"not a Jupyter notebook ({type(err).__name__}); ask the student to "
                              "download it with File > Download > Download .ipynb") from None


@contextlib.contextmanager
def grading_environment(work: Path):
    """Environment for kernels: hidden checks importable, solutions not, CPU only."""
    checklib = work / "checklib"
    checklib.mkdir(parents=True, exist_ok=True)
    link = checklib / "autograder"
    if not link.exists():
        link.symlink_to(paths.AUTOGRADER, target_is_directory=True)
    env = {**GRADING_ENV, "PYTHONPATH": str(checklib)}
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def grade(chapter: str, submissions: dict[str, Path] | list[Path], out: Path) -> list[Result]:
    """Grade every submission of one chapter; write grades.csv and feedback under ``out``."""
    master = paths.master_for(chapter)
    if not isinstance(submissions, dict):
        submissions = {student_id(p): Path(p) for p in submissions}
    out = Path(out)
    reference = nbformat.read(str(paths.STUDENTS / master.name), as_version=4)
    workspace = Workspace(out / "nbgrader", master)
    workspace.generate_assignment()
    results = []
    with grading_environment(out), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nbgrader's SQLAlchemy chatter is not for instructors
        for student, path in submissions.items():
            results.append(grade_one(workspace, reference, student, Path(path)))
    write_csv(results, out / "grades.csv")
    return results


def grade_one(workspace: Workspace, reference, student: str, path: Path) -> Result:
    result = Result(student, path)
    try:
        repaired = repair(load_submission(path), reference)
        result.notes += repaired.notes
        target = workspace.submitted_path(student)
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(repaired.notebook, str(target))
        workspace.autograde(student)
        read_scores(workspace, result)
        result.feedback = workspace.generate_feedback(student)
    except SubmissionError as err:
        result.status, result.notes = "failed", [*result.notes, str(err)]
    except Exception as err:  # noqa: BLE001 (one bad submission never stops the batch)
        result.status = "failed"
        result.notes.append(f"grading failed: {type(err).__name__}: {str(err)[:500]}")
    return result


def read_scores(workspace: Workspace, result: Result) -> None:
    with Gradebook(workspace.config.CourseDirectory.db_url) as gradebook:
        notebook = gradebook.find_submission_notebook(workspace.notebook, workspace.assignment,
                                                      result.student)
        for grade in sorted(notebook.grades, key=lambda g: g.name):
            result.max_scores[grade.name] = grade.max_score
            result.scores[grade.name] = None if grade.needs_manual_grade else grade.score
    if any(score is None for score in result.scores.values()):
        result.status = "needs review"
        result.notes.append("answers graded by hand: " + ", ".join(
            name for name, score in result.scores.items() if score is None))


def write_csv(results: list[Result], path: Path) -> None:
    questions = sorted({name for r in results for name in r.max_scores})
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student_id", *questions, "total", "max", "status", "reason"])
        for r in results:
            cells = ["" if r.scores.get(q) is None else f"{r.scores[q]:g}" for q in questions]
            writer.writerow([r.student, *cells, f"{r.total:g}", f"{r.max_total:g}", r.status,
                             "; ".join(r.notes)])
