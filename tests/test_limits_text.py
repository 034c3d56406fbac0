"""Student text the grader processes outside the kernel's limits has a size bound and is
processed in linear time: the checks' parsing of printed lines, repair of a notebook's cells,
and unpacking an archive. Each attack is paired with a control that goes through as usual.
Fast: no kernel."""
import subprocess
import sys
import zipfile

import nbformat
import pytest

from autograder import collect as collect_module
from autograder.collect import collect
from autograder.repair import SubmissionError, read_notebook, repair
from core import paths
from tests.helpers import student_notebook

CHAPTER = "01_relu_approximation.ipynb"
MAX_CELLS = 2000          # what a submission may have (autograder.repair.MAX_CELLS)
MB = 1 << 20
PARSE = """
import sys
from autograder.checks.compare import CheckFailed
from autograder.checks.mnist import ACCURACY_LINE, printed_number
try:
    print(printed_number(ACCURACY_LINE, sys.argv[1], "train()", "'accuracy = XX%'"))
except CheckFailed as err:
    print("CheckFailed", str(err)[:80])
"""


def parse_printed(line: str) -> str:
    """The MNIST checks' parse of what train() printed, in a process of its own (a regular
    expression that backtracks holds its thread for minutes: the timeout ends the test)."""
    done = subprocess.run([sys.executable, "-c", PARSE, line], capture_output=True, text=True,
                          timeout=120, cwd=paths.ROOT)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_long_printed_line_is_parsed_in_linear_time():
    # Once 221 s in a backtracking regular expression, in the worker, where no limit fires.
    assert parse_printed("Average train accuracy = " + "1" * 100_000).startswith("CheckFailed")


def test_control_printed_statistics_are_still_read():
    assert parse_printed("Epoch 1 done. Average train accuracy = 97.125%").strip() == "97.125"
    assert parse_printed("accuracy = 1e-3 %").strip() == "0.001"


def notebook_bytes(nb) -> bytes:
    return nbformat.writes(nb).encode()


def test_a_notebook_of_30000_cells_is_refused_with_a_reason():
    # Once 45 s of repair, outside every time limit.
    nb = student_notebook(CHAPTER)
    nb.cells += [nbformat.v4.new_markdown_cell(f"note {i}") for i in range(30_000)]
    with pytest.raises(SubmissionError, match=rf"{len(nb.cells)} cells, more than the 2000 .* delete"):
        read_notebook(notebook_bytes(nb))


def test_a_notebook_of_pasted_data_is_refused_with_a_reason():
    nb = student_notebook(CHAPTER)
    nb.cells.append(nbformat.v4.new_code_cell("data = '" + "1" * (9 << 20) + "'"))
    with pytest.raises(SubmissionError, match="MB of text, more than the 8 MB"):
        read_notebook(notebook_bytes(nb))


def test_control_a_notebook_with_many_added_cells_is_repaired():
    student = student_notebook(CHAPTER)
    nb = student_notebook(CHAPTER)
    extra = MAX_CELLS - len(nb.cells)
    nb.cells += [nbformat.v4.new_markdown_cell(f"note {i}") for i in range(extra)]
    repaired = repair(read_notebook(notebook_bytes(nb)), student)
    assert len(repaired.notebook.cells) == MAX_CELLS


def zip_of(path, members: dict):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def inner_zip(tmp_path, sizes: list[int]) -> bytes:
    """A student's upload: a zip of notebooks-to-be of the given sizes (zeros: tiny once packed)."""
    inner = zip_of(tmp_path / "upload.zip", {f"part{i}.ipynb": bytes(size)
                                             for i, size in enumerate(sizes)})
    return inner.read_bytes()


def test_an_uploaded_zip_cannot_unpack_past_its_total(tmp_path):
    # Each member under the 64 MB cap, 180 MB in all from a zip of under 1 MB.
    upload = inner_zip(tmp_path, [60 * MB] * 3)
    assert len(upload) < MB
    archive = zip_of(tmp_path / "class.zip", {"alice/upload.zip": upload})
    entries = collect_module.read_sources([archive])
    read = sum(len(e.data) for e in entries if e.data)
    refused = [e for e in entries if e.problem]
    assert read <= 128 * MB
    assert refused and "unpacks to more than 128 MB in all" in refused[0].problem
    assert "alice/upload.zip" in refused[0].problem


def test_control_an_uploaded_zip_under_its_total_is_read(tmp_path):
    upload = inner_zip(tmp_path, [60 * MB] * 2)
    archive = zip_of(tmp_path / "class.zip", {"alice/upload.zip": upload})
    entries = collect_module.read_sources([archive])
    assert [len(e.data) for e in entries] == [60 * MB] * 2
    assert not any(e.problem for e in entries)


def test_the_lms_archive_has_a_total_too_and_the_row_says_why(tmp_path, monkeypatch):
    monkeypatch.setattr(collect_module, "MAX_UNPACKED", 3 * MB, raising=False)
    nb = notebook_bytes(student_notebook(CHAPTER))
    members = {f"s{i}/01_relu_approximation.ipynb": nb + b" " * MB for i in range(5)}
    subs = {s.student: s for s in collect([zip_of(tmp_path / "class.zip", members)])}
    assert sum(s.data is not None for s in subs.values()) == 2
    refused = [s for s in subs.values() if s.data is None]
    assert len(refused) == 3
    assert all("unpacks to more than 3 MB in all" in s.problem for s in refused)
