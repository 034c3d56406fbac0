"""The sandbox's contract with the libraries it plugs into, checked without starting a kernel.

``autograder/sandbox/kernel.py`` launches kernels through its fork server by overriding private or
undocumented methods of jupyter_client, nbclient (through nbconvert and nbgrader) and by handing
jupyter_client a ``Popen`` look-alike; ``oracle.py`` and ``zygote.py`` lean on a few more names.
docs/sandbox.md ("Upstream APIs the sandbox depends on") lists them and says why each is needed.
An upgrade may rename one, change its signature, or change the body an override copies or relies
on; the sandbox would then fail in ways that only the slow isolation tests show (a kernel that
never starts, a dead kernel read as alive, output past the cap).

So each entry below records, for the versions the record was verified with:

* that the name still exists (a method, a traitlets trait, a class attribute, a class);
* its signature without annotations (names, kinds, defaults: annotations churn between releases
  without meaning anything);
* for the upstream bodies an override copies or whose behaviour it relies on, a digest of the
  body's syntax tree (docstrings, comments, annotations and layout left out, so a reformatted or
  re-documented release still passes).

Versions are not compared: a release that leaves all of this alone passes (a warning says the
record names older versions), one that changes any of it fails, whatever its number. The failure
names the upstream method, where the sandbox uses it, the section of docs/sandbox.md to re-read
and what to re-verify. After re-verifying, ``python -m tests.test_sandbox_contract`` prints the
installed values to record. Fast: imports only.
"""
from __future__ import annotations

import ast
import contextlib
import hashlib
import importlib
import inspect
import textwrap
import warnings
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "sandbox.md"

# The versions docs/sandbox.md was checked against (constraints.txt's pins at the time).
VERIFIED_WITH = {"jupyter_client": "8.10.0", "nbclient": "0.11.0", "nbconvert": "7.17.2",
                 "nbgrader": "0.9.6", "ipykernel": "7.4.0"}

LAUNCH = "Launching a kernel through the fork server"
POPEN = "The kernel handle jupyter_client polls and signals"
OUTPUT = "Output, display updates and widget messages"
DEATH = "A dead kernel stays dead"
ORACLE = "The oracle's wire format"


@dataclass(frozen=True)
class Upstream:
    """One upstream name the sandbox depends on, as recorded."""

    target: str            # "module:Qualified.name"
    shape: str             # signature without annotations, a trait's type, "attribute", bases
    ours: str              # where the sandbox uses it (file: symbol, and how)
    section: str           # the section of docs/sandbox.md to re-read when it changes
    verify: str            # what to re-verify before recording the new values
    digest: str | None = None   # digest of the body the sandbox copies or relies on
    override: str | None = None  # "module:Qualified.name" of our override (must keep the shape)

    @property
    def distribution(self) -> str:
        root = self.target.split(":")[0].split(".")[0]
        return {"inspect": "python"}.get(root, root)


KM = "jupyter_client.manager:KernelManager"
CONNECT = "jupyter_client.connect:ConnectionFileMixin"
LOCAL = "jupyter_client.provisioning.local_provisioner:LocalProvisioner"
BASE = "jupyter_client.provisioning.provisioner_base:KernelProvisionerBase"
CLIENT = "nbclient.client:NotebookClient"
OURS = "autograder.sandbox.kernel:"
LAUNCHES = "kernel.py: SandboxKernelManager._async_launch_kernel"
EXECUTE = "kernel.py: SandboxedExecute"

