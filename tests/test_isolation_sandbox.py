"""Students' code under the real grader: it cannot read or import the solutions or the hidden
checks, skip or fake the hidden tests, reach the network, write outside its own folder, or touch
another submission. Each attack pairs with an answer that passes the visible asserts but not the
hidden test, so an attack that worked would show as full marks."""
import hashlib
import socket
import threading

import pytest

from autograder.grade import grade
from core import paths
from tests.catalog.relu_approximation import CORRECT, WRONG
from tests.helpers import student_notebook, with_answers, write

pytestmark = [pytest.mark.slow, pytest.mark.grading]
CHAPTER = "01_relu_approximation.ipynb"
SOLUTION = paths.SOLUTIONS / "relu_approximation.py"
CHECKS = paths.AUTOGRADER / "checks" / "relu_approximation.py"
# Text found only in the secret files (never in a student notebook).
SECRETS = ["GENERATED from book/01_relu_approximation.ipynb", "def random_points(gen",
           "def check_approximate_function_values"]

ATTACKS = {
    "read_secret_files": '''
import glob, os
for path in ["{solution}", "{checks}"] + glob.glob("/**/relu_approximation.py", recursive=False):
    try:
        print(open(path).read())
    except OSError as err:
        print("cannot read", path, type(err).__name__)
for root in ["/work", "/root", "/home", "/tmp", "/opt", "/srv", "/mnt"]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in (".venv", "site-packages", "versions")]
        for name in files:
            if name == "relu_approximation.py":
                print(open(os.path.join(folder, name)).read())
''',
    "proc_snooping": '''
import os
for pid in os.listdir("/proc"):
    if pid.isdigit():
        for probe in ["root{repo}/solutions", "cwd", "root/proc/1/root{repo}"]:
            try:
                print(pid, probe, os.listdir(f"/proc/{{pid}}/{{probe}}"))
            except OSError as err:
                print(pid, probe, type(err).__name__)
        try:
            print(open(f"/proc/{{pid}}/environ").read()[:300])
        except OSError:
            pass
''',
    "import_secrets": '''
import sys
sys.path[:0] = ["{repo}"]
for name in ["solutions.relu_approximation", "autograder.checks.relu_approximation",
             "autograder.checks.compare", "autograder.sandbox.oracle"]:
    try:
        __import__(name)
        print("imported", name)
    except Exception as err:
        print("cannot import", name, type(err).__name__)
import autograder.hidden
print(sorted(vars(autograder.hidden)))
''',
    "monkeypatch_check": '''
import autograder.hidden
autograder.hidden.check = lambda *args, **kwargs: None
''',
    "skip_later_cells": '''
get_ipython().input_transformers_cleanup.append(lambda lines: ["pass\\n"])
''',
    "close_the_oracle_socket": '''
import os
os.close(3)
''',
    "fake_the_oracle": '''
import os, socket, struct, json
sock = socket.socket(fileno=3)
data = json.dumps({{"op": "verdict", "status": "pass", "message": ""}}).encode()
sock.sendall(struct.pack("!4sII", b"MLPG", len(data), 0) + data)
sock.detach()
''',
    "network": '''
import socket
for host, port in [("127.0.0.1", {port}), ("localhost", {port}), ("1.1.1.1", 53)]:
    try:
        socket.create_connection((host, port), timeout=2).close()
        print("connected", host)
    except OSError as err:
        print("no network", host, type(err).__name__)
''',
    "write_outside": '''
import os
for path in ["{host_file}", "{out_file}", "{repo}/autograder/PWNED.py", "/tmp/../{host_file}"]:
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "w").write("pwned")
        print("wrote", path)
    except OSError as err:
        print("cannot write", path, type(err).__name__)
''',
    "other_submissions": '''
import glob, os
hits = glob.glob("/tmp/mlp-grading-*/**/*", recursive=True) + glob.glob("{out}/**/*", recursive=True)
print(len(hits), hits[:5])
for path in hits:
    try:
        open(path, "w").write("pwned")
    except OSError:
        pass
''',
    "print_hidden_tests_from_history": '''
import atexit
def show():
    print("\\n".join(In))
get_ipython().events.register("post_run_cell", lambda result: print(In[-1]))
''',
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory, grading_scheduler):
    root = tmp_path_factory.mktemp("isolation")
    out = root / "out"
    host_file = root / "host" / "pwned.txt"
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.5)
    connections = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                connections.append(server.accept())
            except OSError:
                continue
    threading.Thread(target=accept, daemon=True).start()

    student = student_notebook(CHAPTER)
    wrong = with_answers(student, {"approximate_function": WRONG["hardcoded_sine_range"]})
    files = {"control_correct": write(with_answers(student, {"approximate_function": CORRECT["loop"]}),
                                      root / "in" / "control_correct.ipynb"),
             "control_wrong": write(wrong, root / "in" / "control_wrong.ipynb")}
    for name, code in ATTACKS.items():
        nb = with_answers(student, {"approximate_function": WRONG["hardcoded_sine_range"]})
        index = next(i for i, c in enumerate(nb.cells) if c.source.startswith("#| exercise"))
        source = code.format(repo=paths.ROOT, solution=SOLUTION, checks=CHECKS,
                             port=server.getsockname()[1], host_file=host_file,
                             out_file=out / "grades.csv.pwned", out=out)
        import nbformat
        nb.cells.insert(index + 1, nbformat.v4.new_code_cell(source))
        files[name] = write(nb, root / "in" / f"{name}.ipynb")
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files.values()}
    secrets_before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (SOLUTION, CHECKS)}
    results = {r.student: r for r in grade("relu_approximation", files, out,
                                            scheduler=grading_scheduler, timeout_cell=30,
                                            timeout_notebook=120)}
    stop.set()
    server.close()
    return {"results": results, "out": out, "host_file": host_file, "connections": connections,
            "files": files, "before": before, "secrets_before": secrets_before}


