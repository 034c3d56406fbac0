"""The rendered book: pages from masters, cached execution, and both HTML editions.

Both editions are built once for the module (a few seconds with a warm execution cache, about
a minute from cold); the text checks read HTML as a reader sees it (tags stripped, entities
decoded), because highlighted code splits every line into many <span>s.
"""
import html
import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from core import paths
from course import book, pages
from core.chapter import BEGIN_SOLUTION, END_SOLUTION

# The chapter these tests read: the first of those built (all, or the subset $CHAPTERS names).
CHAPTER = paths.masters()[0].stem


def distinctive_solution_lines(master: Path, count: int = 3) -> tuple[str, ...]:
    """Solution lines that appear nowhere else in the master (not in prose, skeleton or tests)."""
    nb = nbformat.read(str(master), as_version=4)
    solution, elsewhere = [], []
    for cell in nb.cells:
        inside = False
        for line in cell.source.splitlines():
            if line.strip() in (BEGIN_SOLUTION, END_SOLUTION):
                inside = line.strip() == BEGIN_SOLUTION
                continue
            (solution if inside and cell.cell_type == "code" else elsewhere).append(line.strip())
    rest = "\n".join(elsewhere)
    lines = [line for line in solution if len(line) >= 16 and not line.startswith("#")
             and line not in rest]
    return tuple(sorted(set(lines), key=lambda line: (-len(line), line))[:count])


SOLUTION_LINES = distinctive_solution_lines(paths.master_for(CHAPTER))
GRADING_TEXT = ("BEGIN HIDDEN TESTS", "autograder")
FOLDED = re.compile(r'<details class="[^"]*\bhide\b[^"]*">(.*?)</details>', re.S)


def text_of(path: Path) -> str:
    """Raw text plus what a reader sees: HTML without tags, a notebook's sources and outputs."""
    raw = path.read_text(errors="ignore")
    if path.suffix == ".html":
        return raw + "\n" + html.unescape(re.sub(r"<[^>]*>", "", raw))
    if path.suffix == ".ipynb":
        cells = json.loads(raw)["cells"]
        return raw + "\n" + "\n".join("".join(c["source"]) + json.dumps(c.get("outputs", []))
                                      for c in cells)
    return raw


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def master() -> Path:
    return paths.master_for(CHAPTER)


# --- pages ------------------------------------------------------------------------------------

def test_full_page_folds_solutions_and_drops_checks(master):
    page = pages.page_for(master, "full")
    sources = [c.source for c in page.cells]
    assert not any(s.startswith("#|") or s.startswith("<!-- #|") for s in sources)
    assert not any("BEGIN HIDDEN TESTS" in s or "check(" in s for s in sources)
    assert not any("BEGIN SOLUTION" in s for s in sources)
    solution = [c for c in page.cells if SOLUTION_LINES[0] in c.source]
    assert len(solution) == 1 and solution[0].cell_type == "code"
    assert "hide-input" in solution[0].metadata["tags"]
    task = page.cells[page.cells.index(solution[0]) - 1]
    assert re.match(r"\*\*Exercise \d+\.\*\* Your task", task.source), task.source[:80]
    assert "# YOUR CODE HERE" in task.source and "raise NotImplementedError()" in task.source
    assert f"students/{CHAPTER}.ipynb" in "".join(c.source for c in page.cells[:3])


def test_no_solutions_page_holds_no_solution(master):
    text = nbformat.writes(pages.page_for(master, "no-solutions"))
    for line in SOLUTION_LINES + ("BEGIN SOLUTION",):
        assert line not in text
    assert "raise NotImplementedError()" in text  # the skeleton stays


