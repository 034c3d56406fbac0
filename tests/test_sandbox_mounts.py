"""What the sandbox mounts read-only: never a folder that would cover its private ones.

A grading script run from /tmp puts /tmp on sys.path; shown read-only, it hid the kernel's
private /tmp (the kernel could not write its connection file) and would have shown every other
submission's scratch folder."""
from autograder.sandbox.zygote import readonly_targets

PRIVATE = ["/tmp", "/dev", "/proc", "/home/student", "/ipc", "/opt/mlp-grader"]


def test_a_folder_covering_a_private_one_is_never_mounted(tmp_path):
    env = tmp_path / "venv"
    env.mkdir()
    shown = readonly_targets(["/", "/tmp", "/home", "/usr", str(env)], PRIVATE)
    assert shown == ["/usr", str(env)]


def test_paths_inside_the_private_folders_and_links_are_mounted(tmp_path):
    """Control: an environment under /tmp, and the target of a link to it, are shown."""
    real = tmp_path / "real env"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    assert readonly_targets([str(link)], PRIVATE) == sorted([str(link), str(real)], key=len)
