"""Grading kernels as nbgrader sees them: forked from this process's zygote, sandboxed, watched.

* :class:`Zygote` starts ``zygote.py`` once per grading process and asks it for kernels.
* :class:`ForkedKernel` is the ``Popen``-like handle jupyter_client keeps for a kernel: poll,
  wait, signals to its process group, and how it ended (read from the status pipe).
* :class:`SandboxKernelManager` launches through the zygote instead of ``Popen`` and talks to the
  kernel over ZeroMQ IPC sockets inside the sandbox (``/proc/<kernel>/root/ipc/kernel-N``).
* :class:`SandboxedExecute` is nbgrader's ``Execute`` with that kernel manager, a budget for
  output, and what to do when the kernel dies: the cell says so, the cells after it are marked
  not run, and grading goes on with what did run.

Everything about one submission's run lives in a :class:`KernelJob`, made current with
:func:`kernel_job` by the grading task (one task at a time per process).
"""
from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode

from nbgrader.preprocessors import Execute

from . import zygote as zygote_module

ZYGOTE = Path(zygote_module.__file__).resolve()
CLIENT = Path(__file__).resolve().parent / "kernel_client.py"
PROTOCOL = Path(__file__).resolve().parent / "protocol.py"
SANDBOX_IPC = "/ipc"
SANDBOX_HOME = "/home/student"
SANDBOX_CLIENT = "/opt/mlp-grader"
SIGNALS = {signal.SIGSEGV: "a segmentation fault (SIGSEGV)", signal.SIGKILL: "SIGKILL",
           signal.SIGABRT: "an abort (SIGABRT)", signal.SIGBUS: "a bus error (SIGBUS)",
           signal.SIGFPE: "a floating-point exception (SIGFPE)", signal.SIGTERM: "SIGTERM",
           signal.SIGILL: "an illegal instruction (SIGILL)"}


class SandboxUnavailable(RuntimeError):
    """The kernel sandbox cannot be built on this machine; the message says what to do."""


class KernelStartError(RuntimeError):
    """A grading kernel did not start."""


SANDBOX_HELP = (
    "The grading sandbox needs Linux user namespaces (the kernel runs each submission with no "
    "network and no view of the solutions or the hidden checks). They are not available here: "
    "{detail}. Grade on a machine or container that allows them (e.g. docker run "
    "--security-opt seccomp=unconfined, or sysctl kernel.unprivileged_userns_clone=1), or pass "
    "--unsafe-no-sandbox to grade WITHOUT isolation (students' code could read the solutions).")


# --- environment -----------------------------------------------------------------------------------

COMMON_ENV = {
    "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
    "PYTHONHASHSEED": "0",                 # the same hashes, hence the same grades, every run
    "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
    "MPLBACKEND": "Agg",                   # no figure windows; plt.show() draws nothing
    "CUDA_VISIBLE_DEVICES": "",            # the grader forces CPU
    "TQDM_DISABLE": "1",                   # progress bars in student code stay quiet
    "NBGRADER_EXECUTION": "autograde",     # chapters shrink long training under grading
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
}


def zygote_environment(preload: list[str]) -> dict:
    env = {**COMMON_ENV, "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "HOME": os.environ.get("HOME", "/tmp"), "MLP_PRELOAD": json.dumps(preload),
           "MLP_SCRATCH_ROOT": str(scratch_root())}
    if os.environ.get("MLP_WARM_FIGURES") == "0":   # benchmarks/kernel_warmup.py's baseline
        env["MLP_WARM_FIGURES"] = "0"
    return env


# --- scratch folders -------------------------------------------------------------------------------

SCRATCH_PREFIX = "mlp-grading-"


def scratch_root() -> Path:
    """This process's scratch folder (one sub-folder per submission being graded). Removed by
    this process's fork server when the process goes, however it goes; a folder left by a
    process that no longer exists (its fork server killed too) is removed here."""
    root = Path(tempfile.gettempdir()) / f"{SCRATCH_PREFIX}{os.getuid()}-{os.getpid()}"
    if not root.exists():
        remove_stale_scratch(root.parent)
        root.mkdir(parents=True)
        atexit.register(shutil.rmtree, root, True)
    return root


