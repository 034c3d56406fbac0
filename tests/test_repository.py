"""Nothing machine-specific is tracked: no links leading out of the clone, no environment, no build
output; the ignore rules catch a venv as a folder or a link, and the data chapters download."""
import subprocess

import pytest

from core import paths


def git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=paths.ROOT, capture_output=True, text=True)


pytestmark = pytest.mark.skipif(git("rev-parse", "--git-dir").returncode != 0,
                                reason="not a git checkout")


def test_no_tracked_link_leads_outside_the_repository():
    entries = [line.split(None, 3) for line in git("ls-files", "-s").stdout.splitlines()]
    links = [path for mode, _, _, path in entries if mode == "120000"]
    outside = []
    for link in links:
        target = (paths.ROOT / link).parent / (paths.ROOT / link).readlink()
        if not target.resolve().is_relative_to(paths.ROOT.resolve()):
            outside.append(f"{link} -> {target}")
    assert not outside, outside


@pytest.mark.parametrize("path", [".venv", ".venv/bin/python", "venv", "_build/html/index.html",
                                  "data/MNIST/raw/train-images-idx3-ubyte",
                                  "students/data/MNIST/raw/t10k-labels-idx1-ubyte",
                                  "book/data/MNIST/raw/t10k-labels-idx1-ubyte", "grades/grades.csv"])
def test_environments_builds_and_downloads_are_ignored(path):
    assert git("check-ignore", "--no-index", "-q", path).returncode == 0, f"{path} is not ignored"


def test_nothing_ignored_is_tracked():
    tracked_but_ignored = git("ls-files", "-ci", "--exclude-standard").stdout.split()
    assert not tracked_but_ignored, tracked_but_ignored
