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


# --- The grading-test harness: one variant(), one source of base answers, one way to run checks,
# one way to grade a batch and to say what each submission should score. ----------------------

def variant(source: str, *replacements: tuple[str, str]) -> str:
    """``source`` with each ``old`` replaced by ``new``; every ``old`` must occur (a catalog entry
    never silently stops differing from its base when the base changes)."""
    for old, new in replacements:
        assert old in source, f"{old!r} is not in the base answer"
        source = source.replace(old, new)
    return source


def solution_source(slug: str, *names: str, after: str = "", bare: bool = False) -> str:
    """The source of the top-level definitions ``names`` of the generated solution module
    ``solutions/<slug>.py``, in file order, as an answer cell would hold them (plus ``after``):
    catalogs build on today's reference answer, never on a pasted copy of yesterday's. ``bare``:
    without comments and docstrings, as a student who deletes the skeleton's hands it in."""
    import ast
    text = (paths.ROOT / "solutions" / f"{slug}.py").read_text()
    tree = ast.parse(text)
    found = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in names:
            found[node.name] = ast.get_source_segment(text, node, padded=True)
    missing = [n for n in names if n not in found]
    assert not missing, f"solutions/{slug}.py defines no {missing}"
    if bare:
        found = {n: without_comments(code) for n, code in found.items()}
    return "\n" + "\n\n\n".join(found[n] for n in names) + "\n" + (f"\n\n{after.strip()}\n" if after else "")


def without_comments(source: str) -> str:
    """``source`` without its comments and docstrings (and the lines they leave empty)."""
    import ast
    import io
    import tokenize
    drop = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                drop.update(range(first.lineno, first.end_lineno + 1))
    comments = {tok.start[0]: tok.start[1] for tok in tokenize.generate_tokens(io.StringIO(source).readline)
                if tok.type == tokenize.COMMENT}
    lines = []
    for number, line in enumerate(source.split("\n"), 1):
        if number in drop:
            continue
        if number in comments:
            line = line[:comments[number]].rstrip()
            if not line.strip():
                continue
        if not line.strip() and lines and lines[-1].rstrip().endswith(":"):
            continue   # the blank line a class docstring left after the header
        lines.append(line)
    return "\n".join(lines)


def check_points(chapter_file: str) -> dict[str, float]:
    """check id -> points of every autograded check cell of a chapter, read from its master."""
    nb = nbformat.read(str(paths.BOOK / chapter_file), as_version=4)
    points = {}
    for cell in nb.cells:
        role, ident, options = parse_directive(cell)
        if role == "check":
            points[ident] = float(options.get("points", 0) or 0)
    return points


def runners() -> dict:
    """The two ways a hidden check runs: in-process (the check holds the student's objects) and
    as under the grader (in the oracle, on proxies of objects that stay on the student's side)."""
    from autograder.hidden import check
    from autograder.sandbox import loopback
    return {"in_process": check, "grader": loopback.check}


RUNNER_NAMES = ("grader", "in_process")


def check_failures(slug: str, check_ids, objects, runner: str = "in_process",
                   source: str | None = None) -> dict[str, str]:
    """check id -> the message a student would read, for every check in ``check_ids`` that the
    objects fail (``source``: the student's code cells, which the grader reads from the notebook)."""
    from autograder.checks.compare import CheckFailed
    run = runners()[runner]
    found = {}
    for check_id in check_ids:
        try:
            if runner == "grader" and source is not None:
                run(slug, check_id, *objects, source=source)
            else:
                run(slug, check_id, *objects)
        except CheckFailed as failure:
            found[check_id] = str(failure)
    return found


def mistake_report(messages: dict[str, str], mistakes: dict[str, str], name: str) -> list[str]:
    """What is wrong with the feedback of wrong answer ``name``: it must name its own mistake
    (``mistakes[name]``, a regular expression) and none of the other mistakes of the exercise."""
    import re
    text = "\n".join(messages.values())
    problems = []
    if not messages:
        problems.append(f"{name} passed every hidden check")
    elif not re.search(mistakes[name], text, re.I | re.S):
        problems.append(f"{name}: the feedback does not name the mistake /{mistakes[name]}/: {text}")
    for other, pattern in mistakes.items():
        if pattern != mistakes[name] and re.search(pattern, text, re.I | re.S):
            problems.append(f"{name}: the feedback names another mistake ({other}, /{pattern}/): {text}")
    return problems


class Batch:
    """A graded batch: ``cases`` (name -> (notebook, expected points per check id)), ``results``
    (name -> the grader's result), and the submitted files' hashes ``before`` and ``after``."""

    def __init__(self, cases, results, before, after):
        self.cases, self.results, self.before, self.after = cases, results, before, after


def graded_fixture(slug: str, submissions, env: dict | None = None, needs=()):
    """A module-scoped fixture that writes ``submissions()`` (name -> (notebook, expected)) to
    files, grades them all in ONE call of the instructors' command (autograder.grade.grade: real
    nbgrader, sandbox, oracle) on the session's Dask cluster (conftest.grading_scheduler), and
    returns a Batch. ``env`` is set while grading; ``needs`` names
    fixtures to request first (e.g. mnist_root)."""
    import hashlib
    import warnings

    import pytest

    @pytest.fixture(scope="module")
    def graded(tmp_path_factory, request, grading_scheduler):
        from autograder.grade import grade
        for fixture in needs:
            request.getfixturevalue(fixture)
        folder = tmp_path_factory.mktemp("submitted")
        cases = submissions()
        files = {}
        for name, (nb, _) in cases.items():
            files[name] = folder / f"{name}.ipynb"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # some cases are invalid notebooks on purpose
                nbformat.write(nb, str(files[name]), version=4)
        digest = lambda: {n: hashlib.sha256(p.read_bytes()).hexdigest() for n, p in files.items()}  # noqa: E731
        before = digest()
        with pytest.MonkeyPatch.context() as patch:
            for key, value in (env or {}).items():
                patch.setenv(key, str(value() if callable(value) else value))
            results = grade(slug, files, tmp_path_factory.mktemp("grades"),
                            scheduler=grading_scheduler)
        return Batch(cases, {r.student: r for r in results}, before, digest())

    return graded


