"""The one entry point of hidden tests: ``check(chapter, name, *student_objects)``.

A hidden test block in a master reads::

    from autograder.hidden import check
    check("relu_approximation", "approximate_function_values", approximate_function)

It runs ``check_<name>`` from ``autograder/checks/<chapter>.py`` with the student's objects and
the chapter's reference module. The reference is loaded by file path and never registered in
``sys.modules``, so nothing a student writes can ``import solutions``.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
CHECKS_DIR = HERE / "checks"
SOLUTIONS_DIR = HERE.parent / "solutions"


def load_by_path(path: Path, name: str) -> ModuleType:
    """Execute a module from its file without putting it on sys.path or in sys.modules."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; run `make generate` on the grading machine.")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reference_module(chapter: str) -> ModuleType:
    return load_by_path(SOLUTIONS_DIR / f"{chapter}.py", f"_reference_{chapter}")


def check_function(chapter: str, name: str):
    module = load_by_path(CHECKS_DIR / f"{chapter}.py", f"_checks_{chapter}")
    try:
        return getattr(module, f"check_{name}")
    except AttributeError:
        raise LookupError(f"autograder/checks/{chapter}.py has no check_{name}") from None


def check(chapter: str, name: str, *student_objects) -> None:
    """Run one hidden check; raises CheckFailed with a message for the student, returns None."""
    check_function(chapter, name)(*student_objects, reference=reference_module(chapter))