def test_think_answers_become_dropdowns_only_in_full(tmp_path):
    master = tmp_path / "09_think.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Title"),
                nbformat.v4.new_markdown_cell(
                    "<!-- #| think why points=1 -->\n**Think!** Why?\n### BEGIN SOLUTION\n"
                    "Because of a secret reason.\n### END SOLUTION")]
    nbformat.write(nb, str(master))
    full = "\n".join(c.source for c in pages.page_for(master, "full").cells)
    assert "**Think!** Why?" in full and "{dropdown} Sample answer" in full
    assert "Because of a secret reason." in full
    plain = "\n".join(c.source for c in pages.page_for(master, "no-solutions").cells)
    assert "**Think!** Why?" in plain and "secret reason" not in plain and "dropdown" not in plain


def test_book_only_cells_show_and_student_only_cells_do_not(tmp_path):
    master = tmp_path / "09_audience.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Title"),
                nbformat.v4.new_markdown_cell("<!-- #| book-only -->\nIn the book, a still image."),
                nbformat.v4.new_markdown_cell("<!-- #| student-only -->\nRun the next cell."),
                nbformat.v4.new_code_cell("# @title Settings\n#| setup figures\nx = 1")]
    nbformat.write(nb, str(master))
    sources = [c.source for c in pages.page_for(master, "full").cells]
    assert "In the book, a still image." in sources
    assert not any("Run the next cell." in s for s in sources)
    assert "# @title Settings\nx = 1" in sources  # the form's title stays, the directive goes


def test_credits_page_is_in_the_book_and_names_the_sources():
    toc = (paths.ROOT / "_toc.yml").read_text()
    assert "book/credits" in toc
    credits = (paths.BOOK / "credits.md").read_text()
    for source in ("Neuromatch", "CC BY 4.0", "BSD 3-Clause", "pytorch-workshop", "micrograd",
                   "MNIST multi-layer perceptron activity", "Hands on learning"):
        assert source in credits, source
    assert "CC BY 4.0" in (paths.ROOT / "LICENSE").read_text()


def test_every_chapter_names_its_sources_and_no_unnamed_tutorial():
    for master in paths.all_masters():
        text = "\n".join(c.source for c in nbformat.read(str(master), as_version=4).cells)
        title = nbformat.read(str(master), as_version=4).cells[0].source
        assert "**Source" in title and "CC BY 4.0" in title, master.name
        assert "original tutorial" not in text and "The tutorial" not in text, master.name


# --- execution --------------------------------------------------------------------------------

def test_second_execution_comes_from_the_cache(master, full_html):
    page, cached = book.executed(pages.page_for(master), master.stem)
    assert cached
    assert any(c.get("outputs") for c in page.cells if c.cell_type == "code")


def test_prose_edits_reuse_the_cache_with_the_new_prose(master, full_html):
    page = pages.page_for(master)
    page.cells[0].source += "\n\nA brand-new sentence."
    executed, cached = book.executed(page, master.stem)
    assert cached and executed.cells[0].source.endswith("A brand-new sentence.")


def test_a_failing_cell_names_chapter_and_cell():
    page = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Broken"),
                                           nbformat.v4.new_code_cell("x = 1"),
                                           nbformat.v4.new_code_cell("1 / 0  # boom")])
    with pytest.raises(book.BookError, match=r"(?s)99_broken: book page cell 2.*ZeroDivisionError"):
        book.executed(page, "99_broken")


def test_leak_scan_sees_through_highlighting(tmp_path):
    (tmp_path / "page.html").write_text('<span class="n">b</span> <span class="o">=</span> '
                                        '<span class="o">-</span><span class="n">x_train</span>'
                                        '<span class="p">[:</span><span class="o">-</span>'
                                        '<span class="mi">1</span><span class="p">]</span>')
    assert book.files_containing(tmp_path, {"b = -x_train[:-1]"}) == ["page.html: 'b = -x_train[:-1]'"]


def test_a_sphinx_warning_fails_the_build(full_html, tmp_path):
    src = tmp_path / "src"
    shutil.copytree(paths.BUILD / "src-full", src)
    (src / "book" / "intro.md").write_text("# Intro\n\nSee {ref}`no-such-label`.\n")
    with pytest.raises(book.BookError, match="undefined label: 'no-such-label'"):
        book.render(src, tmp_path / "out")