CONTRACT = [
    # --- launching: jupyter_client's KernelManager and LocalProvisioner ------------------------
    Upstream(f"{KM}._async_launch_kernel", "(self, kernel_cmd, **kw)",
             f"{LAUNCHES} overrides it", LAUNCH,
             "our override still does all the upstream body does after launching: the "
             "provisioner has a process, and _reconcile_connection_info gets the provisioner's "
             "connection info", digest="af02e8b8480c1b2f",
             override=f"{OURS}SandboxKernelManager._async_launch_kernel"),
    Upstream(f"{LOCAL}.launch_kernel", "(self, cmd, **kwargs)",
             f"{LAUNCHES} sets what it would set, without calling it", LAUNCH,
             "the override sets every attribute launch_kernel sets that the provisioner reads "
             "later (process, pid, pgid, connection_info; cwd only serves resolve_path)",
             digest="22283a7321ea5d4d"),
    Upstream(f"{CONNECT}._reconcile_connection_info", "(self, info)",
             f"{LAUNCHES} calls it", LAUNCH,
             "with the connection file just rewritten (ip = /proc/<kernel>/root/ipc/kernel) it "
             "keeps the file and the manager's info as they are, and raises nothing",
             digest="a35ca377aa124969"),
    Upstream(f"{CONNECT}._connection_file_written", "trait Bool",
             f"{LAUNCHES} clears it, so that write_connection_file writes the real path", LAUNCH,
             "write_connection_file still skips writing while this flag is set"),
    Upstream(f"{CONNECT}.write_connection_file", "(self, **kwargs)",
             f"{LAUNCHES} calls it after clearing the flag", LAUNCH,
             "it writes self.ip and keeps the ports already chosen", digest="dc153f3f0ee8f395"),
    Upstream(f"{KM}.provisioner", "attribute", f"{LAUNCHES} hands the process to it", LAUNCH,
             "the manager still reaches the process only through its provisioner"),
    Upstream(f"{BASE}.connection_info", "attribute", f"{LAUNCHES} sets it", LAUNCH,
             "cleanup() and get_provisioner_info() read it as before"),
    Upstream("ipykernel.kernelapp:IPKernelApp.initialize", "(self, argv=None)",
             "zygote.py: start_kernel calls it in the forked kernel", LAUNCH,
             "the kernel still starts in-process from IPKernelApp.instance(), initialize(argv), "
             "start() after a fork, with -f CONNECTION_FILE"),
    # --- the Popen look-alike: what LocalProvisioner asks of its process -----------------------
    Upstream(f"{LOCAL}.process", "attribute", f"{LAUNCHES} sets it to a ForkedKernel", POPEN,
             "ForkedKernel has every method and attribute the provisioner uses on it "
             "(test_the_forked_kernel_has_what_the_provisioner_uses lists them)"),
    Upstream(f"{LOCAL}.pid", "attribute", f"{LAUNCHES} sets it to C's pid", POPEN,
             "it is informational only"),
    Upstream(f"{LOCAL}.pgid", "attribute",
             f"{LAUNCHES} sets it to C's pid (C leads its process group)", POPEN,
             "send_signal still signals this process group first"),
    Upstream(f"{LOCAL}.has_process", "(self)",
             f"{LAUNCHES} sets the process the upstream launch asserts", POPEN,
             "it is still 'process is not None'", digest="aa88667310240102"),
    Upstream(f"{LOCAL}.poll", "(self)", "kernel.py: ForkedKernel.poll answers it", POPEN,
             "poll() returning non-None still means dead (a kernel the watch stopped reads as "
             "dead at once)", digest="183e6a6a82603e2e"),
    Upstream(f"{LOCAL}.wait", "(self)",
             "kernel.py: ForkedKernel.wait and its stdin/stdout/stderr = None answer it", POPEN,
             "it polls, then calls process.wait() and closes only non-None stdio",
             digest="ea3fea4a0dd4a865"),
    Upstream(f"{LOCAL}.send_signal", "(self, signum)",
             "kernel.py: ForkedKernel.send_signal answers it", POPEN,
             "interrupts (SIGINT on a cell timeout) still go to the process group pgid first, "
             "and to process.send_signal only on OSError", digest="1e41f5f2a29e122b"),
    Upstream(f"{LOCAL}.kill", "(self, restart=False)",
             "kernel.py: ForkedKernel.kill answers it", POPEN,
             "it still signals SIGKILL through send_signal, then process.kill()",
             digest="3873d25a48636cea"),
    Upstream(f"{LOCAL}.terminate", "(self, restart=False)",
             "kernel.py: ForkedKernel.terminate answers it", POPEN,
             "it still signals SIGTERM through send_signal, then process.terminate()"),
    # --- a dead kernel stays dead ---------------------------------------------------------------
    Upstream(f"{KM}._async_is_alive", "(self)",
             "kernel.py: ForkedKernel.poll is what it asks (through the provisioner)", DEATH,
             "it still asks provisioner.poll(), so ForkedKernel.poll decides when nbclient "
             "raises DeadKernelError", digest="754302e8b4c9b276"),
    Upstream(f"{KM}.start_restarter", "(self)",
             "kernel.py: SandboxKernelManager inherits it (no restarter)", DEATH,
             "a kernel that died (memory, processes, notebook time limit) is never restarted: "
             "the cells after it would run without the student's state and without the oracle",
             digest="42b78d04a904d563"),
    Upstream("nbclient.exceptions:DeadKernelError", "bases RuntimeError",
             f"{EXECUTE}.preprocess_cell catches it", DEATH,
             "nbclient still raises it out of execute_cell when the kernel dies"),
    Upstream("nbconvert.preprocessors.execute:ExecutePreprocessor.preprocess_cell",
             "(self, cell, resources, index)", f"{EXECUTE}.preprocess_cell overrides it", DEATH,
             "it still executes the cell and returns (cell, resources)",
             override=f"{OURS}SandboxedExecute.preprocess_cell"),
    Upstream("nbgrader.preprocessors.execute:Execute.__init__", "(self, *args, **kwargs)",
             f"{EXECUTE}.__init__ passes kernel_manager_class", DEATH,
             "nbgrader still takes kernel_manager_class from the caller (setdefault) and wants "
             "an AsyncKernelManager", digest="849138e99d95dfee"),
    Upstream(f"{CLIENT}.kernel_manager_class", "trait Type", f"{EXECUTE}.__init__ sets it",
             DEATH, "it is still the class nbclient instantiates"),
    Upstream(f"{CLIENT}.shutdown_kernel", "trait Enum['graceful', 'immediate']",
             f"{EXECUTE}.__init__ sets 'immediate'", DEATH, "'immediate' still kills at once"),
    # --- output ---------------------------------------------------------------------------------
    Upstream(f"{CLIENT}.process_message", "(self, msg, cell, cell_index)",
             f"{EXECUTE}'s three overrides below get every message through it", OUTPUT,
             "every output goes through output(), every display update through "
             "_update_display_id(), every comm message through handle_comm_msg(), and nothing "
             "else appends to cell.outputs", digest="c429f5c0afdcad8f"),
    Upstream(f"{CLIENT}.output", "(self, outs, msg, display_id, cell_index)",
             f"{EXECUTE}.output overrides it (charges the budget, then calls it)", OUTPUT,
             "it appends at most one output and records display ids in _display_id_map",
             digest="4fab70ecaad379a5", override=f"{OURS}SandboxedExecute.output"),
    Upstream(f"{CLIENT}._update_display_id", "(self, display_id, msg)",
             f"{EXECUTE}._update_display_id overrides it (charges every copy it rewrites)",
             OUTPUT, "it still rewrites exactly the outputs listed in "
             "_display_id_map[display_id] (cell index -> output indices), and nothing else",
             digest="f3e5fc546c4f5bbb", override=f"{OURS}SandboxedExecute._update_display_id"),
    Upstream(f"{CLIENT}._display_id_map", "trait Dict",
             f"{EXECUTE}._update_display_id reads it", OUTPUT,
             "its shape is still {display id: {cell index: [output index, ...]}}"),
    Upstream(f"{CLIENT}.handle_comm_msg", "(self, outs, msg, cell_index)",
             f"{EXECUTE}.handle_comm_msg overrides it with nothing", OUTPUT,
             "dropping comm messages still loses only widget state (no output a grade needs)",
             digest="2a510cc750627b5a", override=f"{OURS}SandboxedExecute.handle_comm_msg"),
    Upstream(f"{CLIENT}.store_widget_state", "trait Bool", f"{EXECUTE}.__init__ sets it False",
             OUTPUT, "nothing else keeps widget state"),
    # --- the oracle -----------------------------------------------------------------------------
    Upstream("inspect:_ParameterKind",
             "POSITIONAL_ONLY=0 POSITIONAL_OR_KEYWORD=1 VAR_POSITIONAL=2 KEYWORD_ONLY=3 "
             "VAR_KEYWORD=4",
             "oracle.py: RemoteObject.__signature__ rebuilds a student's signature from kinds",
             ORACLE, "Parameter kinds still travel as these integers"),
]


