"""Grading works wherever the environment lives: under /tmp, behind a link under $HOME, in a path
with spaces. Each layout runs the instructors' command with that environment's interpreter on a
solved and an untouched notebook, and the kernel still sees nothing of the repository.

The sandbox mounts private tmpfs folders over /tmp and the working folder; an environment that
lives there must be mounted on top of them, not hidden beneath them."""
from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from core import paths
from tests.catalog.relu_approximation import CORRECT
from tests.helpers import student_notebook, with_answers, write

CHAPTER = "01_relu_approximation.ipynb"
FULL = 3.0
pytestmark = [pytest.mark.slow, pytest.mark.grading]

PROBE = """
import os as _os
print("REPOSITORY " + ("VISIBLE" if _os.path.exists({solutions!r}) else "HIDDEN"))
"""


def environment_copy(target: Path) -> Path:
    """This test run's environment, as a real folder at target (hard links: seconds, no space)."""
    source = Path(sys.prefix)
    done = subprocess.run(["cp", "-al", str(source), str(target)], capture_output=True)
    if done.returncode != 0:   # another file system: the same environment behind a link
        shutil.rmtree(target, ignore_errors=True)
        target.symlink_to(source.resolve(), target_is_directory=True)
    return target


def environment_link(target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(Path(sys.prefix).resolve(), target_is_directory=True)
    return target


@pytest.fixture(scope="module")
def submissions(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("submitted")
    student = student_notebook(CHAPTER)
    probe = PROBE.format(solutions=str(paths.ROOT.resolve() / "solutions"))
    solved = with_answers(student, {"approximate_function": CORRECT["loop"] + probe})
    return [write(solved, folder / "solved.ipynb"), write(student, folder / "untouched.ipynb")]


def grade_with(python: Path, submissions: list[Path], out: Path) -> dict[str, dict]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    done = subprocess.run(
        [str(python), "-m", "course", "grade", "01", *map(str, submissions), "--out", str(out),
         "--workers", "1", "--no-progress"],
        cwd=paths.ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with open(out / "grades.csv", newline="") as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}


@pytest.fixture(params=["under_tmp", "home_link_with_space"])
def python(request):
    """The interpreter of this run's environment, placed as the layout says."""
    if request.param == "under_tmp":
        base = Path(tempfile.mkdtemp(prefix="course-env-", dir="/tmp"))
        env = environment_copy(base / "venv")
    else:
        base = Path(tempfile.mkdtemp(prefix="course env ", dir=Path.home()))
        env = environment_link(base / "my envs" / "course")
    yield env / "bin" / "python"
    shutil.rmtree(base, ignore_errors=True)


def test_grading_works_with_the_environment_in_this_layout(python, submissions, tmp_path):
    rows = grade_with(python, submissions, tmp_path / "grades")
    assert rows["solved"]["status"] == "graded", rows["solved"]["reason"]
    assert float(rows["solved"]["total"]) == FULL
    assert rows["untouched"]["status"] == "graded", rows["untouched"]["reason"]
    assert float(rows["untouched"]["total"]) == 0.0
    executed = next((tmp_path / "grades" / "nbgrader" / "autograded" / "solved").rglob("*.ipynb"))
    text = executed.read_text()
    assert "REPOSITORY HIDDEN" in text and "REPOSITORY VISIBLE" not in text