def remove_stale_scratch(folder: Path) -> None:
    for path in folder.glob(f"{SCRATCH_PREFIX}{os.getuid()}-*"):
        pid = path.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not process_exists(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def kernel_environment(home: str, tmp: str, client_dir: str, data_dir: str | None) -> dict:
    env = {**COMMON_ENV, "HOME": home, "TMPDIR": tmp, "PYTHONPATH": client_dir,
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin",
                                    "/usr/bin", "/bin"]),
           "MPLCONFIGDIR": os.path.join(tmp, "matplotlib")}
    if data_dir:
        env["MLP_COURSE_DATA"] = data_dir
    return env


def client_files() -> dict[str, str]:
    """What the kernel gets as ``autograder``: the client and its wire protocol, nothing else."""
    return {"autograder/__init__.py": '"""The course grader, as a grading kernel sees it."""\n',
            "autograder/hidden.py": CLIENT.read_text(),
            "autograder/sandbox/__init__.py": "",
            "autograder/sandbox/protocol.py": PROTOCOL.read_text()}


def probe_sandbox() -> None:
    """Raise SandboxUnavailable (with what to do) unless kernels can be sandboxed here."""
    try:
        done = subprocess.run([sys.executable, "-s", "-P", str(ZYGOTE), "--probe"],
                              capture_output=True, text=True, timeout=60, cwd="/")
    except (OSError, subprocess.TimeoutExpired) as err:
        raise SandboxUnavailable(SANDBOX_HELP.format(detail=str(err))) from None
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        raise SandboxUnavailable(SANDBOX_HELP.format(detail=detail))


# --- the zygote ----------------------------------------------------------------------------------

class Zygote:
    """This process's fork server for kernels (started once, reused for every submission)."""

    def __init__(self, preload: list[str], timeout: float = 180):
        self.preload = list(preload)
        ours, theirs = socket.socketpair()
        self.control = ours
        self.log = tempfile.TemporaryFile()   # never a pipe: nobody would drain it
        self.process = subprocess.Popen(
            [sys.executable, "-s", "-P", str(ZYGOTE), str(theirs.fileno())],
            pass_fds=(theirs.fileno(),), env=zygote_environment(self.preload),
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
            cwd="/", start_new_session=True)
        theirs.close()
        self.lock = threading.Lock()
        self.control.settimeout(timeout)
        try:
            ready, _ = zygote_module.receive(self.control)
        except (OSError, ValueError) as err:
            ready = None
            detail = str(err)
        else:
            detail = ""
        if not ready or not ready.get("ready"):
            self.close()
            raise KernelStartError(f"the kernel fork server did not start {detail}: "
                                   f"{self._stderr()}")
        self.control.settimeout(None)
        self.failed_imports = ready.get("failed", {})

    def _stderr(self) -> str:
        try:
            self.log.seek(0)
            return self.log.read().decode(errors="replace")[-2000:]
        except (OSError, ValueError):
            return ""

    def alive(self) -> bool:
        return self.process.poll() is None

    def spawn(self, spec: dict, fds: list[int]) -> int:
        with self.lock:
            zygote_module.send(self.control, {"op": "spawn", "spec": spec}, fds)
            reply, _ = zygote_module.receive(self.control)
        if not reply or "pid" not in reply:
            raise KernelStartError(f"the kernel fork server refused: {reply}")
        return int(reply["pid"])

    def close(self, retire: bool = False) -> None:
        """End of file on the control socket: the server kills its kernels and exits, removing
        this worker's scratch folder; ``retire=True`` (another server takes over in this worker)
        keeps the folder, which already holds the next submission."""
        with contextlib.suppress(OSError):
            if retire:
                with self.lock:
                    zygote_module.send(self.control, {"op": "retire"})
            self.control.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


_ZYGOTES: dict[tuple, Zygote] = {}
_ZYGOTE_LOCK = threading.Lock()


def zygote_for(preload: list[str]) -> Zygote:
    key = tuple(preload)
    with _ZYGOTE_LOCK:
        found = _ZYGOTES.get(key)
        if found is None or not found.alive():
            for other in list(_ZYGOTES.values()):   # one fork server per process is enough
                other.close(retire=True)
            _ZYGOTES.clear()
            found = _ZYGOTES[key] = Zygote(preload)
        return found


