"""The bad-input corpus and a realistic class, built from the ReLU chapter's student notebook.

``python tests/corpus/make_corpus.py OUT`` writes

* ``OUT/bad/``: one file per bad input of the grading issue (``CASES`` says what each must
  get), named as its student id, plus ``OUT/bad_lms.zip``: the archive cases (``../`` paths, two
  submissions by one student, a non-UTF-8 name, a symlink member);
* ``OUT/class.zip``: a class of 54 realistic submissions named the way Canvas and Moodle
  download them, most saved from Colab (``Copy of ...``, ``(1)``), correct, partly wrong and
  broken (``CLASS_EXPECTED`` gives each student's total, or a status).

Everything is generated (the notebooks follow the chapter when it changes); small literal
inputs live in this folder (``not_json.ipynb``, ``python_source.ipynb``).
"""
from __future__ import annotations

import copy
import random
import stat
import sys
import zipfile
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from tests.catalog.relu_approximation import CORRECT, WRONG  # noqa: E402
from tests.helpers import student_notebook, with_answers  # noqa: E402

CHAPTER = "01_relu_approximation.ipynb"
FULL = 3.0
SECRET_FILE = "solutions/relu_approximation.py"

# name -> (status, a phrase the reason must contain (or None), total: number, "lost" or None)
CASES = {
    "not_json": ("failed", "not valid JSON", None),
    "empty": ("failed", "empty", None),
    "python_source": ("failed", "Python source", None),
    "other_chapter": ("failed", "chapter", None),
    "tests_deleted": ("graded", "missing: restored", "lost"),
    "tests_edited": ("graded", "was edited", "lost"),
    "tests_reordered": ("graded", "out of order", FULL),
    "tests_duplicated": ("graded", "appeared 2 times", FULL),
    "metadata_stripped": ("graded", None, FULL),
    "directives_and_metadata_stripped": ("graded", None, FULL),
    "skip_execution_tags": ("graded", None, "lost"),
    "widget_metadata_malformed": ("graded", None, FULL),
    "nbformat_4_0_no_ids": ("graded", None, FULL),
    "infinite_loop_in_function": ("graded", "per-cell limit", 0.0),
    "infinite_loop_at_top_level": ("graded", "per-cell limit", FULL),
    "allocates_20gb": ("graded", "ran out of memory", FULL),
    "sys_exit": ("graded", None, FULL),
    "os_exit": ("needs review", "exited with code 1", 0.0),
    "segfault": ("needs review", "segmentation fault", 0.0),
    "prints_50mb": ("graded", "printed more than", FULL),
    "writes_outside_folder": ("graded", None, FULL),
    "opens_network_connection": ("graded", None, FULL),
    "imports_solution_module": ("graded", None, 0.0),
    "reads_solution_file": ("graded", None, 0.0),
    "monkeypatches_check": ("graded", "did not pass", "lost"),
}
# archive members -> (student id, status, reason phrase, total)
LMS_CASES = {
    # ../../escape/evil_666_... : the top-level name inside the LMS archive is the folder
    # "escape", so that is the student id (ids come only from top-level names), never 666
    "escape": ("escape", "graded", "was read as", FULL),
    "twice": ("111", "graded", "graded the latest", FULL),     # two submissions, latest is right
    "umlaut": ("4242", "graded", None, FULL),                  # non-UTF-8 (cp437/latin) name
    "link": ("777", "failed", "symbolic link", None),          # a symlink member
}

ANSWER = "approximate_function"
TESTS = "#| check"


def answer(nb, code: str):
    return with_answers(nb, {ANSWER: code})


def test_cells(nb):
    return [c for c in nb.cells if c.source.startswith(TESTS)]


def correct(nb):
    return answer(nb, CORRECT["loop"])


def wrong(nb):  # passes the visible asserts, fails the hidden test
    return answer(nb, WRONG["hardcoded_sine_range"])


def with_code_after_answer(nb, code: str, base=None):
    """A copy of nb (correct answer by default) with a student cell after the answer cell."""
    nb = copy.deepcopy(base or correct(nb))
    index = next(i for i, c in enumerate(nb.cells) if c.source.startswith(f"#| exercise {ANSWER}"))
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(code))
    return nb