# --- reading what is installed --------------------------------------------------------------------

def resolve(target: str):
    """(owner, name, value) of "module:Qualified.name"; value is None when the name is gone."""
    module_name, qualname = target.split(":")
    owner = importlib.import_module(module_name)
    *path, name = qualname.split(".")
    for part in path:
        owner = getattr(owner, part)
    if isinstance(owner, type):
        for klass in owner.__mro__:            # the class attribute itself, not a trait's value
            if name in vars(klass):
                return owner, name, vars(klass)[name]
        return owner, name, None
    return owner, name, getattr(owner, name, None)


def function_of(value):
    """The function behind a method, static method, property or decorated function."""
    if isinstance(value, property):
        value = value.fget
    if isinstance(value, (staticmethod, classmethod)):
        value = value.__func__
    return value


def signature_shape(value) -> str:
    """The signature without annotations: names, kinds and defaults."""
    signature = inspect.signature(function_of(value))
    plain = [p.replace(annotation=inspect.Parameter.empty) for p in signature.parameters.values()]
    return str(signature.replace(parameters=plain, return_annotation=inspect.Signature.empty))


def shape_of(owner, name: str, value) -> str:
    from traitlets import Enum, TraitType
    if isinstance(value, TraitType):
        if isinstance(value, Enum):
            return f"trait Enum{sorted(value.values)}"
        return f"trait {type(value).__name__}"
    if isinstance(value, type):
        import enum
        if issubclass(value, enum.Enum):
            return " ".join(f"{member.name}={member.value}" for member in value)
        return "bases " + " ".join(base.__name__ for base in value.__bases__)
    if callable(function_of(value)):
        return signature_shape(value)
    return "attribute"


