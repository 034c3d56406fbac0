"""The feedback exporter remembers each code cell's highlighting and each Markdown cell's HTML by
their text (autograder/workspace.py): a class's pages share most cells. A page made with the memo
is the page made without it, a cell whose text changed is never shown with the old text's HTML,
and the memo stays bounded."""
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from traitlets.config import Config

from autograder import workspace

LANGUAGE = {"language_info": {"name": "python", "pygments_lexer": "ipython3"}}


def exporter():
    return workspace.feedback_exporter_class()(config=Config())


def submission(answer: str, think: str):
    return new_notebook(metadata=LANGUAGE, cells=[
        new_markdown_cell("# Squares\nWrite $f(x) = x^2$ for an array `x`."),
        new_code_cell("import numpy as np\nx = np.arange(3)"),
        new_code_cell(answer),
        new_markdown_cell(think)])


CLASS = [submission("def f(x):\n    return x ** 2", "Because *squares* grow."),
         submission("def f(x):\n    return x * x", "Because they **do**."),
         submission("def f(x):\n    return x ** 2", "Because *squares* grow.")]


def test_pages_with_the_memo_are_the_pages_without_it(monkeypatch):
    remembering = exporter()
    with_memo = [remembering.from_notebook_node(nb)[0] for nb in CLASS]
    monkeypatch.setattr(workspace, "REMEMBERED_PAGES_PARTS", 0)
    without = [exporter().from_notebook_node(nb)[0] for nb in CLASS]
    assert with_memo == without
    # the memo did work: one highlighting per distinct code cell, one rendering per Markdown text
    highlighter, = remembering.highlighters.values()
    assert len(highlighter.seen.values) == 3
    assert len(remembering.rendered.values) == 3


def test_a_changed_cell_shows_its_own_text():
    remembering = exporter()
    first, second = (remembering.from_notebook_node(nb)[0] for nb in CLASS[:2])
    assert "<strong>do</strong>" in second and "<strong>do</strong>" not in first
    assert '<span class="n">x</span> <span class="o">*</span> <span class="n">x</span>' in second
    assert '<span class="o">**</span>' in first and '<span class="o">**</span>' not in second


def test_the_memo_is_bounded(monkeypatch):
    monkeypatch.setattr(workspace, "REMEMBERED_PAGES_PARTS", 4)
    memo = workspace.Remembered()
    for i in range(10):
        assert memo.get(i, lambda i=i: i * i) == i * i
        assert len(memo.values) <= 4
    assert memo.get(9, lambda: "recomputed") == 81   # still remembered after the last clear