def bad_notebooks(student, repo: Path) -> dict:
    """name -> notebook (NotebookNode) or raw bytes."""
    cases = {}
    cases["not_json"] = (HERE / "not_json.ipynb").read_bytes()
    cases["empty"] = b""
    cases["python_source"] = (HERE / "python_source.ipynb").read_bytes()
    cases["other_chapter"] = other_chapter_notebook()

    nb = wrong(student)
    nb.cells = [c for c in nb.cells if not c.source.startswith(TESTS)]
    cases["tests_deleted"] = nb

    nb = wrong(student)
    for cell in test_cells(nb):
        cell.source = cell.source.split("\n", 1)[0] + "\nprint('all good')\n"
    cases["tests_edited"] = nb

    nb = correct(student)
    tests = test_cells(nb)
    rest = [c for c in nb.cells if c not in tests]
    nb.cells = rest[:3] + tests[::-1] + rest[3:]
    cases["tests_reordered"] = nb

    nb = correct(student)
    for cell in test_cells(nb):
        nb.cells.insert(nb.cells.index(cell), copy.deepcopy(cell))
    cases["tests_duplicated"] = nb

    nb = correct(student)
    for cell in nb.cells:
        cell.metadata = {}
    nb.metadata = {}
    cases["metadata_stripped"] = nb

    nb = correct(student)
    for cell in nb.cells:
        cell.metadata = {}
        if cell.source.startswith("#|"):
            cell.source = cell.source.split("\n", 1)[1]
        cell["id"] = f"x{abs(hash(cell.source)) % 10**8}"
    nb.metadata = {}
    cases["directives_and_metadata_stripped"] = nb

    nb = wrong(student)
    for cell in test_cells(nb):
        cell.metadata.setdefault("tags", []).extend(["skip-execution", "raises-exception"])
    cases["skip_execution_tags"] = nb

    nb = correct(student)
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"version_major": 2}}
    nb.cells[0].metadata["colab"] = {"base_uri": "https://localhost:8080/"}
    nb.cells[0].metadata["nbgrader"] = "broken"
    cases["widget_metadata_malformed"] = nb

    nb = correct(student)
    nb.nbformat_minor = 0
    for cell in nb.cells:
        cell.pop("id", None)
    cases["nbformat_4_0_no_ids"] = nb

    cases["infinite_loop_in_function"] = answer(student, CORRECT["loop"].replace(
        "    n_relus = x_train.shape[0] - 1", "    while True:\n        pass"))
    cases["infinite_loop_at_top_level"] = with_code_after_answer(
        student, "import time\nwhile True:\n    time.sleep(0.1)")
    cases["allocates_20gb"] = with_code_after_answer(
        student, "import torch\nhuge = torch.ones(20 * 2**30, dtype=torch.uint8)")
    cases["sys_exit"] = with_code_after_answer(student, "import sys\nsys.exit()")
    cases["os_exit"] = with_code_after_answer(student, "import os\nos._exit(1)")
    cases["segfault"] = with_code_after_answer(student, "import ctypes\nctypes.string_at(0)")
    cases["prints_50mb"] = with_code_after_answer(student, "print('x' * 50_000_000)")
    cases["writes_outside_folder"] = with_code_after_answer(student, WRITE_OUTSIDE.format(
        repo=repo))
    cases["opens_network_connection"] = with_code_after_answer(student, NETWORK)
    cases["imports_solution_module"] = with_code_after_answer(
        student, IMPORT_SOLUTION.format(repo=repo), base=student)
    cases["reads_solution_file"] = with_code_after_answer(
        student, READ_SOLUTION.format(path=repo / SECRET_FILE), base=student)
    cases["monkeypatches_check"] = with_code_after_answer(
        student, MONKEYPATCH, base=wrong(student))
    return cases