SKIPPED_FIELDS = {"annotation", "returns", "type_comment", "type_params", "kind"}
DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def canonical(node) -> str:
    """A syntax tree as text, the same across layout, comments, docstrings, annotations and the
    Python versions' optional fields."""
    if isinstance(node, list):
        return "[" + ", ".join(canonical(item) for item in node) + "]"
    if not isinstance(node, ast.AST):
        return repr(node)
    fields = []
    for field, value in ast.iter_fields(node):
        if field == "body" and isinstance(node, DEFINITIONS) and has_docstring(value):
            value = value[1:]
        if field not in SKIPPED_FIELDS and value is not None and value != []:
            fields.append(f"{field}={canonical(value)}")
    return f"{type(node).__name__}({', '.join(fields)})"


def has_docstring(body: list) -> bool:
    first = body[0] if body else None
    return isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
        and isinstance(first.value.value, str)


def source_digest(source: str) -> str:
    """Digest of the first definition in ``source``, layout, comments, docstrings and
    annotations left out."""
    tree = ast.parse(textwrap.dedent(source)).body[0]
    return hashlib.sha256(canonical(tree).encode()).hexdigest()[:16]


def body_digest(value) -> str:
    return source_digest(inspect.getsource(inspect.unwrap(function_of(value))))


def installed_version(distribution: str) -> str:
    if distribution == "python":
        import platform
        return platform.python_version()
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def drift(entry: Upstream) -> list[str]:
    """What differs between the record and what is installed (empty: nothing)."""
    try:
        owner, name, value = resolve(entry.target)
    except (ImportError, AttributeError) as err:
        return [f"cannot be imported any more: {type(err).__name__}: {err}"]
    if value is None and not hasattr(owner, name):
        return [f"{name} no longer exists on {getattr(owner, '__qualname__', owner)}"]
    found = []
    shape = shape_of(owner, name, value)
    if shape != entry.shape:
        found.append(f"recorded {entry.shape!r}, installed {shape!r}")
    if entry.digest is not None:
        try:
            digest = body_digest(value)
        except (OSError, TypeError) as err:   # no source installed, or not a function any more
            digest = f"unreadable ({err})"
        if digest != entry.digest:
            function, where = inspect.unwrap(function_of(value)), "(no source installed)"
            with contextlib.suppress(OSError, TypeError):
                where = f"{inspect.getsourcefile(function)}:{inspect.getsourcelines(function)[1]}"
            found.append(f"its body changed (digest recorded {entry.digest}, installed {digest}; "
                         f"read it at {where})")
    if entry.override is not None:
        _, _, ours = resolve(entry.override)
        if signature_shape(ours) != shape:
            found.append(f"our override {entry.override} has {signature_shape(ours)!r}, "
                         f"upstream {shape!r}")
    return found


