"""The master format: lint errors for every marker mistake, fresh generated files, no leaks."""
import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from core import paths
from course.cli import main as cli_main
import json
import re

from course.leaks import leaks
from core.chapter import MasterError, for_students, parse_cells, parse_directive, read_master
from course.sync import setup_sections, sync_notebook

GOOD_EXERCISE = "#| exercise f\ndef f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n"
GOOD_CHECK = ("#| check f_works points=1\nassert f(1) == 1, 'f(1) should be 1'\n"
              "### BEGIN HIDDEN TESTS\nassert f(2) == 2, 'f(2) should be 2'\n### END HIDDEN TESTS\n")


def lint(*sources):
    cells = [new_markdown_cell(s[4:]) if s.startswith("md: ") else new_code_cell(s) for s in sources]
    return parse_cells(new_notebook(cells=cells), "test.ipynb")


def test_a_well_formed_master_parses():
    cells = lint(GOOD_EXERCISE, GOOD_CHECK, "md: <!-- #| think why points=2 -->\nWhy?\n"
                 "### BEGIN SOLUTION\nBecause.\n### END SOLUTION")
    assert [(c.role, c.ident, c.points) for c in cells] == [
        ("exercise", "f", None), ("check", "f_works", 1.0), ("think", "why", 2.0)]


@pytest.mark.parametrize("sources, message", [
    (["def f():\n    ### BEGIN SOLUTION\n    pass\n    ### END SOLUTION"], "only belongs in exercise"),
    (["#| exercise f\ndef f():\n    ### BEGIN SOLUTION\n    pass"], "never closed"),
    (["#| exercise f\ndef f():\n    pass"], "needs a '### BEGIN SOLUTION'"),
    (["#| exercise f\ndef f():\n    ### END SOLUTION\n    pass"], "without"),
    (["#| exercise f\ndef f():\n    x = 1  ### BEGIN SOLUTION\n    ### END SOLUTION"], "alone on a line"),
    (["#| exercise f\nprint(1)\n### BEGIN SOLUTION\n### END SOLUTION"], "definitions only"),
    (["#| check t points=1\nf(1) == 1\n### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS"], "bare expression"),
    (["#| check t\nassert True\n### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS"], "positive points"),
    (["#| check t points=1\nassert True"], "BEGIN HIDDEN TESTS"),
    (["x = 1\n### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS"], "only belongs in check"),
    (["#| exercies f\ndef f(): pass"], "unknown directive"),
    ([GOOD_EXERCISE, GOOD_EXERCISE], "used twice"),
    (["#| exercise f\ndef f(:\n    ### BEGIN SOLUTION\n    ### END SOLUTION"], "test.ipynb, cell 0"),
])
def test_marker_mistakes_are_errors(sources, message):
    with pytest.raises(MasterError, match=message):
        lint(*sources)


def test_outputs_in_a_master_are_errors():
    cell = new_code_cell("x = 1", outputs=[nbformat.v4.new_output("stream", text="1")])
    with pytest.raises(MasterError, match="no outputs"):
        parse_cells(new_notebook(cells=[cell]), "test.ipynb")


def test_sync_writes_nbgrader_metadata_and_stamps_setup():
    nb = new_notebook(cells=[new_code_cell("#| setup seed\nold text"), new_code_cell(GOOD_EXERCISE),
                             new_code_cell(GOOD_CHECK)])
    synced = sync_notebook(nb, "test.ipynb", setup_sections())
    title, _, rest = setup_sections()["seed"].partition("\n")
    assert title.startswith("# @title")  # Colab's convention: the form's title comes first
    assert synced.cells[0].source == f"{title}\n#| setup seed\n{rest}"
    assert parse_cells(synced, "test.ipynb")[0].body == setup_sections()["seed"]
    assert synced.cells[1].metadata.nbgrader == {
        "grade_id": "f", "schema_version": 3, "grade": False, "solution": True, "locked": False}
    assert synced.cells[2].metadata.nbgrader["points"] == 1.0
    assert synced.cells[2].metadata.nbgrader["locked"] is True
    assert sync_notebook(synced, "test.ipynb", setup_sections()) == synced  # idempotent