WRITE_OUTSIDE = '''
import os
for path in ["{repo}/PWNED.txt", "{repo}/solutions/PWNED.py", "../../PWNED.txt", "/tmp/PWNED.txt",
             os.path.expanduser("~/../PWNED.txt")]:
    try:
        with open(path, "w") as handle:
            handle.write("pwned")
        print("wrote", path)
    except OSError as err:
        print("could not write", path, type(err).__name__)
'''
NETWORK = '''
import socket
for host, port in [("1.1.1.1", 80), ("127.0.0.1", 8786), ("pypi.org", 443)]:
    try:
        socket.create_connection((host, port), timeout=3).close()
        print("connected to", host)
    except OSError as err:
        print("no connection to", host, type(err).__name__)
'''
IMPORT_SOLUTION = '''
import sys
sys.path[:0] = ["{repo}", "{repo}/solutions"]
try:
    from solutions.relu_approximation import approximate_function
except Exception as err:
    print("import solutions:", type(err).__name__)
try:
    from autograder.checks.relu_approximation import check_approximate_function_values
except Exception as err:
    print("import checks:", type(err).__name__)
try:
    from autograder.hidden import reference_module
    approximate_function = reference_module("relu_approximation").approximate_function
except Exception as err:
    print("reference_module:", type(err).__name__)
'''
READ_SOLUTION = '''
import importlib.util
try:
    print(open("{path}").read())
except OSError as err:
    print("read:", type(err).__name__)
try:
    spec = importlib.util.spec_from_file_location("ref", "{path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    approximate_function = module.approximate_function
except Exception as err:
    print("load:", type(err).__name__)
'''
MONKEYPATCH = '''
import autograder.hidden
autograder.hidden.check = lambda *args, **kwargs: None
import builtins
_real_import = builtins.__import__
'''


