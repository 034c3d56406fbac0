"""The lint that ties masters to hidden checks: every ``check("slug", "name", ...)`` call in a
master's hidden tests names a function ``check_<name>`` of ``autograder/checks/<slug>.py``, and
every public ``check_*`` function there is called by some master (a check nobody calls grades
nothing and rots). A hidden check is a top-level ``check_<name>(*objects, reference)`` with
``reference`` keyword-only (docs/authors.md); other ``check_*`` functions are a module's helpers.
The checks modules are read with ``ast``, never imported.
"""
from __future__ import annotations

import ast
from pathlib import Path

from core import paths
from core.chapter import Chapter


def check_functions(slug: str) -> set[str]:
    """The public check names (``check_<name>`` -> ``name``) of a chapter's checks module."""
    path = paths.CHECKS / f"{slug}.py"
    if not path.exists():
        return set()
    tree = ast.parse(path.read_text(), str(path))
    return {node.name[len("check_"):] for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name.startswith("check_")
            and "reference" in [arg.arg for arg in node.args.kwonlyargs]}


def problems(masters: list[Path]) -> list[str]:
    """What does not resolve, and what no master calls (the latter only when every master is
    looked at: a check may serve a chapter outside $CHAPTERS)."""
    found, called = [], {}
    defined: dict[str, set[str]] = {}
    for master in masters:
        chapter = Chapter.read(master)
        for test, calls in chapter.check_calls(own_only=False).items():
            for call in calls:
                names = defined.setdefault(call.chapter, check_functions(call.chapter))
                called.setdefault(call.chapter, set()).add(call.name)
                if call.name not in names:
                    found.append(f"{master.name}, test {test!r}: check({call.chapter!r}, "
                                 f"{call.name!r}) has no check_{call.name} in "
                                 f"autograder/checks/{call.chapter}.py")
    if not paths.chapter_subset():
        for master in masters:
            slug = Chapter.read(master).slug
            for name in sorted(check_functions(slug) - called.get(slug, set())):
                found.append(f"autograder/checks/{slug}.py: check_{name} is called by no master")
    return found