def assert_points(result, expected: dict, name: str = "") -> None:
    """The one way a grading test states what a submission earns: the exact points of each
    check cell it names (full marks, 0, or what the in-process checks give)."""
    got = {check_id: result.scores.get(check_id) for check_id in expected}
    assert got == expected, (name, got, expected, result.notes)


def expected_points(catalog, answers: dict[str, str], points: dict[str, float]) -> dict[str, float]:
    """What the grader must give an answer per check cell: its points where the in-process hidden
    check passes the answer, else 0 (tests/test_checks_catalogs.py proves the in-process checks
    right on every catalog entry, and tests/test_grading_<slug>.py that the grader agrees)."""
    expected = {}
    for exercise, code in answers.items():
        failed = check_failures(catalog.SLUG, catalog.CHECKS[exercise], catalog.objects(exercise, code))
        expected.update({c: (0.0 if c in failed else points[c]) for c in catalog.CHECKS[exercise]})
    return expected


def by_exercise(catalog, table: str) -> dict[str, dict]:
    """``catalog.<table>`` (CORRECT, WRONG, MISTAKES) as {exercise: {name: ...}}: a chapter with
    one exercise may keep flat dictionaries (its ``EXERCISE`` names it)."""
    value = getattr(catalog, table)
    if hasattr(catalog, "EXERCISE") and catalog.EXERCISE not in value:
        return {catalog.EXERCISE: value}
    return value


def visible_failures(chapter_file: str, check_ids, namespace: dict) -> dict[str, str]:
    """check id -> the error a student sees from the visible asserts of that check cell (the
    master's cell without its hidden block), run in ``namespace`` (an answer cell's names)."""
    nb = nbformat.read(str(paths.BOOK / chapter_file), as_version=4)
    found = {}
    for cell in nb.cells:
        role, ident, _ = parse_directive(cell)
        if role != "check" or ident not in check_ids:
            continue
        code = cell.source.split("### BEGIN HIDDEN TESTS")[0]
        try:
            exec(compile(code, f"<visible {ident}>", "exec"), dict(namespace))
        except Exception as err:  # noqa: BLE001 (what the student would see)
            found[ident] = f"{type(err).__name__}: {err}"
    return found


def feedback_errors(result) -> list[str]:
    """The error lines of a graded submission's feedback page ('AssertionError: ...',
    'CheckFailed: ...'): what the student reads, without the code of the cells."""
    import html
    import re
    text = html.unescape(re.sub(r"<[^>]+>", "", result.feedback.read_text()))
    return [line.strip() for line in text.splitlines()
            if re.match(r"\s*[A-Za-z_]\w*(Error|Failed|Exception|Interrupt): ", line)]


def zipped(catalog_: dict, checks, solved: dict) -> list[dict]:
    """[{exercise: (variant, code)}]: the i-th variant of every exercise, the solved answer where an
    exercise has fewer variants (marked None, so that its checks are expected at full marks)."""
    import itertools
    columns = [[(name, code) for name, code in sorted(catalog_[e].items())] for e in checks]
    rows = itertools.zip_longest(*columns)
    return [{e: cell or (None, solved[e]) for e, cell in zip(checks, row)} for row in rows]


def zipped_submissions(catalog, points: dict) -> dict:
    """name -> (notebook, the answers per exercise, or the points per check cell): the solved
    master, the untouched student notebook, and the catalog's wrong and correct answers zipped
    across its exercises (submission i holds variant i of each), for one grading batch."""
    student = student_notebook(catalog.CHAPTER)
    cases = {
        "solved_master": (nbformat.read(str(paths.BOOK / catalog.CHAPTER), as_version=4), points),
        "untouched": (student, dict.fromkeys(points, 0.0)),
    }
    for kind, catalog_ in (("wrong", catalog.WRONG), ("correct", catalog.CORRECT)):
        for i, row in enumerate(zipped(catalog_, catalog.CHECKS, catalog.SOLVED)):
            answers = {e: code for e, (_, code) in row.items()}
            label = "+".join(name or "solved" for name, _ in row.values())
            cases[f"{kind}_{i}_{label}"] = (with_answers(student, answers),
                                             answers if kind == "wrong" else points)
    return cases


def assert_zipped_points(catalog, points: dict, name: str, expected, result) -> None:
    """The points of one submission of zipped_submissions: full marks for the correct rows; for a
    wrong row, what the in-process checks give, and less than full on every exercise whose answer
    is not the solved one."""
    if name.startswith("wrong_"):
        for exercise, code in expected.items():
            if code != catalog.SOLVED[exercise]:
                checks = catalog.CHECKS[exercise]
                assert sum(result.scores[c] for c in checks) < sum(checks.values()), \
                    (name, exercise, result.scores)
        expected = expected_points(catalog, expected, points)
    assert_points(result, expected, name)
