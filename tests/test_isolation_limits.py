"""Limits that bind for every process a student's kernel starts, under the real grader with
real sandboxed kernels: a kernel that leaves its session and clears its parent-death signal does
not outlive grading; memory is capped for the kernel and its children together, and so is their
number; every kind of output counts toward the output cap; a worker killed mid-submission
leaves neither its scratch folder (the master with solutions, the gradebook, the submission) nor
a kernel behind. Each attack is paired with a control that grades as usual."""
import multiprocessing
import os
import signal
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from autograder.grade import build_bundle, grade
from autograder.worker import Job, Limits, grade_task
from core import paths
from tests.catalog.relu_approximation import CORRECT
from tests.helpers import student_notebook, with_answers, write

pytestmark = [pytest.mark.slow, pytest.mark.grading]
CHAPTER = "01_relu_approximation.ipynb"
TOKEN = f"esc{os.getpid() % 100000}"   # names the test's kernels, to find them on the host
FULL = 3.0

RENAME = '''
import ctypes
ctypes.CDLL(None).prctl(15, b"{name}", 0, 0, 0)   # PR_SET_NAME: seen in /proc/<pid>/comm
'''
ATTACKS = {
    # The kernel leaves the worker's process group and clears its parent-death signal.
    "leave_the_session": RENAME + '''
import os
os.setsid()
ctypes.CDLL(None).prctl(1, 0, 0, 0, 0)            # PR_SET_PDEATHSIG: none
''',
    "control_leave_nothing": RENAME,
    # Five processes of 300 MB each: every one within the per-process cap, 1.5 GB together.
    "forked_memory": '''
import os, signal, time
children = []
for _ in range({n}):
    pid = os.fork()
    if pid == 0:
        signal.alarm(20)                                # never outlives the test
        block = b"x" * ({mb} << 20)                     # written: resident, private
        time.sleep(8)
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
print("ALL-CHILDREN-HELD-THEIR-MEMORY")
''',
    # More processes than the cap (bounded: 300 at most, each gone within 20 s). Each lives 15 s,
    # so all of them are alive together even when forking 300 is slow on a busy machine.
    "many_processes": '''
import os, signal, time
children = []
for _ in range({n}):
    pid = os.fork()
    if pid == 0:
        signal.alarm(20)
        time.sleep(15)
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
print("ALL-CHILDREN-RAN")
''',
    # One display shown 100 times, then updated with 60 KB: 6 MB through display updates.
    "display_updates": '''
from IPython.display import display, update_display
for _ in range(100):
    display("small", display_id="same")
update_display({{"text/plain": "u" * 60_000}}, raw=True, display_id="same")
''',
    "control_display_update": '''
from IPython.display import display, update_display
display("before", display_id="mine")
update_display("UPDATED-AS-USUAL", display_id="mine")
''',
    # An error message of 5 MB.
    "error_message": '''
raise ValueError("e" * 5_000_000)
''',
    "control_error_message": '''
raise ValueError("SMALL-ERROR-KEPT")
''',
}
SUBMISSIONS = {
    "leave_the_session": {"name": TOKEN + "a"},
    "control_leave_nothing": {"name": TOKEN + "b"},
    "forked_memory": {"n": 5, "mb": 300},
    "control_forked_memory": {"n": 2, "mb": 100},
    "many_processes": {"n": 300},
    "control_many_processes": {"n": 20},
    "display_updates": {},
    "control_display_update": {},
    "error_message": {},
    "control_error_message": {},
}


def attack_notebook(code: str):
    """The correct answer, then the attack's cell: any lost point is the attack's doing."""
    nb = with_answers(student_notebook(CHAPTER), {"approximate_function": CORRECT["loop"]})
    index = next(i for i, c in enumerate(nb.cells) if c.source.startswith("#| exercise"))
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(code))
    return nb


def kernels_named(prefix: str) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        try:
            if name.isdigit() and Path(f"/proc/{name}/comm").read_text().startswith(prefix):
                found.append(int(name))
        except OSError:
            continue
    return found


def kill_all(pids) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


@pytest.fixture(scope="module")
def graded(tmp_path_factory, grading_scheduler):
    """Graded on the session's cluster, whose workers live on after the batch: what outlives a
    submission can only have escaped its own teardown, not the workers' exit."""
    root = tmp_path_factory.mktemp("limits")
    files = {}
    for student, values in SUBMISSIONS.items():
        code = ATTACKS[student.replace("control_", "") if student not in ATTACKS else student]
        files[student] = write(attack_notebook(code.format(**values)), root / f"{student}.ipynb")
    try:
        results = {r.student: r for r in grade("relu_approximation", files, root / "out",
                                                scheduler=grading_scheduler, timeout_cell=60,
                                                timeout_notebook=120, memory_gb=1)}
        survivors = {}
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:   # SIGKILL is not instant: the namespace unwinds
            survivors = {p: Path(f"/proc/{p}/comm").read_text().strip()
                         for p in kernels_named(TOKEN)}
            if not survivors:
                break
            time.sleep(0.5)
    finally:
        kill_all(kernels_named(TOKEN))    # nothing of this test stays on the machine
    return {"results": results, "out": root / "out", "survivors": survivors}