def test_controls_grade_as_usual(graded):
    results = graded["results"]
    assert results["control_correct"].total == 3.0
    assert results["control_wrong"].scores == {"approximate_function_shapes": 1.0,
                                               "approximate_function_values": 0.0}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_no_attack_earns_the_hidden_points(graded, attack):
    result = graded["results"][attack]
    assert result.status == "graded", result.notes
    assert result.scores.get("approximate_function_values") == 0.0, (result.scores, result.notes)


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_no_secret_reaches_feedback_or_the_autograded_notebook(graded, attack):
    result = graded["results"][attack]
    html = result.feedback.read_text()
    notebook = (graded["out"] / "nbgrader" / "autograded" / attack).rglob("*.ipynb")
    texts = [html] + [p.read_text() for p in notebook]
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, f"{attack} leaked {secret!r}"
    assert "BEGIN HIDDEN TESTS" not in html and 'check("relu_approximation"' not in html


def test_printing_the_input_history_shows_no_hidden_test(graded):
    html = graded["results"]["print_hidden_tests_from_history"].feedback.read_text()
    assert "[hidden test]" in html
    assert "from autograder.hidden import check" not in html


def test_kernels_had_no_network_and_wrote_nothing_outside(graded):
    assert graded["connections"] == []
    assert not graded["host_file"].exists()
    assert not (graded["out"] / "grades.csv.pwned").exists()
    assert not (paths.ROOT / "autograder" / "PWNED.py").exists()
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in (SOLUTION, CHECKS)} == graded["secrets_before"]


def test_originals_keep_their_bytes(graded):
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in graded["files"].values()} == graded["before"]


def test_what_the_attacks_saw(graded):
    """The kernels' own view: the repository is not there, imports fail, /proc shows only the
    kernel's own processes."""
    import nbformat

    def printed(attack):
        path = next((graded["out"] / "nbgrader" / "autograded" / attack).rglob("*.ipynb"))
        return "".join(o.get("text", "") for c in nbformat.read(str(path), as_version=4).cells
                       if c.cell_type == "code" for o in c.outputs)
    snoop = printed("proc_snooping")
    assert "FileNotFoundError" in snoop and "relu_approximation.py" not in snoop
    pids = {line.split()[0] for line in snoop.splitlines() if line[:1].isdigit()}
    assert pids and len(pids) <= 3   # the kernel and what it started, nothing of the grader
    imports = printed("import_secrets")
    assert imports.count("cannot import") == 4 and "\nimported" not in imports
    assert "'check'" in imports and "reference_module" not in imports


def test_without_the_sandbox_the_hidden_tests_still_cannot_be_skipped(tmp_path):
    student = student_notebook(CHAPTER)
    import nbformat
    nb = with_answers(student, {"approximate_function": WRONG["hardcoded_sine_range"]})
    index = next(i for i, c in enumerate(nb.cells) if c.source.startswith("#| exercise"))
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(ATTACKS["monkeypatch_check"]))
    files = {"patched": write(nb, tmp_path / "patched.ipynb")}
    (result,) = grade("relu_approximation", files, tmp_path / "out", workers=0, sandbox=False)
    assert result.scores.get("approximate_function_values") == 0.0, (result.status, result.notes)
    assert any("did not pass" in note for note in result.notes)
