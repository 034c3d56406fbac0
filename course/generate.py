"""Generated files: student notebooks (via nbgrader) and solution modules, from the masters.

Both are committed, so Colab can open a student notebook straight from the repository and the
hidden checks can load a reference module; ``check_fresh`` proves they match the masters.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import nbformat

from core import paths
from core.chapter import Chapter
from .sync import setup_sections

SOLUTION_HEADER = '''"""Reference solutions for the chapter '{slug}'.

GENERATED from {master} by `make generate`: edit the master, never this file.
The hidden checks in autograder/ compare student code with these definitions.
"""
'''


def student_notebook_text(master: Path) -> str:
    """The student notebook nbgrader generates from a master (stubs, no hidden tests, no
    book-only cells).

    Its Colab metadata asks for no accelerator: every chapter runs on the CPU by default, and a
    GPU runtime requested for nothing spends the student's GPU quota (the device cell says how
    to get one for the chapters that train longer)."""
    from core.workspace import Workspace  # nbgrader is only needed for this step

    with tempfile.TemporaryDirectory(prefix="mlp-generate-") as tmp:
        source = Path(tmp) / "master" / master.name
        source.parent.mkdir()
        nbformat.write(Chapter.read(master).for_students(), str(source))
        released = Workspace(Path(tmp) / "course", source).generate_assignment()
        nb = nbformat.read(str(released), as_version=4)
    nb.metadata["colab"] = {"provenance": [], "toc_visible": True}
    return nbformat.writes(nb) + "\n"


def solution_module_text(master: Path) -> str:
    """The importable reference module: shared imports, export cells and exercise solutions."""
    chapter = Chapter.read(master)
    parts = [SOLUTION_HEADER.format(slug=chapter.slug, master=master.relative_to(paths.ROOT)),
             setup_sections()["imports"]]
    for cell in chapter.cells:
        if cell.role in ("export", "include"):
            parts.append(cell.body.strip("\n"))
        elif cell.role == "exercise":
            parts.append(cell.solution_code().strip("\n"))
    return "\n\n\n".join(parts) + "\n"


def expected_files() -> dict[Path, str]:
    """Every generated file and the text it should have."""
    files = {}
    for master in paths.masters():
        files[paths.SOLUTIONS / f"{Chapter.read(master).slug}.py"] = solution_module_text(master)
        files[paths.STUDENTS / master.name] = student_notebook_text(master)
    return files


def write_all() -> list[Path]:
    """Write every generated file; return those that changed."""
    changed = []
    for path, text in expected_files().items():
        if not path.exists() or path.read_text() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            changed.append(path)
    return changed


def stale_files() -> list[str]:
    """Generated files that differ from what the masters give, or that no master explains."""
    expected = expected_files()
    stale = [str(p.relative_to(paths.ROOT)) for p, text in expected.items()
             if not p.exists() or p.read_text() != text]
    if not paths.chapter_subset():  # orphans only show when every chapter is looked at
        on_disk = set(paths.STUDENTS.glob("*.ipynb")) | set(paths.SOLUTIONS.glob("[!_]*.py"))
        stale += [f"{p.relative_to(paths.ROOT)} (no master)" for p in sorted(on_disk - set(expected))]
    return stale
