"""A virtual environment that holds only what Colab preinstalls, made in seconds.

The Colab-like test needs a venv with Colab's packages and nothing else of this project (no
nbgrader, no `course`). Installing them with pip unpacks several GB (torch's build with its CUDA
libraries) for every fresh cache. The same distributions, at the same pinned versions, are already
installed in the environment that runs the tests, so this module links their files instead: it
follows the packages' requirements (markers evaluated for this machine, extras left out) to the
full set of distributions, and hard-links each file of each one (copied where a link cannot be
made) into a new venv's site-packages. The result is the venv pip would make, dist-info
included; nothing outside that set is in it, which the test checks by importing.
"""
from __future__ import annotations

import importlib.metadata as metadata
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name


def installed(name: str) -> metadata.Distribution:
    """The distribution installed here under a (possibly unnormalised) project name."""
    wanted = canonicalize_name(name)
    for dist in metadata.distributions():
        if canonicalize_name(dist.metadata["Name"]) == wanted:
            return dist
    raise LookupError(f"{name} is not installed in {sys.prefix}: run `make python-env` first")


def closure(names: list[str]) -> dict[str, metadata.Distribution]:
    """The named distributions and everything they require on this machine (markers evaluated
    here, with the extras each requirement asks for), by normalised name."""
    found: dict[str, metadata.Distribution] = {}
    done: set[tuple[str, str]] = set()
    todo = [(Requirement(name).name, sorted(Requirement(name).extras)) for name in names]
    while todo:
        name, extras = todo.pop()
        name = canonicalize_name(name)
        dist = found.get(name) or installed(name)
        found[name] = dist
        for extra in ["", *extras]:
            if (name, extra) in done:
                continue
            done.add((name, extra))
            environment = {**default_environment(), "extra": extra}
            for line in dist.requires or []:
                requirement = Requirement(line)
                if requirement.marker is None and extra:
                    continue   # already followed for the distribution itself
                if requirement.marker is None or requirement.marker.evaluate(environment):
                    todo.append((requirement.name, sorted(requirement.extras)))
    return found


def link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def site_packages(venv: Path) -> Path:
    relative = Path(sysconfig.get_path("purelib")).relative_to(sys.prefix)
    return venv / relative


def make_venv(venv: Path, requirements: list[str]) -> Path:
    """A venv at ``venv`` whose site-packages holds exactly the distributions that
    ``requirements`` (pinned names) need, linked from this interpreter's environment; the
    versions must be the pinned ones. Returns its python."""
    dists = closure(requirements)
    for line in requirements:
        requirement = Requirement(line)
        have = dists[canonicalize_name(requirement.name)].version
        if requirement.specifier and have not in requirement.specifier:
            raise LookupError(f"{requirement.name} {have} is installed, {line} is pinned: "
                              "run `make python-env` to bring the environment up to date")
    subprocess.run([sys.executable, "-m", "venv", "--clear", "--without-pip", str(venv)],
                   check=True)
    target = site_packages(venv)
    for dist in dists.values():
        for file in dist.files or []:
            if file.parts[0] == "..":
                continue   # scripts in bin/ (not needed: everything runs with -m)
            # byte code too: without it every kernel compiles PyTorch's sources again (5.6 s
            # instead of 3.4 s for `import torch` where PYTHONDONTWRITEBYTECODE is set)
            source = Path(dist.locate_file(file))
            if source.is_file():
                link_or_copy(source, target / file)
    return venv / "bin" / "python"
