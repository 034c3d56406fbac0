"""The master notebook format: what each cell is, read from its first line, and the lint.

A master (``book/NN_slug.ipynb``) is the one hand-edited source of a chapter. A cell says what it
is with a directive on its first line (code: ``#| ROLE ARGS``; markdown: ``<!-- #| ROLE ARGS -->``):

``#| setup NAME``                 stamped from ``book/setup_cells.py`` (never edit by hand)
``#| export``                     plain code the solution module needs too (given helpers)
``#| exercise ID``                an autograded answer: definitions only, with
                                  ``### BEGIN SOLUTION`` / ``### END SOLUTION`` regions
``#| check ID points=N``          a test cell: visible asserts, then a ``### BEGIN HIDDEN TESTS``
                                  block that calls ``autograder.hidden.check``
``<!-- #| think ID points=N -->`` a Think! question, graded by hand; the sample answer sits in a
                                  solution region
``#| book-only`` (code) or        text for the book's readers only (what the book shows instead of
``<!-- #| book-only -->``         the check cells, a static picture of a widget): dropped from the
                                  student notebook
``#| student-only`` / ``<!-- #| student-only -->``  text for the student notebook only: dropped
                                  from the book, and its directive line from the student notebook

In a Colab form cell the ``# @title`` line comes first (Colab's convention) and the directive
sits on the second line. Cells without a directive are prose or demo code. Every mistake is a
:class:`MasterError`.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"

CODE_DIRECTIVE = re.compile(r"^#\|\s*(?P<role>[a-z][a-z-]*)\b(?P<args>.*)$")
MARKDOWN_DIRECTIVE = re.compile(r"^<!--\s*#\|\s*(?P<role>[a-z][a-z-]*)\b(?P<args>.*?)-->\s*$")
FORM_TITLE = re.compile(r"^#\s*@title\b")  # a Colab form's title: first line of its cell
BOOK_ONLY, STUDENT_ONLY = "book-only", "student-only"
AUDIENCE_ROLES = {BOOK_ONLY, STUDENT_ONLY}
ROLES = {"setup", "export", "exercise", "check", "think"} | AUDIENCE_ROLES
GRADED_ROLES = {"exercise", "check", "think"}


class MasterError(ValueError):
    """A mistake in a master notebook; the message names the notebook and the cell."""


@dataclass
class Cell:
    """One master cell with its parsed directive."""

    index: int
    node: nbformat.NotebookNode
    role: str | None = None
    ident: str | None = None
    options: dict = field(default_factory=dict)

    @property
    def body(self) -> str:
        """The cell's source without its directive line (a form's ``# @title`` line stays)."""
        line = directive_line(self.node)
        if self.role is None or line is None:
            return self.node.source
        lines = self.node.source.split("\n")
        return "\n".join(lines[:line] + lines[line + 1:])

    @property
    def points(self) -> float | None:
        return float(self.options["points"]) if "points" in self.options else None


def chapter_slug(path: Path) -> str:
    """``book/01_relu_approximation.ipynb`` -> ``relu_approximation``."""
    return re.sub(r"^\d+_", "", Path(path).stem)


def setup_source(name: str, section: str) -> str:
    """A stamped setup cell: its directive first, or second after the section's form title."""
    first, _, rest = section.partition("\n")
    if FORM_TITLE.match(first.strip()):
        return f"{first}\n#| setup {name}\n{rest}"
    return f"#| setup {name}\n{section}"


def for_students(nb) -> nbformat.NotebookNode:
    """A copy of a master without its book-only cells, and student-only cells as plain cells
    (directive line dropped): what ``nbgrader generate_assignment`` turns into the student
    notebook."""
    nb = nbformat.from_dict(nb)
    kept = []
    for cell in parse_cells(nb, "master"):
        if cell.role == BOOK_ONLY:
            continue
        if cell.role == STUDENT_ONLY:
            cell.node.source = cell.body
        kept.append(cell.node)
    nb.cells = kept
    return nb


