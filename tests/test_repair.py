"""Reading a submission builds its cells without validating each one: the cells must be exactly
those nbformat's own constructors make, and the notebook valid as a whole."""
import json

import nbformat
import pytest

from autograder.repair import new_cell, read_notebook
from core import paths

MAKE = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell,
        "raw": nbformat.v4.new_raw_cell}


@pytest.mark.parametrize("kind", sorted(MAKE))
def test_a_cell_is_the_one_nbformat_makes(kind):
    metadata = {"nbgrader": {"grade_id": "x", "solution": True}, "tags": ["a"]}
    made = MAKE[kind](source="x = 1\nprint(x)", metadata=metadata)
    made["id"] = "abc-1"
    assert new_cell(kind, "abc-1", "x = 1\nprint(x)", metadata) == made


@pytest.mark.parametrize("student", sorted(p.name for p in paths.STUDENTS.glob("[0-9][0-9]_*.ipynb")))
def test_every_student_notebook_reads_back_valid_with_its_cells(student):
    data = (paths.STUDENTS / student).read_bytes()
    nb = read_notebook(data)
    nbformat.validate(nb)
    original = json.loads(data)["cells"]
    assert [(c.cell_type, c.id, c.source) for c in nb.cells] == \
        [(c["cell_type"], c["id"], "".join(c["source"])) for c in original]
