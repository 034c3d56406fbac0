"""The one entry point of hidden tests: ``check(chapter, name, *student_objects)``.

A hidden test block in a master reads::

    from autograder.hidden import check
    check("relu_approximation", "approximate_function_values", approximate_function)

This module is the **in-process** mode: it runs ``check_<name>`` from
``autograder/checks/<chapter>.py`` here, with the real objects and the chapter's reference module
(loaded by file path, never registered in ``sys.modules``). Tests use it (``check``,
``check_function``, ``reference_module``), and so would stock nbgrader.

The course's grader never lets a student's kernel import this module: inside its sandbox,
``autograder.hidden`` is :mod:`autograder.sandbox.kernel_client`, which asks an oracle outside
the sandbox to run the check on proxies of the objects (see docs/grading.md). To run a check the
grader's way from a test, use :func:`autograder.sandbox.loopback.check`.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from autograder.sandbox.kernel_client import printed, probe  # noqa: F401 (kernel-side helpers)
from core import paths

CHECKS_DIR = paths.CHECKS
SOLUTIONS_DIR = paths.SOLUTIONS


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
