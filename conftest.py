"""Make the repository root importable in tests (course/, autograder/)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from course.cli import use_this_environment  # noqa: E402

use_this_environment()
