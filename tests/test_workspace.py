"""The nbgrader course folder the project makes for each job (core/workspace.py)."""
import sqlite3

import pytest

from core import paths
from core.workspace import NBGRADER_ALEMBIC_VERSION, Workspace, alembic_head


def gradebook_version(path) -> str:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT version_num FROM alembic_version").fetchone()[0]


def test_a_new_gradebook_is_stamped_without_running_alembic(tmp_path, monkeypatch):
    """nbgrader runs `alembic heads` as a program for every new gradebook (about 5 s, and only
    where alembic is on PATH); the workspace reads the same version in this process."""
    import nbgrader.api

    def no_programs(*args, **kwargs):
        raise AssertionError(f"nbgrader ran a program: {args}")

    monkeypatch.setattr(nbgrader.api.sp, "check_output", no_programs)
    monkeypatch.setenv("PATH", "/nonexistent")
    workspace = Workspace(tmp_path, paths.BOOK / "01_relu_approximation.ipynb")
    assert workspace.generate_assignment().exists()
    assert gradebook_version(tmp_path / "gradebook.db") == alembic_head()


@pytest.mark.slow   # runs nbgrader's own `alembic heads` (seconds)
def test_the_version_is_the_one_nbgrader_itself_would_stamp():
    from course.cli import use_this_environment
    use_this_environment()
    assert alembic_head() == NBGRADER_ALEMBIC_VERSION()