# --- one kernel ------------------------------------------------------------------------------------

class ForkedKernel:
    """A kernel forked by the zygote, with the methods jupyter_client expects of a Popen."""

    stdin = stdout = stderr = None

    def __init__(self, zygote: Zygote, spec: dict, oracle_fd: int, timeout: float):
        read_end, write_end = os.pipe()
        try:
            self.pid = zygote.spawn(spec, [oracle_fd, write_end])
        finally:
            os.close(write_end)
        os.set_blocking(read_end, False)
        self._fd, self._buffer = read_end, b""
        self.returncode: int | None = None
        self.kernel_pid: int | None = None
        self.wait_status: int | None = None
        self.log = ""
        self.ready = False
        self.error: tuple[str, str] | None = None
        self.limit: str | None = None          # why the zygote's watch stopped the kernel
        self._kernel_fd: int | None = None     # a pidfd of G, PID 1 of the kernel's namespace
        deadline = time.monotonic() + timeout
        while not self.ready and self.returncode is None and self.error is None:
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise KernelStartError(f"the kernel did not start within {timeout:g} s")
            self._pump(left)
        if not self.ready:
            self.kill()
            stage, message = self.error or ("kernel", self.describe_exit())
            if stage == "sandbox" or "unshare" in message or "SandboxError" in message:
                raise SandboxUnavailable(SANDBOX_HELP.format(detail=message))
            raise KernelStartError(f"the kernel did not start: {message}")

    def _pump(self, timeout: float = 0.0) -> None:
        if self._fd is None:
            return
        readable, _, _ = select.select([self._fd], [], [], max(0.0, timeout))
        if not readable:
            return
        while True:
            try:
                chunk = os.read(self._fd, 1 << 16)
            except BlockingIOError:
                break
            if not chunk:
                os.close(self._fd)
                self._fd = None
                if self.returncode is None:
                    self.returncode = -signal.SIGKILL
                break
            self._buffer += chunk
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            self._event(line)

    def _event(self, line: bytes) -> None:
        try:
            event = json.loads(line)
        except ValueError:
            return
        kind = event.get("event")
        if kind == "forked":
            self.kernel_pid = int(event["pid"])
            with contextlib.suppress(OSError, AttributeError):
                self._kernel_fd = os.pidfd_open(self.kernel_pid)
        elif kind == "limit":
            self.limit = str(event.get("message", ""))[:500]
        elif kind == "ready":
            self.ready = True
        elif kind == "error":
            message = str(event.get("message", ""))
            stage = "sandbox" if message.startswith("SandboxError") else "kernel"
            self.error = (stage, message)
        elif kind == "exit":
            self.wait_status = int(event["status"])
            self.log = str(event.get("log", ""))
            if os.WIFSIGNALED(self.wait_status):
                self.returncode = -os.WTERMSIG(self.wait_status)
            else:
                self.returncode = os.WEXITSTATUS(self.wait_status)

    def poll(self) -> int | None:
        """None while the kernel runs; a kernel the zygote's watch stopped is dead from then on
        (its namespace may take a while to unwind: nbclient need not wait for that)."""
        self._pump(0)
        if self._fd is None:
            return self.returncode
        return -signal.SIGKILL if self.limit else None

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._fd is not None:
            left = 1.0 if deadline is None else deadline - time.monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired("kernel", timeout)
            self._pump(min(left, 1.0))
        return self.returncode

    def send_signal(self, signum: int) -> None:
        """To the kernel (G) itself, which may have left C's session, and, unless it is an
        interrupt (for the kernel only), to C's process group."""
        if self._kernel_fd is not None:
            with contextlib.suppress(OSError):
                signal.pidfd_send_signal(self._kernel_fd, signum)
            if signum == signal.SIGINT:
                return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signum)

    def kill(self) -> None:
        """G first: as PID 1 of its namespace, its death takes every process it started."""
        self.send_signal(signal.SIGKILL)

    def release(self) -> None:
        if self._kernel_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._kernel_fd)
            self._kernel_fd = None

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def describe_exit(self) -> str:
        code = self.returncode
        if self.limit:
            return f"it was stopped: {self.limit}"
        if code is None:
            return "it is still running"
        if code < 0:
            return f"it was killed by {SIGNALS.get(-code, f'signal {-code}')}"
        return f"it exited with code {code}"