def read_master(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def directive_line(node) -> int | None:
    """The number (0-based) of the line that may hold a cell's directive: the first line, or
    the second in a code cell whose first line is a Colab form's ``# @title``."""
    lines = node.source.split("\n", 2)
    if node.cell_type == "code" and FORM_TITLE.match(lines[0].strip()):
        return 1 if len(lines) > 1 else None
    return 0


def parse_directive(node) -> tuple[str | None, str, dict]:
    """Return (role, ident, options) of a cell, or (None, '', {}) for a plain cell."""
    line = directive_line(node)
    if line is None:
        return None, "", {}
    text = node.source.split("\n", line + 1)[line].strip()
    pattern = CODE_DIRECTIVE if node.cell_type == "code" else MARKDOWN_DIRECTIVE
    match = pattern.match(text)
    if not match:
        return None, "", {}
    words = match["args"].split()
    ident = next((w for w in words if "=" not in w), "")
    options = dict(w.split("=", 1) for w in words if "=" in w)
    return match["role"], ident, options


def parse_cells(nb, where: str) -> list[Cell]:
    """Parse and lint every cell; raise MasterError on the first mistake."""
    cells, seen = [], {}
    for index, node in enumerate(nb.cells):
        role, ident, options = parse_directive(node)
        cell = Cell(index, node, role, ident or None, options)
        label = f"{where}, cell {index}" + (f" ({role} {ident})" if role else "")
        lint_cell(cell, label)
        key = (role, ident) if role == "setup" else ident
        if role in GRADED_ROLES | {"setup"}:
            if key in seen:
                raise MasterError(f"{label}: id {ident!r} is used twice (also cell {seen[key]}).")
            seen[key] = index
        cells.append(cell)
    return cells


def lint_cell(cell: Cell, label: str) -> None:
    """Raise MasterError for a mistake in one cell (see the module docstring for the rules)."""
    src = cell.node.source
    if cell.node.cell_type == "code" and cell.node.get("outputs"):
        raise MasterError(f"{label}: masters hold no outputs; clear them (make sync does).")
    if cell.role is not None and cell.role not in ROLES:
        raise MasterError(f"{label}: unknown directive {cell.role!r}; use one of {sorted(ROLES)}.")
    if cell.role in {"exercise", "check", "think"} and not cell.ident:
        raise MasterError(f"{label}: {cell.role} needs an id, e.g. '#| {cell.role} my_function'.")
    if cell.role in {"check", "think"}:
        try:
            if (cell.points or 0) <= 0:
                raise ValueError
        except ValueError:
            raise MasterError(f"{label}: give positive points, e.g. '#| {cell.role} {cell.ident} points=2'.")
    if cell.role == "think" and cell.node.cell_type != "markdown":
        raise MasterError(f"{label}: a Think! question is a markdown cell.")
    if cell.role in {"setup", "export", "exercise", "check"} and cell.node.cell_type != "code":
        raise MasterError(f"{label}: '{cell.role}' is for code cells.")

    wants_solution = cell.role in {"exercise", "think"}
    check_regions(src, BEGIN_SOLUTION, END_SOLUTION, label, required=wants_solution, allowed=wants_solution)
    is_check = cell.role == "check"
    check_regions(src, BEGIN_HIDDEN, END_HIDDEN, label, required=is_check, allowed=is_check)

    if cell.node.cell_type == "code" and cell.role != "setup":  # setup cells are stamped over
        tree = parse_python(cell.body, label)
        if cell.role in {"exercise", "export"}:
            require_definitions_only(tree, label)
        if is_check:
            forbid_bare_results(tree, label)


def check_regions(src: str, begin: str, end: str, label: str, *, required: bool, allowed: bool) -> None:
    """Markers must be alone on their line, balanced and not nested."""
    depth, count = 0, 0
    for number, line in enumerate(src.splitlines(), 1):
        stripped = line.strip()
        if begin in line or end in line:
            if not allowed:
                raise MasterError(f"{label}, line {number}: '{stripped}' only belongs in "
                                  f"{'exercise/think' if 'SOLUTION' in begin else 'check'} cells.")
            if stripped not in (begin, end):
                raise MasterError(f"{label}, line {number}: put '{begin}'/'{end}' alone on a line.")
        if stripped == begin:
            if depth:
                raise MasterError(f"{label}, line {number}: '{begin}' inside an open region.")
            depth, count = 1, count + 1
        elif stripped == end:
            if not depth:
                raise MasterError(f"{label}, line {number}: '{end}' without '{begin}'.")
            depth = 0
    if depth:
        raise MasterError(f"{label}: '{begin}' is never closed by '{end}'.")
    if required and not count:
        raise MasterError(f"{label}: needs a '{begin}' ... '{end}' region.")


def parse_python(body: str, label: str) -> ast.Module:
    """Parse a code cell, treating IPython magics and shell lines as blank."""
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in body.splitlines()]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError as err:
        raise MasterError(f"{label}, line {err.lineno}: {err.msg}") from None


def require_definitions_only(tree: ast.Module, label: str) -> None:
    """Exercise and export cells become the solution module: no side effects at import."""
    allowed = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef, ast.Assign, ast.AnnAssign)
    for node in tree.body:
        is_docstring = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        if not isinstance(node, allowed) and not is_docstring:
            raise MasterError(f"{label}, line {node.lineno}: exercise/export cells hold definitions "
                              "only; move calls and demos to the next cell.")


def forbid_bare_results(tree: ast.Module, label: str) -> None:
    """nbgrader gives full marks to a bare `a == b` and reads a trailing number as partial credit."""
    for node in tree.body:
        if isinstance(node, ast.Expr) and not isinstance(node.value, (ast.Call, ast.Constant, ast.Await)):
            raise MasterError(f"{label}, line {node.lineno}: a bare expression in a check cell never "
                              "fails (nbgrader scores it full); write 'assert ..., \"message\"'.")


def solution_code(body: str) -> str:
    """The body with solution markers removed and solution lines kept (the reference code)."""
    return "\n".join(line for line in body.splitlines()
                     if line.strip() not in (BEGIN_SOLUTION, END_SOLUTION))


def without_hidden_tests(body: str) -> str:
    """The body with hidden-test blocks dropped (what a student or reader sees)."""
    keep, hidden = [], False
    for line in body.splitlines():
        if line.strip() == BEGIN_HIDDEN:
            hidden = True
        elif line.strip() == END_HIDDEN:
            hidden = False
        elif not hidden:
            keep.append(line)
    return "\n".join(keep).rstrip()
