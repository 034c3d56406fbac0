"""An nbgrader course directory made for one job (generating a student notebook, or grading one
submission).

nbgrader wants ``source/ASSIGNMENT/NOTEBOOK.ipynb``, a gradebook and a config; this module makes
them from a chapter master so the rest of the project never touches nbgrader's layout. The
course's nbgrader config is ``autograder/nbgrader_config.py`` (the grader adds its sandboxed
executor and time limits: ``autograder.workspace``).
"""
from __future__ import annotations

import functools
import logging
from pathlib import Path

import nbgrader.api
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from traitlets.config.loader import PyFileConfigLoader

from core import paths
from core.chapter import chapter_slug


@functools.cache
def alembic_head() -> str:
    """The schema version nbgrader stamps into a new gradebook: the head of its migration scripts.

    nbgrader learns it by running ``alembic heads`` in a subprocess, which imports nbgrader anew
    (about 5 s per new gradebook, and it fails where ``alembic`` is not on PATH); read in this
    process from the same scripts it takes milliseconds. ``Gradebook`` looks the function up in
    its module at call time, so replacing it there is enough."""
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR
    return ScriptDirectory(ALEMBIC_DIR).get_current_head()


NBGRADER_ALEMBIC_VERSION = nbgrader.api.get_alembic_version   # nbgrader's own (for the tests)
nbgrader.api.get_alembic_version = alembic_head


class NbgraderError(RuntimeError):
    """nbgrader refused a step; the message holds its log."""


class Workspace:
    """One nbgrader course directory for one chapter, rooted at ``root``: the master copied in as
    the assignment's source notebook (or, with :meth:`from_source`, a chapter's source notebook
    and the gradebook ``generate_assignment`` wrote for it)."""

    def __init__(self, root: Path, master: Path):
        master = Path(master)
        self._place(root, chapter_slug(master), master.stem, master.read_text())
        self.master = master
        self._open(logging.WARNING)

    @classmethod
    def from_source(cls, root: Path, assignment: str, notebook: str, source_text: str,
                    gradebook: bytes, configure=None) -> "Workspace":
        """A course folder made from a template; ``configure(config)`` may change the config."""
        self = cls.__new__(cls)
        self._place(root, assignment, notebook, source_text)
        self.master = None
        (self.root / "gradebook.db").write_bytes(gradebook)
        self._open(logging.ERROR, configure)
        return self

    def _place(self, root: Path, assignment: str, notebook: str, source_text: str) -> None:
        self.root, self.assignment, self.notebook = Path(root), assignment, notebook
        source = self.root / "source" / self.assignment
        source.mkdir(parents=True, exist_ok=True)
        (source / f"{self.notebook}.ipynb").write_text(source_text)

    def _open(self, log_level: int, configure=None) -> None:
        self.config = load_config(self.root)
        if configure is not None:
            configure(self.config)
        self.api = NbGraderAPI(coursedir=CourseDirectory(config=self.config), config=self.config)
        self.api.log.setLevel(log_level)

    def _run(self, what: str, result: dict) -> dict:
        if not result.get("success"):
            raise NbgraderError(f"nbgrader {what} failed for {self.assignment}:\n"
                                f"{result.get('error') or ''}\n{result.get('log') or ''}")
        return result

    def generate_assignment(self) -> Path:
        """Run nbgrader generate_assignment; return the student notebook it wrote."""
        self._run("generate_assignment", self.api.generate_assignment(self.assignment, force=True))
        return self.root / "release" / self.assignment / f"{self.notebook}.ipynb"

    def submitted_path(self, student: str) -> Path:
        return self.root / "submitted" / student / self.assignment / f"{self.notebook}.ipynb"

    def autograde(self, student: str) -> dict:
        return self._run("autograde", self.api.autograde(self.assignment, student, force=True))

    def generate_feedback(self, student: str) -> Path:
        self._run("generate_feedback", self.api.generate_feedback(self.assignment, student, force=True))
        return self.root / "feedback" / student / self.assignment / f"{self.notebook}.html"

    def autograded_path(self, student: str) -> Path:
        return self.root / "autograded" / student / self.assignment / f"{self.notebook}.ipynb"


def load_config(root: Path):
    """The course's nbgrader config with this workspace as the course directory."""
    config = PyFileConfigLoader(paths.NBGRADER_CONFIG.name, path=str(paths.AUTOGRADER)).load_config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
    return config
