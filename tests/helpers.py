"""Shared test helpers: build submissions from the student notebooks the way students would."""
from __future__ import annotations

import copy
from pathlib import Path

import nbformat

from core import paths
from core.chapter import parse_directive


def student_notebook(chapter_file: str):
    return nbformat.read(str(paths.STUDENTS / chapter_file), as_version=4)


def find_cell(nb, role: str, ident: str):
    for cell in nb.cells:
        if parse_directive(cell)[:2] == (role, ident):
            return cell
    raise LookupError(f"no '{role} {ident}' cell")


def with_answers(nb, answers: dict[str, str]):
    """A copy of nb whose exercise cells hold the given answer code (keyed by exercise id)."""
    nb = copy.deepcopy(nb)
    for ident, code in answers.items():
        find_cell(nb, "exercise", ident).source = f"#| exercise {ident}\n{code.strip()}\n"
    return nb


def write(nb, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def run_answer(code: str, namespace: dict | None = None) -> dict:
    """Execute answer-cell code with the notebook's usual imports; return the namespace."""
    import numpy as np
    import torch
    namespace = {"torch": torch, "np": np, **(namespace or {})}
    exec(compile(code, "<answer>", "exec"), namespace)
    return namespace