def report(entry: Upstream, found: list[str]) -> str:
    installed = installed_version(entry.distribution)
    recorded = VERIFIED_WITH.get(entry.distribution, installed)
    lines = [f"UPSTREAM API CHANGED: {entry.target} ({entry.distribution} {installed}, recorded "
             f"with {recorded})"]
    lines += [f"  - {line}" for line in found]
    lines += [f"  The sandbox relies on it: autograder/sandbox/{entry.ours}.",
              f'  Re-read docs/sandbox.md, section "{entry.section}", and re-verify: '
              f"{entry.verify}.",
              "  Then run the slow sandbox tests (tests/test_isolation_sandbox.py, "
              "tests/test_isolation_limits.py, tests/test_grader_faults.py) and record the new "
              "values in tests/test_sandbox_contract.py (python -m tests.test_sandbox_contract "
              "prints them)."]
    return "\n".join(lines)


# --- the tests -----------------------------------------------------------------------------------

@pytest.mark.parametrize("entry", CONTRACT, ids=[entry.target for entry in CONTRACT])
def test_upstream_api_is_as_recorded(entry):
    found = drift(entry)
    assert not found, report(entry, found)


def test_the_forked_kernel_has_what_the_provisioner_uses():
    """Every ``self.process.X`` in LocalProvisioner (and the stdio it closes in wait) exists on
    ForkedKernel, the Popen look-alike the sandbox hands it."""
    from jupyter_client.provisioning.local_provisioner import LocalProvisioner

    from autograder.sandbox.kernel import ForkedKernel
    tree = ast.parse(textwrap.dedent(inspect.getsource(LocalProvisioner)))
    used = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)
            and ast.unparse(node.value) == "self.process"}
    used -= {"win32_interrupt_event"}             # Windows only
    used |= {"stdin", "stdout", "stderr", "pid"}  # getattr(process, attr) in wait; launch_kernel
    set_in_init = ForkedKernel.__init__.__code__.co_names   # self.pid = ... and the like
    missing = sorted(name for name in used
                     if not hasattr(ForkedKernel, name) and name not in set_in_init)
    assert not missing, (
        f"LocalProvisioner now uses process.{', process.'.join(missing)}, which ForkedKernel "
        "(autograder/sandbox/kernel.py) does not have. Re-read docs/sandbox.md, section "
        f'"{POPEN}", and give ForkedKernel what a Popen would answer.')


