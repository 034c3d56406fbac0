"""The rule for hidden blocks (docs/authors.md, "Checks trust nothing in the student's kernel"),
checked on every master: a hidden block imports `check` and calls it with literal names and the
student's own answer objects, and nothing else. No helper, class or value of a test cell or of
the chapter's other cells reaches a check: an answer cell can define the same names and the
check would run the student's version (chapter 6's checks used to take `_Probe` and `_printed`,
chapter 3's a counting mode, from earlier cells). Fast."""
import ast

import pytest

from autograder.hidden import CHECKS_DIR
from core import paths
from core.chapter import BEGIN_HIDDEN, chapter_slug, parse_cells, read_master

MASTERS = sorted(paths.BOOK.glob("[0-9][0-9]_*.ipynb"))
IMPORT = "from autograder.hidden import check"


def answer_names(cells) -> set[str]:
    """What the chapter's exercise cells define at top level: the student's objects (a class
    whose attribute an answer assigns, e.g. MLP.backward = backward, is one: the answer may also
    redefine the class with the method inside)."""
    names = set()
    for cell in cells:
        if cell.role != "exercise":
            continue
        for node in ast.parse(cell.body).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Assign):
                names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
                # MLP.backward = backward: the answer defines a method of MLP
                names |= {t.value.id for t in node.targets
                          if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name)}
    return names


def hidden_block(source: str) -> str:
    return source.split(BEGIN_HIDDEN, 1)[1].split("### END HIDDEN TESTS", 1)[0]


def problems(block: str, slug: str, allowed: set[str]) -> list[str]:
    found = []
    checks = (CHECKS_DIR / f"{slug}.py").read_text()
    for statement in ast.parse(block).body:
        if ast.unparse(statement) == IMPORT:
            continue
        call = statement.value if isinstance(statement, ast.Expr) else None
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                and call.func.id == "check" and not call.keywords):
            found.append(f"not a call of check(): {ast.unparse(statement)}")
            continue
        chapter, name, *objects = call.args
        if not (isinstance(chapter, ast.Constant) and chapter.value == slug):
            found.append(f"the chapter should be the literal {slug!r}: {ast.unparse(call)}")
        if not (isinstance(name, ast.Constant) and f"def check_{name.value}(" in checks):
            found.append(f"no check_<name> for {ast.unparse(name)} in autograder/checks/{slug}.py")
        for obj in objects:
            if not (isinstance(obj, ast.Name) and obj.id in allowed):
                found.append(f"{ast.unparse(obj)} is not an object the student's answer defines")
    return found


@pytest.mark.parametrize("master", MASTERS, ids=lambda p: p.stem)
def test_hidden_blocks_pass_only_the_students_answers(master):
    cells = parse_cells(read_master(master), master.name)
    allowed = answer_names(cells)
    blocks = [(c.ident, hidden_block(c.node.source)) for c in cells
              if c.role == "check" and BEGIN_HIDDEN in c.node.source]
    assert blocks, f"{master.name} has no hidden block"
    found = [f"{ident}: {p}" for ident, block in blocks
             for p in problems(block, chapter_slug(master), allowed)]
    assert found == []


def test_the_lint_finds_a_helper_from_a_test_cell():
    """The old chapter 6 block: `_Probe` and `_printed` come from a check cell."""
    block = f'{IMPORT}\ncheck("mnist", "test_evaluation", test, _Probe, _printed)\n'
    assert problems(block, "mnist", {"test"}) == [
        "_Probe is not an object the student's answer defines",
        "_printed is not an object the student's answer defines"]
    assert problems(f'{IMPORT}\ncheck("mnist", "test_evaluation", test)\n', "mnist", {"test"}) == []
    assert problems(f'{IMPORT}\nprint(1)\ncheck("mnist", "nope", test)\n', "mnist", {"test"}) == [
        "not a call of check(): print(1)", "no check_<name> for 'nope' in autograder/checks/mnist.py"]
