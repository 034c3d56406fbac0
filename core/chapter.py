"""The chapter format: one model of a master notebook that every other module reads it through.

A master (``book/NN_slug.ipynb``) is the one hand-edited source of a chapter. A cell says what it
is with a directive on its first line (code: ``#| ROLE ARGS``; markdown: ``<!-- #| ROLE ARGS -->``):

``#| setup NAME``                 stamped from ``book/setup_cells.py`` (never edit by hand)
``#| export``                     plain code the solution module needs too (given helpers)
``#| include SLUG:NAME``          an earlier chapter's export cell that defines NAME, stamped by
                                  ``make sync`` (never edit by hand): one source, no retyping
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
sits on the second line. Cells without a directive are prose or demo code. What the chapter
needs besides its code (a data set) is declared in the notebook's metadata,
``{"mlp_course": {"data": ["mnist"]}}``. Every mistake is a :class:`MasterError`.

:class:`Chapter` is the parsed master: its cells and roles, solution regions, hidden blocks and
the check calls in them (read with ``ast``), points, the stub students get, the data it needs.
The authoring tools (``course``) and the grader (``autograder``) read masters only through it.
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
MARKERS = (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN)
# What nbgrader's ClearSolutions puts in each solution region (autograder/nbgrader_config.py
# reads these): students replace the stub with their code or answer.
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
TEXT_STUB = "YOUR ANSWER HERE"

CODE_DIRECTIVE = re.compile(r"^#\|\s*(?P<role>[a-z][a-z-]*)\b(?P<args>.*)$")
MARKDOWN_DIRECTIVE = re.compile(r"^<!--\s*#\|\s*(?P<role>[a-z][a-z-]*)\b(?P<args>.*?)-->\s*$")
LEADING_MARKDOWN_DIRECTIVE = re.compile(r"^\s*<!--\s*#\|.*?-->\s*\n?")
FORM_TITLE = re.compile(r"^#\s*@title\b")  # a Colab form's title: first line of its cell
INCLUDE_SOURCE = re.compile(r"^(?P<slug>[a-z][a-z0-9_]*):(?P<name>[A-Za-z_]\w*)$")
BOOK_ONLY, STUDENT_ONLY = "book-only", "student-only"
AUDIENCE_ROLES = {BOOK_ONLY, STUDENT_ONLY}
GRADED_ROLES = {"exercise", "check", "think"}       # nbgrader cells: a grade id each
KEY_ROLES = GRADED_ROLES | {"setup"}                 # cells a submission is repaired on
STUDENT_OWNED = {"exercise", "think"}                # the student's source is kept when grading
CODE_ROLES = {"setup", "export", "include", "exercise", "check"}
ROLES = CODE_ROLES | {"think"} | AUDIENCE_ROLES
METADATA = "mlp_course"                              # the master's own notebook metadata
DATA_SETS = {"mnist"}                                # what a chapter may declare it reads


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

    @property
    def key(self) -> str | None:
        """'role:id' of a cell a submission is repaired on (setup, exercise, check, think)."""
        return f"{self.role}:{self.ident}" if self.role in KEY_ROLES and self.ident else None

    def solution_code(self) -> str:
        """The body with solution markers removed and solution lines kept (the reference code)."""
        return solution_code(self.body)

    def skeleton(self) -> str:
        """The student's view of an exercise: each solution region replaced by nbgrader's stub."""
        lines = []
        for text, where in regions(self.body, BEGIN_SOLUTION, END_SOLUTION):
            if where == BEGIN:           # the stub, at the marker's indent
                indent = text[: len(text) - len(text.lstrip())]
                lines += [indent + stub for stub in CODE_STUB.splitlines()]
            elif where == OUTSIDE:
                lines.append(text)
        return "\n".join(lines).strip("\n")

    def solution_parts(self) -> list[tuple[str, str]]:
        """A Think! cell as (text before, sample answer) pairs, then (text after, '')."""
        parts, text, answer = [], [], []
        for line, where in regions(self.body, BEGIN_SOLUTION, END_SOLUTION):
            if where == END:
                parts.append(("\n".join(text), "\n".join(answer)))
                text, answer = [], []
            elif where != BEGIN:
                (answer if where == INSIDE else text).append(line)
        parts.append(("\n".join(text), ""))
        return parts

    def without_hidden_tests(self) -> str:
        return without_hidden_tests(self.body)

    def hidden_block(self) -> str:
        """The code between the hidden-test markers ('' when there is none)."""
        return "\n".join(line for line, where in regions(self.node.source, BEGIN_HIDDEN, END_HIDDEN)
                         if where == INSIDE)

    def check_calls(self) -> list["CheckCall"]:
        """The ``check("slug", "name", objects...)`` calls of the hidden block, read with ast."""
        block = self.hidden_block()
        if not block.strip():
            return []
        tree = parse_python(block, f"cell {self.index} ({self.role} {self.ident}), hidden tests")
        calls = []
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and _called_name(node.func) == "check"):
                continue
            literal = [a.value if isinstance(a, ast.Constant) and isinstance(a.value, str) else None
                       for a in node.args[:2]]
            if len(literal) < 2 or None in literal:
                raise MasterError(f"cell {self.index} ({self.role} {self.ident}), hidden tests, line "
                                  f"{node.lineno}: call check with string literals, "
                                  "check(\"slug\", \"check_id\", objects...).")
            calls.append(CheckCall(literal[0], literal[1], node.lineno,
                                   tuple(ast.unparse(a) for a in node.args[2:])))
        return sorted(calls, key=lambda c: c.line)

    def definitions(self) -> set[str]:
        """The top-level functions, classes and constants the cell defines."""
        try:
            tree = parse_python(self.body, "")
        except MasterError:
            return set()
        return top_level_names(tree)


@dataclass(frozen=True)
class CheckCall:
    """One hidden check call: ``check(chapter, name, *objects)`` at ``line`` of its block."""

    chapter: str
    name: str
    line: int
    objects: tuple = ()


BEGIN, INSIDE, END, OUTSIDE = "begin", "inside", "end", "outside"


def regions(source: str, begin: str, end: str):
    """(line, where) for each line of ``source``: where is BEGIN or END for a marker line,
    INSIDE or OUTSIDE a region for the others (the lint has proved the regions balanced)."""
    inside = False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped in (begin, end):
            inside = stripped == begin
            yield line, BEGIN if inside else END
        else:
            yield line, INSIDE if inside else OUTSIDE


def _called_name(func) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def top_level_names(tree: ast.Module) -> set[str]:
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def strip_markdown_directive(text: str) -> str:
    """A markdown cell's text without a leading ``<!-- #| ... -->`` line (a Think! answer)."""
    return LEADING_MARKDOWN_DIRECTIVE.sub("", text)


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
    nb.metadata.pop(METADATA, None)   # the grader's and the book's business, not the student's
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
    if cell.role in GRADED_ROLES and not cell.ident:
        raise MasterError(f"{label}: {cell.role} needs an id, e.g. '#| {cell.role} my_function'.")
    if cell.role in {"check", "think"}:
        try:
            if (cell.points or 0) <= 0:
                raise ValueError
        except ValueError:
            raise MasterError(f"{label}: give positive points, e.g. '#| {cell.role} {cell.ident} points=2'.")
    if cell.role == "think" and cell.node.cell_type != "markdown":
        raise MasterError(f"{label}: a Think! question is a markdown cell.")
    if cell.role in CODE_ROLES and cell.node.cell_type != "code":
        raise MasterError(f"{label}: '{cell.role}' is for code cells.")
    if cell.role == "include" and not INCLUDE_SOURCE.match(cell.ident or ""):
        raise MasterError(f"{label}: name what to include as CHAPTER:NAME, e.g. "
                          "'#| include general_mlp:make_activation'.")

    wants_solution = cell.role in {"exercise", "think"}
    check_regions(src, BEGIN_SOLUTION, END_SOLUTION, label, required=wants_solution, allowed=wants_solution)
    is_check = cell.role == "check"
    check_regions(src, BEGIN_HIDDEN, END_HIDDEN, label, required=is_check, allowed=is_check)

    if cell.node.cell_type == "code" and cell.role != "setup":  # setup cells are stamped over
        tree = parse_python(cell.body, label)
        if cell.role in {"exercise", "export", "include"}:
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
    return "\n".join(line for line, where in regions(body, BEGIN_SOLUTION, END_SOLUTION)
                     if where in (INSIDE, OUTSIDE))


