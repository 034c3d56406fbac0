"""The Colab-like venv's package set: all that Colab's packages need here, nothing of the grader."""
import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.colab_env import closure, make_venv
from tests.test_student_notebooks import COLAB_PACKAGES, pinned


def needed_here(dist, extra: str = "") -> set[str]:
    """What a distribution requires on this machine (for one of its extras, or for itself)."""
    environment = {**default_environment(), "extra": extra}
    names = set()
    for line in dist.requires or []:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate(environment):
            names.add(canonicalize_name(requirement.name))
    return names


def test_the_set_holds_every_requirement_of_its_members_and_no_grading_tool():
    found = closure(pinned(COLAB_PACKAGES))
    assert {canonicalize_name(name) for name in COLAB_PACKAGES} <= set(found)
    for name, dist in found.items():
        assert needed_here(dist) <= set(found), f"{name} needs {needed_here(dist) - set(found)}"
        for line in dist.requires or []:   # extras asked for (torch asks cuda-toolkit for some)
            requirement = Requirement(line)
            if requirement.marker and not requirement.marker.evaluate(
                    {**default_environment(), "extra": ""}):
                continue
            target = found[canonicalize_name(requirement.name)]
            for extra in requirement.extras:
                assert needed_here(target, extra) <= set(found), f"{line}: extra {extra} missing"
    assert not {"nbgrader", "dask", "pytest", "nbclient", "jupyter-book"} & set(found)


def test_a_pin_the_environment_does_not_meet_stops_before_anything_is_made(tmp_path):
    with pytest.raises(LookupError, match="make python-env"):
        make_venv(tmp_path / "venv", ["numpy==0.0.1"])
    assert not (tmp_path / "venv").exists()
