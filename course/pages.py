"""Book pages: what a master notebook looks like in the rendered book.

A page is the master read for a reader rather than a student or a grader:

- directive lines are dropped; setup and export cells stay as visible code;
- an exercise shows the student's skeleton (nbgrader's stub in each solution region) as a fenced
  block, then the solution as a code cell tagged ``hide-input`` (folded behind "Show solution");
- check cells are dropped: grading code never appears in the book;
- student-only cells are dropped; book-only cells show (without their directive line);
- a Think! question keeps its text; its sample answer becomes a ``{dropdown}`` cell;
- an "Open in Colab" badge and a download link to the *student* notebook follow the title.

Every cell that holds a solution carries the tag ``solution``, so the no-solutions edition is the
full page with those cells removed (:func:`strip_solutions`), after execution: exercise cells
hold definitions only, so removing them loses no output.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import yaml

from core import paths
from core.chapter import STUDENT_ONLY, Cell, Chapter

EDITIONS = ("full", "no-solutions")
SOLUTION_TAG = "solution"
BADGE = "_static/colab-badge.svg"  # relative to the page, which sits in book/


def repository() -> tuple[str, str, str]:
    """(owner, repo, branch) from ``repository.url`` and ``repository.branch`` in _config.yml."""
    config = yaml.safe_load(paths.BOOK_CONFIG.read_text())["repository"]
    match = re.match(r"https://github\.com/([^/]+)/([^/]+?)(?:\.git)?/?$", config["url"])
    if not match:
        raise ValueError(f"{paths.BOOK_CONFIG.name}: repository.url {config['url']!r} is not "
                         "https://github.com/OWNER/REPO")
    return match[1], match[2], config.get("branch", "main")


def student_links(master: Path) -> tuple[str, str]:
    """(Colab URL, raw download URL) of the student notebook generated from ``master``."""
    owner, repo, branch = repository()
    path = f"{paths.STUDENTS.name}/{Path(master).name}"
    return (f"https://colab.research.google.com/github/{owner}/{repo}/blob/{branch}/{path}",
            f"https://raw.githubusercontent.com/{owner}/{repo}/{branch}/{path}")


def fenced(text: str, info: str, char: str = "`") -> str:
    """A fenced block longer than any run of ``char`` inside ``text``."""
    longest = max((len(run) for run in re.findall(f"{re.escape(char)}+", text)), default=0)
    fence = char * max(3, longest + 1)
    return f"{fence}{info}\n{text}\n{fence}"


def markdown(source: str, ident: str, tags: tuple = ()) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell(source.strip("\n"), id=ident)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def code(source: str, ident: str, tags: tuple = ()) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source.strip("\n"), id=ident)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def exercise_cells(cell: Cell, ident: str, number: int) -> list:
    """The skeleton as a fenced block, then the solution folded away (tagged hide-input)."""
    task = (f"**Exercise {number}.** Your task (in the student notebook):\n\n"
            + fenced(cell.skeleton(), "python"))
    return [markdown(task, f"{ident}-task"),
            code(cell.solution_code(), ident, ("hide-input", SOLUTION_TAG))]


def think_cells(cell: Cell, ident: str) -> list:
    """The question as markdown; each sample answer as its own dropdown cell (tagged solution)."""
    cells, parts = [], cell.solution_parts()
    for number, (text, answer) in enumerate(parts):
        if text.strip():
            cells.append(markdown(text, f"{ident}-{len(cells)}"))
        if number < len(parts) - 1:      # the last part is the text after the last answer
            dropdown = fenced(answer.strip("\n"), "{dropdown} Sample answer", ":")
            cells.append(markdown(dropdown, f"{ident}-{len(cells)}", (SOLUTION_TAG,)))
    return cells


def colab_cell(master: Path) -> nbformat.NotebookNode:
    """The badge and download link to the student notebook (edition-neutral text)."""
    colab, raw = student_links(master)
    return markdown(
        f"[![Open in Colab]({BADGE})]({colab}) &nbsp; [Download the student notebook]({raw})\n\n"
        "Work through this chapter in the **student notebook**: it opens in Colab with the "
        "exercises left for you to complete and self-checks you can run as you go. When you "
        "are done, download it "
        "(*File > Download > Download .ipynb*) and hand it in.",
        "colab-link")


def page_cells(cell: Cell, exercise_number: int) -> list:
    """The book cells one master cell becomes (none for a check cell)."""
    ident = cell.node.get("id") or f"cell-{cell.index}"
    if cell.role in ("check", STUDENT_ONLY):
        return []
    if cell.role == "exercise":
        return exercise_cells(cell, ident, exercise_number)
    if cell.role == "think":
        return think_cells(cell, ident)
    make = code if cell.node.cell_type == "code" else markdown
    return [make(cell.body, ident)]


def page_for(master: Path, edition: str = "full") -> nbformat.NotebookNode:
    """The book page of a master, without outputs (execute the full edition, then strip)."""
    if edition not in EDITIONS:
        raise ValueError(f"edition must be one of {EDITIONS}, not {edition!r}")
    master = Path(master)
    cells = Chapter.read(master).cells
    page = nbformat.v4.new_notebook(metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}})
    exercises = 0
    for cell in cells:
        exercises += cell.role == "exercise"
        page.cells += page_cells(cell, exercises)
        if cell.index == 0:
            page.cells.append(colab_cell(master))
    return page if edition == "full" else strip_solutions(page)


def strip_solutions(page) -> nbformat.NotebookNode:
    """A copy of the page without the cells tagged ``solution`` (works on executed pages too)."""
    page = nbformat.from_dict(page)
    page.cells = [c for c in page.cells if SOLUTION_TAG not in c.metadata.get("tags", [])]
    return page