# --- the full edition -------------------------------------------------------------------------

def chapter(html_dir: Path) -> str:
    path = html_dir / "book" / f"{CHAPTER}.html"
    assert path.exists(), f"{path} was not built"
    return path.read_text()


@pytest.mark.parametrize("edition", ["full", "no-solutions"])
def test_chapter_shows_real_figures(edition, full_html, plain_html):
    html_dir = full_html if edition == "full" else plain_html
    page = chapter(html_dir)
    sources = re.findall(r'<img [^>]*src="([^"]+)"', page)
    pngs = [(html_dir / "book" / src).resolve() for src in sources if src.endswith(".png")]
    assert any(p.exists() and p.stat().st_size > 5000 and p.read_bytes()[:4] == b"\x89PNG"
               for p in pngs), f"no executed PNG figure among {sources}"
    assert not any(src.startswith(("http:", "https:", "//")) for src in sources)


@pytest.mark.parametrize("edition", ["full", "no-solutions"])
def test_chapter_links_the_student_notebook_in_colab(edition, full_html, plain_html):
    page = chapter(full_html if edition == "full" else plain_html)
    assert re.search(r'href="https://colab\.research\.google\.com/github/[^"]+/blob/[^"]+/'
                     rf'students/{CHAPTER}\.ipynb"', page)
    assert f"students/{CHAPTER}.ipynb" in page and "Download the student notebook" in page


@pytest.mark.parametrize("edition", ["full", "no-solutions"])
def test_no_error_output_and_no_grading_text(edition, full_html, plain_html):
    html_dir = full_html if edition == "full" else plain_html
    page = chapter(html_dir)
    assert "ipythontb" not in page and "Traceback" not in page  # how myst-nb shows an error
    outputs = re.findall(r'<div class="output[^"]*">(.*?)</div>', page, re.S)
    assert outputs and not any("NotImplementedError" in output for output in outputs)
    for path in files_under(html_dir):
        text = text_of(path)
        for word in GRADING_TEXT:
            assert word not in text, f"{word!r} in {path.relative_to(html_dir)}"


@pytest.mark.parametrize("edition", ["full", "no-solutions"])
def test_pages_load_no_script_or_image_from_elsewhere(edition, full_html, plain_html):
    html_dir = full_html if edition == "full" else plain_html
    for path in html_dir.rglob("*.html"):
        external = re.findall(r'<(?:script|img)\b[^>]*\bsrc="((?:https?:)?//[^"]+)"', path.read_text())
        assert not external, f"{path.relative_to(html_dir)} loads {external}"
    assert (html_dir / "_static" / "mathjax" / "tex-mml-chtml.js").exists()


def test_full_edition_folds_the_solution(full_html):
    page = chapter(full_html)
    folded = [html.unescape(re.sub(r"<[^>]*>", "", block)) for block in FOLDED.findall(page)]
    assert any(SOLUTION_LINES[0] in block for block in folded), "solution is not in a toggle"
    assert "Show solution" in page
    outside = html.unescape(re.sub(r"<[^>]*>", "", FOLDED.sub("", page)))
    assert not any(line in outside for line in SOLUTION_LINES), "solution shown unfolded"


# --- the no-solutions edition -----------------------------------------------------------------

def test_no_solutions_edition_has_no_solution_anywhere(plain_html):
    everything = files_under(plain_html)
    assert any(p.suffix == ".ipynb" for p in everything), "expected the downloadable source"
    for path in everything:
        text = text_of(path)
        for line in SOLUTION_LINES + ("BEGIN SOLUTION",):
            assert line not in text, f"{line!r} in {path.relative_to(plain_html)}"
    page = chapter(plain_html)
    assert "Show solution" not in page and "YOUR CODE HERE" in page