def without_hidden_tests(body: str) -> str:
    """The body with hidden-test blocks dropped (what a student or reader sees)."""
    return "\n".join(line for line, where in regions(body, BEGIN_HIDDEN, END_HIDDEN)
                     if where == OUTSIDE).rstrip()


# --- the chapter ---------------------------------------------------------------------------------

@dataclass
class Chapter:
    """A parsed and linted master: every question about a chapter's format is answered here."""

    path: Path
    nb: nbformat.NotebookNode
    cells: list[Cell]

    @classmethod
    def read(cls, path: Path) -> "Chapter":
        path = Path(path)
        return cls.from_notebook(read_master(path), path)

    @classmethod
    def from_notebook(cls, nb, path: Path | str = "master.ipynb") -> "Chapter":
        path = Path(path)
        chapter = cls(path, nb, parse_cells(nb, path.name))
        chapter.data  # noqa: B018 (linted on reading)
        return chapter

    @property
    def slug(self) -> str:
        return chapter_slug(self.path)

    @property
    def notebook(self) -> str:
        """The notebook's name in nbgrader (the master's stem, ``01_relu_approximation``)."""
        return self.path.stem

    def having(self, *roles: str) -> list[Cell]:
        return [cell for cell in self.cells if cell.role in roles]

    @property
    def points(self) -> dict[str, float]:
        """Grade id -> points of every test and Think! cell, in notebook order."""
        return {cell.ident: cell.points for cell in self.having("check", "think")}

    @property
    def keys(self) -> list[str]:
        """'role:id' of the graded cells (exercise, check, think), in notebook order."""
        return [cell.key for cell in self.having(*GRADED_ROLES)]

    def check_calls(self, own_only: bool = True) -> dict[str, list[CheckCall]]:
        """Test cell id -> the hidden check calls of its hidden block (of this chapter's checks
        only, unless ``own_only`` is False)."""
        return {cell.ident: [call for call in cell.check_calls()
                             if call.chapter == self.slug or not own_only]
                for cell in self.having("check") if cell.hidden_block().strip()}

    def check_map(self) -> dict[str, list[str]]:
        """Test cell id -> the names of the chapter's hidden checks it calls (what the grader
        requires the oracle to see pass before the cell keeps its points)."""
        return {ident: [call.name for call in calls] for ident, calls in self.check_calls().items()}

    def hidden_lines(self, min_length: int = 13) -> list[str]:
        """The markers and the lines of the hidden blocks long enough to be specific, longest
        first (the grader scrubs them from outputs)."""
        found = {BEGIN_HIDDEN, END_HIDDEN}
        for cell in self.having("check"):
            found.update(line.strip() for line in cell.hidden_block().splitlines()
                         if len(line.strip()) >= min_length)
        return sorted(found, key=len, reverse=True)

    def split_lines(self) -> tuple[set[str], set[str]]:
        """(lines inside the solution regions, lines outside them), stripped, over all cells."""
        secret, public = set(), set()
        for cell in self.cells:
            for line, where in regions(cell.node.source, BEGIN_SOLUTION, END_SOLUTION):
                if where in (INSIDE, OUTSIDE):
                    (secret if where == INSIDE else public).add(line.strip())
        return secret, public

    @property
    def data(self) -> tuple[str, ...]:
        """The data sets the chapter reads, as declared in its metadata (``mlp_course.data``)."""
        declared = self.nb.metadata.get(METADATA, {}).get("data", [])
        unknown = sorted(set(declared) - DATA_SETS)
        if unknown or not isinstance(declared, list):
            raise MasterError(f"{self.path.name}: metadata {METADATA}.data lists data sets of "
                              f"{sorted(DATA_SETS)}, not {unknown or declared!r}.")
        return tuple(declared)

    def exported(self, name: str) -> Cell:
        """The export cell that defines ``name`` (what ``#| include SLUG:NAME`` stamps)."""
        for cell in self.cells:
            if name in cell.definitions():
                if cell.role in ("export", "include"):
                    return cell
                if cell.role == "exercise":
                    raise MasterError(
                        f"{self.path.name}: {name!r} is the graded answer of exercise "
                        f"{cell.ident!r}; a later chapter never hands it out (hand out an "
                        "equivalent written differently, docs/authors.md).")
        raise MasterError(f"{self.path.name}: no export cell defines {name!r}.")

    def for_students(self) -> nbformat.NotebookNode:
        return for_students(self.nb)
