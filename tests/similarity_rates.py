"""How well the similarity report separates copies from independent work, on the answer catalogs.

* **copies**: every catalog answer (correct and wrong, every chapter) pasted into a second
  notebook with its variables renamed, its helpers and methods in another order and its comments
  gone: each (original, copy) pair should be reported;
* **independent**: every pair of correct answers of one exercise written independently (not one
  made from the other by editing a few lines: those share most of their lines): none should be.

Both are notebooks built from the chapter's student notebook, run through the report's own code
(repair, given-code exclusion, copydetect). ``python -m tests.similarity_rates`` prints the rates.
"""
from __future__ import annotations

import ast
import builtins
import difflib
import functools
import importlib
import itertools
import re
from dataclasses import dataclass

import nbformat

from autograder.instructor.similarity import THRESHOLD, Code, compare, given_code, submission_code
from core import paths
from tests.helpers import student_notebook, with_answers

CATALOGS = {"relu_approximation": "01_relu_approximation.ipynb",
            "general_mlp": "02_general_mlp.ipynb", "cross_entropy": "03_cross_entropy.ipynb",
            "spiral_split": "04_spiral_split.ipynb", "backprop": "05_backprop.ipynb",
            "mnist": "06_mnist.ipynb", "lif_neuron": "07_lif_neuron.ipynb"}
DERIVED = 0.5   # two answers sharing more than this ratio of lines are edits of one text


@dataclass
class Case:
    chapter: str
    exercise: str
    name: str
    score: float


class Rename(ast.NodeTransformer):
    """Give every local variable and argument another name, consistently."""

    def __init__(self, keep: set[str]):
        self.keep, self.names = keep, {}

    def new(self, name: str) -> str:
        if name in self.keep or name in dir(builtins) or name == "self":
            return name
        return self.names.setdefault(name, f"my_{name[::-1].strip('_') or 'v'}{len(self.names)}")

    def visit_arg(self, node):
        node.arg = self.new(node.arg)
        return node

    def visit_Name(self, node):
        if node.id in self.names or isinstance(node.ctx, ast.Store):
            node.id = self.new(node.id)
        return node

    def visit_keyword(self, node):
        self.generic_visit(node)
        return node


def disguise(source: str) -> str:
    """The answer as a copier hands it in: renamed variables, helpers reordered, no comments."""
    tree = ast.parse(source)
    keep = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    keep |= {a.asname or a.name.split(".")[0] for n in ast.walk(tree)
             if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    arguments = {a.arg for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)
                 for a in n.args.args + n.args.kwonlyargs}
    for node in ast.walk(tree):   # names other cells use (module-level) stay; locals are renamed
        if isinstance(node, ast.Name) and node.id not in arguments and _module_level(tree, node):
            keep.add(node.id)
    tree = Rename(keep).visit(tree)
    tree.body = reorder(tree.body)
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            node.body = reorder(node.body)
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def _module_level(tree, target) -> bool:
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.ClassDef)):
            if any(n is target for n in ast.walk(stmt)):
                return False
    return True


def reorder(body: list) -> list:
    """Definitions in reverse order (after a docstring), other statements where they were."""
    defs = [s for s in body if isinstance(s, (ast.FunctionDef, ast.ClassDef))]
    if len(defs) < 2:
        return body
    it = iter(reversed(defs))
    return [next(it) if isinstance(s, (ast.FunctionDef, ast.ClassDef)) else s for s in body]


def catalog(chapter: str) -> dict[str, dict[str, dict[str, str]]]:
    """{'correct'|'wrong': {exercise: {name: source}}} of a chapter's catalog."""
    module = importlib.import_module(f"tests.catalog.{chapter}")
    found = {}
    for kind in ("CORRECT", "WRONG"):
        entries = getattr(module, kind)
        if all(isinstance(v, str) for v in entries.values()):     # one exercise, flat
            exercise = next(iter(module.SOLVED))
            entries = {exercise: entries}
        found[kind.lower()] = entries
    return found


@functools.lru_cache(maxsize=None)
def chapter_notebook(chapter_file: str):
    return student_notebook(chapter_file)


def notebook_code(chapter_file: str, exercise: str, source: str) -> str:
    nb = with_answers(chapter_notebook(chapter_file), {exercise: source})
    return submission_code(nbformat.writes(nb).encode(), chapter_notebook(chapter_file))


def pair_score(chapter_file: str, exercise: str, first: str, second: str) -> float:
    given = given_code(chapter_notebook(chapter_file))
    codes = [Code("a", "", notebook_code(chapter_file, exercise, first)),
             Code("b", "", notebook_code(chapter_file, exercise, second))]
    pairs = compare(codes, given)
    return pairs[0].score if pairs else 0.0


def normalised_lines(source: str) -> list[str]:
    lines = (re.sub(r"#.*", "", line).replace("'", '"') for line in source.splitlines())
    return [re.sub(r"\s+", "", line) for line in lines if line.strip()]


def derived(first: str, second: str) -> bool:
    """Edits of one text: most lines the same once spacing, quotes and comments are ignored."""
    return difflib.SequenceMatcher(None, normalised_lines(first),
                                   normalised_lines(second)).ratio() > DERIVED


def copy_cases() -> list[Case]:
    cases = []
    for chapter, chapter_file in CATALOGS.items():
        for kind, exercises in catalog(chapter).items():
            for exercise, variants in exercises.items():
                for name, source in variants.items():
                    score = pair_score(chapter_file, exercise, source, disguise(source))
                    cases.append(Case(chapter, exercise, f"{kind}:{name}", score))
    return cases


def independent_cases() -> list[Case]:
    cases = []
    for chapter, chapter_file in CATALOGS.items():
        for exercise, variants in catalog(chapter)["correct"].items():
            for (n1, s1), (n2, s2) in itertools.combinations(variants.items(), 2):
                if not derived(s1, s2):
                    cases.append(Case(chapter, exercise, f"{n1} vs {n2}",
                                      pair_score(chapter_file, exercise, s1, s2)))
    return cases


def main() -> None:
    copies, independent = copy_cases(), independent_cases()
    found = [c for c in copies if c.score >= THRESHOLD]
    false = [c for c in independent if c.score >= THRESHOLD]
    print(f"threshold {THRESHOLD}")
    print(f"copies found: {len(found)}/{len(copies)} ({len(found) / len(copies):.1%}); lowest "
          f"score {min(c.score for c in copies):.2f}")
    print(f"independent correct pairs reported: {len(false)}/{len(independent)} "
          f"({len(false) / max(1, len(independent)):.1%}); highest score "
          f"{max((c.score for c in independent), default=0):.2f}")
    for c in sorted(copies, key=lambda c: c.score)[:5]:
        print(f"  lowest copy: {c.chapter}/{c.exercise} {c.name}: {c.score:.2f}")
    for c in sorted(independent, key=lambda c: -c.score)[:5]:
        print(f"  highest independent: {c.chapter}/{c.exercise} {c.name}: {c.score:.2f}")


if __name__ == "__main__":
    main()