def other_chapter_notebook():
    """A notebook of another chapter (cross-entropy), as its students would submit it."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Cross-entropy"),
        nbformat.v4.new_code_cell(
            "#| exercise cross_entropy_loss\ndef cross_entropy_loss(x, labels):\n"
            "    return -x[range(len(labels)), labels].mean()\n",
            metadata={"nbgrader": {"grade": False, "grade_id": "cross_entropy_loss",
                                   "locked": False, "schema_version": 3, "solution": True}}),
        nbformat.v4.new_code_cell(
            "#| check cross_entropy_loss_values points=2\nassert True\n",
            metadata={"nbgrader": {"grade": True, "grade_id": "cross_entropy_loss_values",
                                   "locked": True, "points": 2, "schema_version": 3,
                                   "solution": False}}),
    ]
    return nb


def to_bytes(nb) -> bytes:
    if isinstance(nb, bytes):
        return nb
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # the 4.0 case is invalid 4.5 on purpose
        return nbformat.writes(nb, version=4).encode()


class Latin1Name(zipfile.ZipInfo):
    """A member whose name is stored in Latin-1 without the UTF-8 flag (old Windows zip tools)."""

    def _encodeFilenameFlags(self):
        return self.filename.encode("latin-1"), self.flag_bits & ~0x800


def lms_zip(student, path: Path) -> None:
    """Archive cases: a '../' member, two submissions by one student, a non-UTF-8 name, a link."""
    good = to_bytes(correct(student))
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("../../escape/evil_666_1001_Copy of 01_relu_approximation.ipynb", good)
        first = zipfile.ZipInfo("smithann_111_500_01_relu_approximation.ipynb",
                                (2026, 3, 1, 10, 0, 0))
        archive.writestr(first, to_bytes(wrong(student)))
        second = zipfile.ZipInfo("smithann_111_501_01_relu_approximation-1.ipynb",
                                 (2026, 3, 2, 10, 0, 0))
        archive.writestr(second, good)
        archive.writestr(Latin1Name("müllerjörg_4242_900_01_relu_approximation (1).ipynb"), good)
        link = zipfile.ZipInfo("linker_777_901_01_relu_approximation.ipynb")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")


def build_bad(out: Path, repo: Path) -> dict[str, Path]:
    student = student_notebook(CHAPTER)
    folder = out / "bad"
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, nb in bad_notebooks(student, repo).items():
        files[name] = folder / f"{name}.ipynb"
        files[name].write_bytes(to_bytes(nb))
    lms_zip(student, out / "bad_lms.zip")
    return files


# --- a realistic class --------------------------------------------------------------------------

FIRST = ["Ada", "Ben", "Chloé", "Dmitri", "Eve", "Farah", "Gus", "Hana", "Ivan", "Jun", "Kofi",
         "Lena", "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara", "Uma", "Viktor",
         "Wen", "Xavier", "Yara", "Zoe", "Amir", "Bea", "Cyrus"]
LAST = ["Lovelace", "Okafor", "Durand", "Petrov", "Nguyen", "Haddad", "Berg", "Sato", "Ivanova",
        "Kim", "Mensah", "Schulz", "Rossi", "Adeyemi", "Farouk", "Patel", "Byrne", "Costa",
        "Lind", "Reyes", "Iyer", "Novak", "Li", "Moreau", "Tamim", "Fischer", "Shah", "Alves",
        "Kaya"]


def class_submissions(student) -> list[tuple[str, bytes, object]]:
    """(kind, notebook bytes, expected total or status) for 54 students, in a fixed order."""
    kinds = []
    for i in range(24):                       # most of the class gets it right
        kinds.append(("correct_" + sorted(CORRECT)[i % len(CORRECT)], FULL))
    for i in range(18):                       # a realistic spread of mistakes
        name = sorted(WRONG)[i % len(WRONG)]
        kinds.append(("wrong_" + name, "lost"))
    kinds += [("untouched", 0.0), ("untouched", 0.0), ("syntax_error", 0.0),
              ("metadata_stripped_correct", FULL), ("tests_deleted_wrong", "lost"),
              ("duplicate_cells_correct", FULL), ("nbformat_4_0_correct", FULL),
              ("python_export", "failed"), ("empty_file", "failed"),
              ("extra_cells_correct", FULL), ("stderr_warning_correct", FULL),
              ("infinite_loop", 0.0)]
    rows = []
    for kind, expected in kinds:
        if kind.startswith("correct_"):
            nb = answer(student, CORRECT[kind[8:]])
        elif kind.startswith("wrong_"):
            nb = answer(student, WRONG[kind[6:]])
        elif kind == "untouched":
            nb = copy.deepcopy(student)
        elif kind == "syntax_error":
            nb = answer(student, CORRECT["loop"].replace("def approximate_function(x_train, y_train):",
                                                         "def approximate_function(x_train, y_train)"))
        elif kind == "metadata_stripped_correct":
            nb = correct(student)
            for cell in nb.cells:
                cell.metadata = {}
        elif kind == "tests_deleted_wrong":
            nb = wrong(student)
            nb.cells = [c for c in nb.cells if not c.source.startswith(TESTS)]
        elif kind == "duplicate_cells_correct":
            nb = correct(student)
            nb.cells = nb.cells + [copy.deepcopy(c) for c in nb.cells[-3:]]
        elif kind == "nbformat_4_0_correct":
            nb = correct(student)
            nb.nbformat_minor = 0
            for cell in nb.cells:
                cell.pop("id", None)
        elif kind == "python_export":
            nb = b"#!/usr/bin/env python\n# coding: utf-8\n\n# In[1]:\n\nimport torch\n"
        elif kind == "empty_file":
            nb = b""
        elif kind == "extra_cells_correct":
            nb = with_code_after_answer(student, "print(approximate_function)")
        elif kind == "stderr_warning_correct":
            nb = answer(student, CORRECT["loop"].replace(
                "    return y_hat", "    import warnings; warnings.warn('slow loop')\n    return y_hat"))
        elif kind == "infinite_loop":
            nb = answer(student, CORRECT["loop"].replace(
                "    n_relus = x_train.shape[0] - 1", "    while True:\n        pass"))
        rows.append((kind, to_bytes(nb), expected))
    return rows


def build_class(out: Path) -> tuple[Path, dict]:
    """A Canvas-and-Moodle style zip of 54 submissions; returns (zip, {student id: expected})."""
    student = student_notebook(CHAPTER)
    rng = random.Random(2026)
    expected = {}
    path = out / "class.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for index, (kind, data, want) in enumerate(class_submissions(student)):
            first, last = FIRST[index % len(FIRST)], LAST[(index * 7) % len(LAST)]
            user = 10000 + index
            colab = rng.choice(["Copy of 01_relu_approximation.ipynb",
                                "01_relu_approximation.ipynb",
                                "Copy of 01_relu_approximation (1).ipynb",
                                "01_relu_approximation (2).ipynb"])
            if index % 3 == 2:   # Moodle, a folder per student
                member = f"{first} {last}_{user}_assignsubmission_file_/{colab}"
            else:                # Canvas
                late = "_LATE" if index % 11 == 5 else ""
                member = f"{(last + first).lower()}{late}_{user}_{700000 + index}_{colab}"
            if kind == "python_export":
                member = member.replace(".ipynb", ".py")
            archive.writestr(zipfile.ZipInfo(member, (2026, 3, 1, 9, index % 60, 0)), data)
            expected[str(user)] = (kind, want)
    return path, expected


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "corpus_out")
    build_bad(target, HERE.parents[1])
    print(build_class(target)[0])
