"""The chapter model (core/chapter.py): includes, declared data, hidden check calls, and the lint
that ties check calls to the checks modules (course/check_calls.py)."""
from __future__ import annotations

import nbformat
import pytest

from core import paths
from core.chapter import Chapter, MasterError
from course.check_calls import problems
from course.generate import solution_module_text
from course.sync import included_source


def chapter_of(cells: list, name: str = "01_relu_approximation.ipynb", metadata=None) -> Chapter:
    nb = nbformat.v4.new_notebook(cells=cells, metadata=metadata or {})
    return Chapter.from_notebook(nb, name)


def test_an_include_is_the_earlier_chapters_export_cell_word_for_word():
    export = Chapter.read(paths.master_for("general_mlp")).exported("make_activation")
    stamped = included_source("general_mlp:make_activation", "04_spiral_split.ipynb")
    assert stamped == "#| include general_mlp:make_activation\n" + export.body.strip("\n")
    assert export.body.strip("\n") in solution_module_text(paths.master_for("spiral_split"))
    student = (paths.STUDENTS / "04_spiral_split.ipynb").read_text()
    assert "def make_activation" in student


def test_an_include_never_hands_out_a_graded_answer_nor_takes_from_a_later_chapter():
    with pytest.raises(MasterError, match="graded answer of exercise 'MLP'"):
        included_source("general_mlp:MLP", "05_backprop.ipynb")
    with pytest.raises(MasterError, match="earlier chapter only"):
        included_source("spiral_split:make_activation", "02_general_mlp.ipynb")
    with pytest.raises(MasterError, match="no export cell defines 'nothing'"):
        included_source("general_mlp:nothing", "05_backprop.ipynb")
    with pytest.raises(MasterError, match="CHAPTER:NAME"):
        chapter_of([nbformat.v4.new_code_cell("#| include make_activation")])


def test_data_is_declared_in_the_metadata_and_never_reaches_students():
    assert Chapter.read(paths.master_for("mnist")).data == ("mnist",)
    assert Chapter.read(paths.master_for("relu_approximation")).data == ()
    student = nbformat.read(str(paths.STUDENTS / "06_mnist.ipynb"), as_version=4)
    assert "mlp_course" not in student.metadata
    with pytest.raises(MasterError, match="data sets"):
        chapter_of([], metadata={"mlp_course": {"data": ["cifar"]}})


def test_check_calls_are_read_with_ast_and_must_be_literals():
    source = ('#| check values points=2\nassert True, "ok"\n### BEGIN HIDDEN TESTS\n'
              'from autograder.hidden import check\n'
              'check(  "relu_approximation",\n  \'approximate_function_values\', f)\n'
              '### END HIDDEN TESTS')
    chapter = chapter_of([nbformat.v4.new_code_cell(source)])
    assert chapter.check_map() == {"values": ["approximate_function_values"]}
    assert chapter.points == {"values": 2.0}
    literal_only = source.replace("'approximate_function_values'", "NAME")
    with pytest.raises(MasterError, match="string literals"):
        chapter_of([nbformat.v4.new_code_cell(literal_only)]).check_map()


def test_points_and_check_maps_agree_with_nbgrader_metadata_of_every_master():
    for master in paths.all_masters():
        chapter = Chapter.read(master)
        meta = {c.ident: c.node.metadata["nbgrader"]["points"] for c in chapter.having("check", "think")}
        assert chapter.points == meta
        assert set(chapter.check_map()) == {c.ident for c in chapter.having("check")}


def test_every_check_call_resolves_and_every_check_is_called(tmp_path):
    assert problems(paths.all_masters()) == []
    source = ('#| check values points=1\n### BEGIN HIDDEN TESTS\n'
              'check("relu_approximation", "no_such_check", f)\n### END HIDDEN TESTS')
    master = tmp_path / "01_relu_approximation.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)]), str(master))
    found = problems([master])
    assert any("check_no_such_check" in line for line in found)
    assert any("check_approximate_function_values is called by no master" in line for line in found)
