"""Make the repository root importable in tests (course/, autograder/)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from course.cli import use_this_environment  # noqa: E402

use_this_environment()

# The MNIST chapter's notebooks (book, grading, Colab-like runs) read MNIST from here, offline.
from course.mnist_data import ENV_DATA, provisioned_root  # noqa: E402

import os  # noqa: E402

os.environ.setdefault(ENV_DATA, str(provisioned_root()))


import pytest  # noqa: E402


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
