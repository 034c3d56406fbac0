"""Make the repository root importable in tests (course/, autograder/), and sort tests by cost.

Markers (pytest.ini): ``slow`` (runs notebooks or grades: minutes), ``book`` (builds the book),
``browser`` (headless Chromium), ``mnist`` (needs the real MNIST, provisioned on first use).
``make test-fast`` runs the tests that carry none of them; ``make test`` runs everything.
"""
import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from course.cli import use_this_environment  # noqa: E402

use_this_environment()

BOOK_FIXTURES = {"full_html", "plain_html"}
MNIST_FILES = {"test_mnist_data.py", "test_grading_mnist.py"}


# With `pytest -n N --dist loadgroup` (pytest-xdist: `make test-fast`, the first half of
# `make test`) the tests that share something run in one worker: the grading cluster
# (conftest.grading_scheduler), the book's editions (one _build/), the Colab-like venv, MNIST's
# provisioned copy, and a slow module's own fixture. The tests marked `grading` run in one process
# after the rest (`make test`): their clusters keep both cores busy themselves, and beside other
# tests they ran slower (a whole suite in two processes was at 76 % after 19.5 min, against
# 19 min in one).


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        if BOOK_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.book)
        if "browser" in item.fixturenames:
            item.add_marker(pytest.mark.browser)
        if item.path.name in MNIST_FILES or "06_mnist" in item.nodeid:
            item.add_marker(pytest.mark.mnist)
        if "grading_scheduler" in item.fixturenames and not item.get_closest_marker("grading"):
            item.add_marker(pytest.mark.grading)
        group = xdist_group_of(item)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))
            if getattr(config.option, "loadgroup", False):   # in a pytest-xdist worker
                name_with_group(item, group)


def name_with_group(item, group: str) -> None:
    """Name the test ``nodeid@group``, which is how pytest-xdist's loadgroup scheduler finds its
    group. xdist 3.8 sets ``item._nodeid`` for that, which pytest 9 no longer reads (a node's id is
    ``item._id``), so without this every group was split across the workers
    (tests/test_xdist_groups.py)."""
    from _pytest.nodeid import NodeId
    if not item.nodeid.endswith(f"@{group}"):
        item._id = NodeId.parse(f"{item.nodeid}@{group}")


def xdist_group_of(item) -> str | None:
    """The one worker group an item belongs to (grading first: MNIST's grading batch grades on
    the session's cluster too), or None. A slow test's module is its group otherwise: its module
    fixture (a graded class, a built venv) is built once, and its tests may build on each other."""
    if "grading_scheduler" in item.fixturenames:
        return "grading"
    if BOOK_FIXTURES & set(item.fixturenames):
        return "book"
    if "colab_python" in item.fixturenames:
        return "colab"
    if item.get_closest_marker("mnist"):
        return "mnist"
    if item.get_closest_marker("slow"):
        return item.path.name
    return None


@pytest.fixture(scope="session")
def mnist_root() -> Path:
    """MNIST provisioned offline (from the cache after the first time), and named in the
    environment the chapter's notebooks read (book, grading, Colab-like runs)."""
    from core.mnist_data import ENV_DATA, provisioned_root
    root = provisioned_root()
    os.environ.setdefault(ENV_DATA, str(root))
    return Path(os.environ[ENV_DATA])


@pytest.fixture(autouse=True)
def _mnist_when_marked(request):
    if request.node.get_closest_marker("mnist"):
        request.getfixturevalue("mnist_root")


@pytest.fixture(scope="session")
def grading_scheduler():
    """The address of one Dask cluster (the command's own, two workers) that the chapter batches,
    the bad-input corpus and the isolation attacks grade on, the way `grade --scheduler` grades on
    a running cluster: its workers keep their kernel fork servers from batch to batch, so a batch
    pays no cluster start. The command's own cluster, started per run, is graded on by the class,
    the interrupted run, the layouts and the killed-worker tests."""
    from autograder.grade import local_cluster
    cluster = local_cluster(2)
    yield cluster.scheduler_address
    cluster.close()


@pytest.fixture(scope="session")
def full_html() -> Path:
    """The full edition of the book, built once per test session (execution is cached)."""
    from course import book
    return book.build("full")


@pytest.fixture(scope="session")
def plain_html() -> Path:
    """The no-solutions edition, built once per test session."""
    from course import book
    return book.build("no-solutions")


# Headless Chromium for the browser tests (the book's pages, the feedback pages), launched the
# way a closed network needs: no background connections, no sandbox as root.
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser():
    """One Chromium for the session (each test opens its own pages or contexts)."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="make setup installs playwright")
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: apt-get install -y chromium (.ci/run installs it)")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()