def test_every_master_has_the_setup_cells_and_no_outputs():
    for master in paths.masters():
        cells = parse_cells(read_master(master), master.name)
        assert {c.ident for c in cells if c.role == "setup"} >= {"imports", "seed", "device"}, master


@pytest.mark.slow   # generates every chapter (minutes); `make dev` and `make check` do it too
def test_generated_files_are_fresh_and_leak_nothing(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["check"])
    assert exit_info.value.code == 0, capsys.readouterr().err


def test_leak_check_finds_a_planted_solution_and_hidden_test():
    master = paths.master_for("relu_approximation")
    text = (paths.STUDENTS / master.name).read_text()
    assert leaks(text, master) == []
    assert leaks(text + "\n    b = -x_train[:-1]\n", master)
    assert leaks(text + "from autograder.hidden import check", master)


def test_a_directive_may_follow_a_form_title():
    cell = new_code_cell("# @title Device\n#| setup device\nUSE_GPU = False  # @param")
    assert parse_directive(cell)[:2] == ("setup", "device")
    assert parse_directive(new_code_cell("#| setup device\n# @title Device"))[:2] == ("setup", "device")
    assert parse_directive(new_code_cell("# @title Device\nx = 1"))[0] is None
    assert parse_directive(new_markdown_cell("# @title Device\n<!-- #| book-only -->"))[0] is None


def test_book_only_cells_leave_the_student_notebook_and_student_only_lose_their_directive():
    nb = new_notebook(cells=[new_markdown_cell("<!-- #| book-only -->\nIn the book, a still image."),
                             new_markdown_cell("<!-- #| student-only -->\nRun the next cell."),
                             new_code_cell("#| book-only\nprint('book')"), new_code_cell(GOOD_EXERCISE)])
    cells = parse_cells(nb, "test.ipynb")
    assert [c.role for c in cells] == ["book-only", "student-only", "book-only", "exercise"]
    students = for_students(nb)
    assert [c.source for c in students.cells] == ["Run the next cell.", GOOD_EXERCISE]
    assert len(nb.cells) == 4  # the master is not changed


def student_notebooks():
    return [(master, paths.STUDENTS / master.name) for master in paths.masters()]


@pytest.mark.parametrize("master, student", student_notebooks(), ids=lambda p: p.stem)
def test_student_notebooks_hold_only_text_for_students(master, student):
    """No book-only or maintainer text, no answer of any chapter, no GPU request (every chapter
    runs on the CPU by default), and each Colab form's title first in its cell."""
    text = student.read_text()
    assert leaks(text, master) == []
    nb = json.loads(text)
    assert "accelerator" not in nb["metadata"], "a GPU runtime request spends students' quota"
    for cell in nb["cells"]:
        source = "".join(cell["source"])
        if "# @title" in source:
            assert source.startswith("# @title"), source[:80]


def test_leak_check_finds_book_only_and_maintainer_text():
    master = paths.master_for("relu_approximation")
    text = (paths.STUDENTS / master.name).read_text()
    book_only = [c for c in parse_cells(read_master(master), master.name) if c.role == "book-only"]
    assert book_only, "chapter 1 marks the text that stands in for its check cells as book-only"
    planted = nbformat.writes(new_notebook(cells=[new_markdown_cell(book_only[0].body)]))
    assert any("book-only line" in found for found in leaks(planted, master))
    for words in ("set MLP_COURSE_DATA first", "the rendered book shows", "see benchmarks/x.py"):
        planted = nbformat.writes(new_notebook(cells=[new_markdown_cell(words)]))
        assert any("not for students" in found for found in leaks(planted, master)), words
    code_only = nbformat.writes(new_notebook(cells=[new_code_cell('os.environ.get("MLP_COURSE_DATA")')]))
    assert not any("not for students" in found for found in leaks(code_only, master))


def test_leak_check_finds_an_earlier_chapters_answer_in_a_later_chapter():
    master = paths.master_for("spiral_split")
    text = (paths.STUDENTS / master.name).read_text()
    assert leaks(text + "\n        x = x.reshape(-1, self.input_feature_num)\n", master)
    backprop = paths.master_for("backprop")
    assert leaks("self.z1 = x @ self.W1.T + self.b1", backprop)
    assert not leaks("loss.backward()", backprop)  # taught in the open before chapter 6 asks for it