@dataclass
class KernelJob:
    """Everything about the kernel of the submission being graded in this process."""

    zygote: Zygote
    scratch: Path
    oracle_peer: socket.socket | None
    sandbox: bool = True
    memory_bytes: int = 4 << 30
    tmpfs_mb: int = 256
    fsize_mb: int = 256
    output_limit: int = 2 << 20
    max_processes: int = 256
    startup_timeout: float = 120
    readonly: list = field(default_factory=list)
    data_dir: str | None = None
    process: ForkedKernel | None = None
    dead: str | None = None           # why the kernel is gone, once it is
    start_error: Exception | None = None   # why the kernel did not start, if it did not
    dead_cell: int | None = None
    expired: bool = False             # the per-notebook time limit struck
    output_bytes: int = 0
    truncated: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def spec(self, connection: dict) -> dict:
        if self.sandbox:
            home, tmp, ipc, client = SANDBOX_HOME, "/tmp", SANDBOX_IPC, SANDBOX_CLIENT
        else:
            home, tmp, ipc = (str(self.scratch / name) for name in ("home", "tmp", "ipc"))
            client = str(self.scratch / "client")
        return {"sandbox": self.sandbox, "root_dir": str(self.scratch / "root"),
                "readonly": [str(p) for p in self.readonly], "home": home, "tmp": tmp,
                "ipc_dir": ipc, "client_dir": client, "client_files": client_files(),
                "env": kernel_environment(home, tmp, client, self.data_dir),
                "tmpfs_mb": self.tmpfs_mb, "fsize_mb": self.fsize_mb,
                "memory_bytes": self.memory_bytes, "max_processes": self.max_processes,
                "connection": {**connection, "ip": f"{ipc}/kernel"}}

    def launch(self, connection: dict) -> ForkedKernel:
        with self.lock:
            if self.oracle_peer is None:
                raise KernelStartError("a grading job starts one kernel only")
            (self.scratch / "root").mkdir(parents=True, exist_ok=True)
            peer, self.oracle_peer = self.oracle_peer, None
            try:
                self.process = ForkedKernel(self.zygote, self.spec(connection), peer.fileno(),
                                            self.startup_timeout)
            except (KernelStartError, SandboxUnavailable) as err:
                self.start_error = err      # the grader's fault: nbgrader's log buries it
                raise
            finally:
                peer.close()  # the kernel holds the only other end: EOF when it dies
            if self.expired:
                self.process.kill()
            return self.process

    def charge(self, size: int) -> bool:
        """Count ``size`` characters of output; False once the notebook's budget is spent."""
        self.output_bytes += size
        return self.output_bytes <= self.output_limit

    def expire(self) -> None:
        """The per-notebook time limit: kill the kernel and everything it started."""
        with self.lock:
            self.expired = True
            if self.process is not None:
                self.process.kill()


_CURRENT: KernelJob | None = None


@contextlib.contextmanager
def kernel_job(job: KernelJob):
    global _CURRENT
    _CURRENT = job
    try:
        yield job
    finally:
        _CURRENT = None
        if job.process is not None:
            job.process.kill()
            with contextlib.suppress(Exception):
                job.process.wait(timeout=10)
            job.process.release()
        if job.oracle_peer is not None:
            job.oracle_peer.close()


def current_job() -> KernelJob:
    if _CURRENT is None:
        raise KernelStartError("no grading job is running in this process")
    return _CURRENT


# --- jupyter_client and nbgrader ---------------------------------------------------------------------
# These classes override private or undocumented methods of jupyter_client and nbclient and hand
# jupyter_client a Popen look-alike: docs/sandbox.md ("Upstream APIs the sandbox depends on")
# lists each one, and tests/test_sandbox_contract.py fails when an upgrade changes one of them.

