"""An nbgrader course directory made for one job (generation or one grading run).

nbgrader wants ``source/ASSIGNMENT/NOTEBOOK.ipynb``, a gradebook and a config; this module makes
them from a chapter master so the rest of the project never touches nbgrader's layout.
"""
from __future__ import annotations

import logging
import shutil
from pathlib import Path

from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from traitlets.config.loader import PyFileConfigLoader

from course import paths
from course.master import chapter_slug


class NbgraderError(RuntimeError):
    """nbgrader refused a step; the message holds its log."""


class Workspace:
    """One nbgrader course directory for one chapter, rooted at ``root``."""

    def __init__(self, root: Path, master: Path):
        self.root = Path(root)
        self.master = Path(master)
        self.assignment = chapter_slug(master)
        self.notebook = master.stem
        source = self.root / "source" / self.assignment
        source.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(master, source / f"{self.notebook}.ipynb")
        self.config = load_config(self.root)
        self.api = NbGraderAPI(coursedir=CourseDirectory(config=self.config), config=self.config)
        self.api.log.setLevel(logging.WARNING)

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