def test_the_decision_record_lists_every_entry_and_version():
    text = DOC.read_text()
    missing = [entry.target.split(":")[1] for entry in CONTRACT
               if entry.target.split(":")[1] not in text]
    assert not missing, f"docs/sandbox.md does not name {missing}: add them to its table"
    for section in {entry.section for entry in CONTRACT}:
        assert f"### {section}" in text, f"docs/sandbox.md has no section '{section}'"
    for distribution, version in VERIFIED_WITH.items():
        assert f"{distribution} {version}" in text, (
            f"docs/sandbox.md should say which {distribution} it was verified with ({version})")


def test_installed_versions_are_the_recorded_ones_or_the_contract_holds():
    """Another version passes when every entry above still holds; it is only worth a note."""
    newer = {name: installed_version(name) for name, version in VERIFIED_WITH.items()
             if installed_version(name) != version}
    if newer:
        assert all(not drift(entry) for entry in CONTRACT), "see the failures above"
        warnings.warn(f"the sandbox's contract holds with {newer}; it was recorded with "
                      f"{ {name: VERIFIED_WITH[name] for name in newer} }: update VERIFIED_WITH "
                      "and the versions in docs/sandbox.md", stacklevel=1)


def test_a_changed_signature_or_body_fails_with_the_section_to_reread(monkeypatch):
    """Control: the check sees a changed signature, a changed body and a removed name."""
    from jupyter_client.manager import KernelManager

    entry = CONTRACT[0]
    assert not drift(entry)

    async def renamed(self, kernel_cmd, *, extra=None, **kw):
        return None
    monkeypatch.setattr(KernelManager, "_async_launch_kernel", renamed)
    found = drift(entry)
    assert any("installed '(self, kernel_cmd, *, extra=None, **kw)'" in line for line in found)
    assert any("its body changed" in line for line in found)
    message = report(entry, found)
    assert f'section "{LAUNCH}"' in message
    assert "SandboxKernelManager._async_launch_kernel overrides it" in message

    monkeypatch.delattr(KernelManager, "_async_launch_kernel")
    assert any("no longer exists" in line for line in drift(entry))

    docstring_only = Upstream(entry.target, entry.shape, entry.ours, entry.section, entry.verify,
                              digest="0" * 16)
    monkeypatch.undo()
    assert any("its body changed" in line for line in drift(docstring_only))


def test_the_digest_ignores_layout_comments_docstrings_and_annotations():
    """An upgrade that only re-documents or reformats a method passes; one that changes what it
    does fails."""
    recorded = source_digest('''
    async def launch(self, kernel_cmd, **kw):
        connection_info = await self.provisioner.launch_kernel(kernel_cmd, **kw)
        self._reconcile_connection_info(connection_info)
    ''')
    reworded = source_digest('''
    async def launch(self, kernel_cmd: list[str], **kw: t.Any) -> None:
        """Launch the kernel (now documented)."""
        # the provisioner gives the connection information
        connection_info = await self.provisioner.launch_kernel(
            kernel_cmd,
            **kw,
        )
        self._reconcile_connection_info(connection_info)
    ''')
    changed = source_digest('''
    async def launch(self, kernel_cmd, **kw):
        connection_info = await self.provisioner.launch_kernel(kernel_cmd, **kw)
        self._reconcile_connection_info(connection_info, check=False)
    ''')
    assert recorded == reworded
    assert recorded != changed


if __name__ == "__main__":
    for item in CONTRACT:
        owner_, name_, value_ = resolve(item.target)
        digest_ = body_digest(value_) if item.digest is not None else None
        print(f"{item.target}\n    shape={shape_of(owner_, name_, value_)!r} digest={digest_!r}")
    print({name: installed_version(name) for name in VERIFIED_WITH})
