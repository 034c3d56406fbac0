"""Every student notebook, with its exercises filled in, runs top to bottom in a fresh virtual
environment that holds only what Colab preinstalls, with no file of the repository in reach."""
import asyncio
import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import hashlib
import importlib

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell

from core import paths
from tests.colab_env import make_venv
from tests.helpers import student_notebook, with_answers

pytestmark = pytest.mark.slow

# What Colab preinstalls, at the versions this project pins (plus the kernel itself).
COLAB_PACKAGES = ["torch", "torchvision", "numpy", "matplotlib", "ipywidgets", "tqdm", "graphviz",
                  "scikit-learn", "ipykernel"]
NOTHING_OF_THE_REPO = """
import importlib.util
for name in ("course", "autograder", "solutions", "nbgrader"):
    assert importlib.util.find_spec(name) is None, f"{name} is importable from a student notebook"
print("self-contained")
"""


def solved_answers(chapter: str) -> dict[str, str]:
    """The chapter's catalog names one correct answer per exercise in SOLVED."""
    slug = Path(chapter).stem.split("_", 1)[1]
    return importlib.import_module(f"tests.catalog.{slug}").SOLVED


def pinned(names):
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", (paths.ROOT / "requirements.txt").read_text(), re.M))
    return [f"{name}=={pins[name]}" if name in pins else name for name in names]


@pytest.fixture(scope="session")
def colab_python():
    """A venv with only Colab's packages (their files linked from this environment: see
    tests/colab_env.py), cached per package set."""
    requirements = pinned(COLAB_PACKAGES)
    key = hashlib.sha256(" ".join(["links-2", *requirements]).encode()).hexdigest()[:16]
    cache = Path(os.environ.get("MLP_COURSE_CACHE", Path.home() / ".cache" / "mlp-course"))
    venv = cache / f"colab-venv-{key}"
    python = venv / "bin" / "python"
    if not (venv / ".installed").exists():
        make_venv(venv, requirements)
        (venv / ".installed").write_text("\n".join(requirements))
    return python


@pytest.fixture(scope="session")
def colab_kernel(colab_python, tmp_path_factory):
    """Register a kernel named 'colab' that runs in that venv, visible to this process only."""
    spec_dir = tmp_path_factory.mktemp("jupyter") / "kernels" / "colab"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [str(colab_python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Colab-like", "language": "python"}))
    old = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = str(spec_dir.parents[1])
    yield "colab"
    if old is None:
        os.environ.pop("JUPYTER_PATH")
    else:
        os.environ["JUPYTER_PATH"] = old


# The book build already runs every line of every chapter at full length (MNIST: five epochs, two
# minutes on two CPU cores); here the question is Colab's package set, so each notebook runs the
# length the grader runs (the same cells, shorter loops: one epoch on 3000 images for MNIST).
# The selected chapters run two at a time (each kernel mostly keeps one core busy), once per
# session; each chapter's test then reads its own run.
CHAPTERS = sorted(p.name for p in paths.masters())
AT_ONCE = 2


def run_filled(chapter: str, kernel_name: str, folder: Path):
    """The chapter's student notebook with the solved answers, executed in the Colab-like kernel
    (as the grader runs it: NBGRADER_EXECUTION set), or the exception its execution raised."""
    nb = with_answers(student_notebook(chapter), solved_answers(chapter))
    nb.cells.append(new_code_cell(NOTHING_OF_THE_REPO))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["NBGRADER_EXECUTION"] = "autograde"
    folder.mkdir(parents=True, exist_ok=True)
    client = NotebookClient(nb, kernel_name=kernel_name, timeout=600,
                            resources={"metadata": {"path": str(folder)}})
    try:
        asyncio.run(client.async_execute(env=env))  # CellExecutionError names the failing cell
    except Exception as err:  # noqa: BLE001 (the chapter's test raises it)
        return err
    return nb


@pytest.fixture(scope="session")
def colab_runs(colab_kernel, request, tmp_path_factory):
    selected = [c for c in CHAPTERS if any(
        item.originalname == "test_filled_student_notebook_runs_in_a_colab_like_env"
        and item.callspec.params.get("chapter") == c for item in request.session.items)]
    if any("mnist" in c for c in selected):
        request.getfixturevalue("mnist_root")   # MNIST provisioned and named in the environment
    root = tmp_path_factory.mktemp("colab-runs")
    with ThreadPoolExecutor(AT_ONCE) as pool:
        runs = pool.map(lambda c: run_filled(c, colab_kernel, root / Path(c).stem), selected)
        return dict(zip(selected, runs))


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_filled_student_notebook_runs_in_a_colab_like_env(chapter, colab_runs):
    nb = colab_runs[chapter]
    if isinstance(nb, BaseException):
        raise nb
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    expected = getattr(importlib.import_module(f"tests.catalog.{Path(chapter).stem.split('_', 1)[1]}"),
                       "SELF_CHECK_OUTPUT", [])
    for line in expected:
        assert line in outputs, f"the visible self-check did not print {line!r}"
    assert "self-contained" in outputs
    assert "Using the CPU" in outputs
    assert any("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code"
               for o in c.outputs), "the chapter drew no figure"
