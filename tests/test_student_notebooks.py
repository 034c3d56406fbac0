"""Every student notebook, with its exercises filled in, runs top to bottom in a fresh virtual
environment that holds only what Colab preinstalls, with no file of the repository in reach."""
import json
import os
import re
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


@pytest.mark.parametrize("chapter", sorted(p.name for p in paths.masters()))
def test_filled_student_notebook_runs_in_a_colab_like_env(chapter, colab_kernel, tmp_path):
    nb = with_answers(student_notebook(chapter), solved_answers(chapter))
    nb.cells.append(new_code_cell(NOTHING_OF_THE_REPO))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["NBGRADER_EXECUTION"] = "autograde"
    client = NotebookClient(nb, kernel_name=colab_kernel, timeout=600,
                            resources={"metadata": {"path": str(tmp_path)}})
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        client.execute()  # raises CellExecutionError naming the failing cell
    finally:
        os.environ.clear()
        os.environ.update(saved)
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    expected = getattr(importlib.import_module(f"tests.catalog.{Path(chapter).stem.split('_', 1)[1]}"),
                       "SELF_CHECK_OUTPUT", [])
    for line in expected:
        assert line in outputs, f"the visible self-check did not print {line!r}"
    assert "self-contained" in outputs
    assert "Using the CPU" in outputs
    assert any("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code"
               for o in c.outputs), "the chapter drew no figure"