def autograded_text(graded, student: str) -> str:
    path = next((graded["out"] / "nbgrader" / "autograded" / student).rglob("*.ipynb"))
    return path.read_text()


def printed(graded, student: str) -> str:
    """What the student's cells printed (stream outputs of the autograded notebook)."""
    nb = nbformat.reads(autograded_text(graded, student), as_version=4)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def test_a_kernel_that_leaves_its_session_does_not_outlive_grading(graded):
    assert graded["survivors"] == {}
    assert graded["results"]["leave_the_session"].total == FULL


def test_control_a_kernel_that_stays_grades_as_usual(graded):
    assert graded["results"]["control_leave_nothing"].total == FULL


def test_memory_is_capped_for_the_kernel_and_its_children_together(graded):
    result = graded["results"]["forked_memory"]
    assert "ALL-CHILDREN-HELD-THEIR-MEMORY" not in printed(graded, "forked_memory")
    assert any("of memory together, more than the 1 GB limit" in n for n in result.notes), \
        result.notes
    assert result.status == "needs review" and result.total < FULL


def test_control_children_within_the_memory_cap_run(graded):
    result = graded["results"]["control_forked_memory"]
    assert "ALL-CHILDREN-HELD-THEIR-MEMORY" in printed(graded, "control_forked_memory")
    assert result.total == FULL, result.notes


def test_the_number_of_processes_is_capped(graded):
    result = graded["results"]["many_processes"]
    assert "ALL-CHILDREN-RAN" not in printed(graded, "many_processes")
    assert any("started more than 256 processes" in n for n in result.notes), result.notes


def test_control_a_few_processes_run(graded):
    assert "ALL-CHILDREN-RAN" in printed(graded, "control_many_processes")
    assert graded["results"]["control_many_processes"].total == FULL


@pytest.mark.parametrize("student", ["display_updates", "error_message"])
def test_every_kind_of_output_counts_toward_the_cap(graded, student):
    result = graded["results"][student]
    assert len(autograded_text(graded, student)) < 3 << 20
    assert result.feedback.stat().st_size < 3 << 20
    assert any("printed more than 2 MB" in n for n in result.notes), result.notes
    assert result.total == FULL


def test_control_display_updates_and_errors_are_kept(graded):
    assert "UPDATED-AS-USUAL" in autograded_text(graded, "control_display_update")
    assert "SMALL-ERROR-KEPT" in graded["results"]["control_error_message"].feedback.read_text()
    for student in ("control_display_update", "control_error_message"):
        assert graded["results"][student].total == FULL


# --- a worker killed mid-submission --------------------------------------------------------------

SLOW = RENAME + '''
import time
time.sleep(60)
'''


def grade_in_this_process(job, bundle, report):
    """A grading worker of its own (spawned): grade one job, report the result."""
    report.put(grade_task(job, bundle).status)


def worker_run(tmp_path, code: str, kill: bool):
    """Grade one submission in a worker process; kill it mid-submission when asked. Returns
    what is left of its scratch folder and of its kernel afterwards."""
    bundle = build_bundle(str(paths.master_for("relu_approximation")),
                          Limits(timeout_notebook=120), True, tmp_path / "state")
    data = nbformat.writes(attack_notebook(code)).encode()
    job = Job("k", "s", "s.ipynb", data)
    context = multiprocessing.get_context("spawn")
    report = context.Queue()
    worker = context.Process(target=grade_in_this_process, args=(job, bundle, report))
    worker.start()
    scratch = Path(tempfile.gettempdir()) / f"mlp-grading-{os.getuid()}-{worker.pid}"
    try:
        if kill:
            deadline = time.monotonic() + 120
            while not kernels_named(TOKEN + "w") and time.monotonic() < deadline:
                time.sleep(0.2)
            assert list(scratch.glob("sub-*/nbgrader/source/*/*.ipynb")), "no master to lose"
            os.kill(worker.pid, signal.SIGKILL)
        else:
            assert report.get(timeout=120) == "graded"
        worker.join(30)
        left, kernels = [], []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            left = [str(p) for p in scratch.rglob("*")] + ([str(scratch)] if scratch.exists()
                                                            else [])
            kernels = kernels_named(TOKEN + "w")
            if not left and not kernels:
                break
            time.sleep(0.5)
        return left, kernels
    finally:
        kill_all(kernels_named(TOKEN + "w"))
        if worker.is_alive():
            worker.kill()


def test_a_killed_worker_leaves_no_scratch_folder_and_no_kernel(tmp_path):
    left, kernels = worker_run(tmp_path, SLOW.format(name=TOKEN + "w"), kill=True)
    assert left == [] and kernels == []


def test_control_a_worker_that_finishes_leaves_nothing(tmp_path):
    left, kernels = worker_run(tmp_path, RENAME.format(name=TOKEN + "w"), kill=False)
    assert [p for p in left if "/sub-" in p] == [] and kernels == []