class SandboxKernelManager(AsyncKernelManager):
    """Starts the kernel through the zygote, over IPC sockets inside its sandbox."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        job = current_job()
        self.transport = "ipc"
        self.connection_file = str(job.scratch / "connection.json")
        self.ip = str(job.scratch / "ports" / "kernel")  # ports 1-5; the real path comes later

    async def _async_launch_kernel(self, kernel_cmd, **kw) -> None:
        job = current_job()
        info = self.get_connection_info()
        info["key"] = info["key"].decode() if isinstance(info["key"], bytes) else info["key"]
        process = job.launch(info)
        if job.sandbox:
            self.ip = f"/proc/{process.kernel_pid}/root{SANDBOX_IPC}/kernel"
        else:
            self.ip = str(job.scratch / "ipc" / "kernel")
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.connection_file)
        self._connection_file_written = False
        self.write_connection_file()
        provisioner = self.provisioner
        provisioner.process = process
        provisioner.pid = provisioner.pgid = process.pid
        provisioner.connection_info = self.get_connection_info()
        self._reconcile_connection_info(provisioner.connection_info)


class SandboxedExecute(Execute):
    """nbgrader's Execute with sandboxed kernels, an output budget, and survival of dead kernels."""

    def __init__(self, **kwargs):
        kwargs["kernel_manager_class"] = SandboxKernelManager
        super().__init__(**kwargs)
        self.shutdown_kernel = "immediate"
        self.store_widget_state = False

    def preprocess_cell(self, cell, resources, index):
        job = current_job()
        if job.dead and cell.cell_type == "code":
            cell.outputs = [error_output("NotRun", f"this cell was not run: {job.dead}")]
            cell.execution_count = None
            return cell, resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            process = job.process
            if job.expired:
                job.dead = "the notebook ran past its time limit and its kernel was stopped"
            else:
                job.dead = "the kernel died" + (f" ({process.describe_exit()})" if process else "")
            job.dead_cell = index
            cell.outputs.append(error_output("KernelDied", job.dead + " while running this cell"))
            return cell, resources

    def output(self, outs, msg, display_id, cell_index):
        """Every output counts toward the notebook's budget. Past it, outputs are dropped (one
        notice says so), except errors: they decide a test's outcome, so they are kept, cut
        to their name and the start of their message."""
        job = current_job()
        content = msg.get("content", {})
        if job.charge(output_size(content)):
            return super().output(outs, msg, display_id, cell_index)
        self.budget_notice(outs, job)
        if msg["msg_type"] == "error":
            outs.append(error_output(str(content.get("ename", "Error"))[:200],
                                     str(content.get("evalue", ""))[:ERROR_KEPT]))
        return None

    def _update_display_id(self, display_id, msg):
        """An update rewrites every output shown under that id: the notebook changes by the new
        size times the copies, less what the copies held."""
        job = current_job()
        places = self._display_id_map.get(display_id, {})
        held = [self.nb.cells[cell].outputs[i] for cell, found in places.items() for i in found]
        size = output_size(msg.get("content", {}))
        if job.charge(sum(size - output_size(output) for output in held)):
            super()._update_display_id(display_id, msg)
        else:
            job.truncated = True   # the row says output was dropped

    def handle_comm_msg(self, outs, msg, cell_index):
        """Widget messages are not kept: grading and feedback need no widget state."""

    def budget_notice(self, outs, job: KernelJob) -> None:
        if not job.truncated:
            job.truncated = True
            outs.append(NotebookNode(output_type="stream", name="stdout", text=(
                f"\n[grader: output stopped here, the notebook printed more than "
                f"{job.output_limit >> 20} MB]\n")))


ERROR_KEPT = 1000   # characters of an error's message kept past the output budget
MIN_OUTPUT = 64     # what any output costs the notebook at least (its JSON around the text)


def output_size(content: dict) -> int:
    """Characters an output adds to the notebook: text, every data format (displays, results,
    updates), and an error's name, message and traceback."""
    size = len(str(content.get("text", "")))
    size += sum(len(str(value)) for value in (content.get("data") or {}).values())
    size += len(str(content.get("ename", ""))) + len(str(content.get("evalue", "")))
    size += sum(len(str(line)) for line in (content.get("traceback") or []))
    return max(size, MIN_OUTPUT)


def error_output(name: str, message: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=name, evalue=message,
                        traceback=[f"{name}: {message}"])
