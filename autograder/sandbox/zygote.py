"""Fork server for grading kernels: imports the heavy libraries once, forks a sandboxed kernel
per submission.

Runs as its own program (``python -s -P zygote.py CONTROL_FD``), started by a grading worker,
and imports nothing from the repository: it holds no solution, no check and no secret, so a
kernel forked from it inherits nothing worth stealing. A kernel start costs a fork instead of a
Python start plus ``import torch``.

For each ``spawn`` request (JSON over the control socket, with two file descriptors: the
oracle's socket and a status pipe) it forks ``C`` which

1. starts a new session (the kernel's process group is C's), and, sandboxed, enters new user,
   mount, network, PID, IPC and UTS namespaces (``unshare``; no privilege needed);
2. forks ``G``, PID 1 of the new PID namespace, then waits for it and reports its exit status on
   the status pipe (with the tail of anything G wrote to its raw stdout/stderr);
3. meanwhile watches the namespace (:class:`Watch`): the memory of their own (pages not shared
   with this fork server) of G and every process it started, summed, and their number; past
   either cap it kills G, which as PID 1 takes the whole namespace with it, and says why.

The fork server is a child subreaper: a G that left C's session and cleared its parent-death
signal is re-parented here when C dies. When the worker goes (end of file on the control socket,
a crash included) the server kills every process it still has, then removes the worker's
scratch folder (``$MLP_SCRATCH_ROOT``: the master, the gradebook and the submission being
graded), so a worker killed mid-submission leaves neither a kernel nor a file behind.

G builds the kernel's world (in a mount namespace of its own: C keeps the host's ``/proc``)
and becomes the kernel:

* a new root on tmpfs holding read-only bind mounts of the system and the Python installation
  only (``/usr``, ``/lib*``, a few ``/etc`` files, the interpreter, the virtual environment),
  the course's kernel-side ``autograder.hidden`` client, private size-limited tmpfs folders for
  ``$HOME`` (the working folder), ``/tmp``, ``/dev/shm`` and the kernel's ZeroMQ sockets, a
  minimal ``/dev`` and a fresh ``/proc``; ``pivot_root`` then detaches the host's tree, so the
  repository (solutions, checks, other submissions) does not exist in there;
* no network (a fresh network namespace has only a down loopback);
* limits: address space (memory cap), file size, no core dumps; parent-death signal;
* every capability dropped (bounding set too, and no_new_privs), so the mounts cannot be undone;
* a clean environment, fresh random seeds, then ``IPKernelApp`` with the connection file.

The grading worker reaches the kernel's sockets through ``/proc/<G>/root/ipc`` (it owns the
namespaces), sends signals to G (through a pidfd: G may have left C's session) and to C's
process group, and reads the status pipe to learn when the kernel is ready and how it ended.
"""
from __future__ import annotations

import ctypes
import fcntl
import json
import os
import platform
import re
import resource
import select
import signal
import socket
import struct
import sys

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC = 32, 1024, 2048, 4096, 16384
MS_PRIVATE, MS_RELATIME, MS_STRICTATIME = 1 << 18, 1 << 21, 1 << 24
MNT_DETACH = 2
ST_FLAGS = {1: MS_RDONLY, 2: MS_NOSUID, 4: MS_NODEV, 8: MS_NOEXEC, 1024: MS_NOATIME,
            2048: MS_NODIRATIME, 4096: MS_RELATIME}
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_SECUREBITS = 1, 24, 28
PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 38, 47, 4
PR_SET_CHILD_SUBREAPER = 36
WATCH_INTERVAL = 0.25             # seconds between two looks at the namespace's memory
WATCH_BUDGET = 0.2                # seconds of memory reading per look (see Watch.over)
SYSCALLS = {"x86_64": {"pivot_root": 155, "capset": 126},
            "aarch64": {"pivot_root": 41, "capset": 91}}
ETC_FILES = ["ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "passwd", "group",
             "nsswitch.conf", "hosts", "fonts", "mime.types", "ssl", "alternatives"]
SYSTEM_DIRS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/opt/conda"]
DEVICES = ["null", "zero", "full", "random", "urandom", "tty"]
FRAME = struct.Struct("!I")

libc = ctypes.CDLL(None, use_errno=True)


class SandboxError(RuntimeError):
    pass


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise SandboxError(f"{what}: {os.strerror(err)} (errno {err})")


def _mount(source, target, fstype, flags, data=None) -> None:
    enc = lambda s: None if s is None else str(s).encode()  # noqa: E731
    _check(libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
           f"mount {source or fstype} on {target}")


def _syscall(name: str, *args) -> int:
    number = SYSCALLS.get(platform.machine(), {}).get(name)
    if number is None:
        raise SandboxError(f"no {name} syscall number for {platform.machine()}")
    return libc.syscall(number, *args)


# --- messages on the control socket --------------------------------------------------------------

def send(sock, message: dict, fds=()) -> None:
    data = json.dumps(message).encode()
    payload = FRAME.pack(len(data)) + data
    if fds:
        socket.send_fds(sock, [payload], list(fds))
    else:
        sock.sendall(payload)


def receive(sock):
    """One message and the file descriptors sent with it, or (None, []) at EOF."""
    data, fds, _flags, _addr = socket.recv_fds(sock, 1 << 16, 8)
    if not data:
        return None, []
    while len(data) < FRAME.size or len(data) < FRAME.size + FRAME.unpack(data[:FRAME.size])[0]:
        more = sock.recv(1 << 16)
        if not more:
            return None, fds
        data += more
    return json.loads(data[FRAME.size:]), fds


# --- the server ----------------------------------------------------------------------------------

def preload(modules: list[str]) -> dict:
    import importlib
    failed = {}
    for name in modules:
        try:
            importlib.import_module(name)
        except BaseException as err:  # noqa: BLE001 (a module that fails here fails in the kernel)
            failed[name] = f"{type(err).__name__}: {err}"[:300]
    return failed


def warm_figures() -> None:
    """Draw one figure off-screen (text, math text, lines, a filled contour, a legend) when
    Matplotlib is preloaded, so that every forked kernel starts with Matplotlib's font and
    math-text caches filled: a kernel's first figure took 0.4 s longer than the next ones. No
    pyplot state is touched (no backend chosen, no figure kept, rcParams unchanged)."""
    if "matplotlib" not in sys.modules or os.environ.get("MLP_WARM_FIGURES") == "0":
        return
    import io

    import numpy
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    figure = Figure(figsize=(4, 3))
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, 2)
    grid = numpy.linspace(-1, 1, 20)
    axes[0].plot(grid, grid ** 2, "o-", label="$f(x) = x^2$")
    axes[0].set(xlabel="$x$", ylabel="$\\eta$", title="warm-up")
    axes[0].legend()
    axes[1].contourf(grid, grid, numpy.add.outer(grid, grid), levels=5)
    figure.tight_layout()
    figure.savefig(io.BytesIO(), format="png", bbox_inches="tight")


def serve(control: socket.socket) -> bool:
    """Answer spawn requests until the worker goes (end of file: True, the worker's scratch folder
    goes too) or retires this server for another one in the same worker (False: the scratch
    folder stays, the next server's submissions are in it)."""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)   # kernels are reaped by the kernel, not here
    while True:
        try:
            message, fds = receive(control)
        except (OSError, ValueError):
            message, fds = None, []
        if message is None:
            return True
        if message.get("op") == "retire":
            for fd in fds:
                os.close(fd)
            return False
        if message.get("op") == "spawn" and len(fds) == 2:
            pid = os.fork()
            if pid == 0:
                control.close()
                run_child(message["spec"], fds[0], fds[1])  # never returns
            for fd in fds:
                os.close(fd)
            send(control, {"pid": pid})
        else:
            for fd in fds:
                os.close(fd)
            send(control, {"error": "unknown request"})


def main() -> None:
    # No parent-death signal here (it would fire when the worker's *thread* that started us
    # ends): the control socket's end of file stops the loop when the worker goes.
    control = socket.socket(fileno=int(sys.argv[1]))
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    modules = json.loads(os.environ.pop("MLP_PRELOAD", "[]"))
    failed = preload(modules)
    try:
        warm_figures()
    except Exception:  # noqa: BLE001 (a warm-up only saves time; the kernel draws as usual)
        pass
    import gc
    gc.collect()
    gc.freeze()   # keep the preloaded objects' pages shared between forked kernels
    send(control, {"ready": True, "pid": os.getpid(), "failed": failed})
    worker_gone = True
    try:
        worker_gone = serve(control)
    finally:
        kill_children()
        if worker_gone:
            remove_scratch(os.environ.get("MLP_SCRATCH_ROOT", ""))


def children_of(parent: int) -> list[int]:
    """The processes whose parent is ``parent`` (from /proc: no other source needed)."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            with_parent = stat_fields(int(name))
            if with_parent and with_parent[1] == parent:
                found.append(int(name))
    return found


def stat_fields(pid: int) -> tuple[int, int] | None:
    """(pid, parent pid) of a process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            text = handle.read()
    except OSError:
        return None
    fields = text[text.rfind(b")") + 2:].split()   # the name in parentheses may hold anything
    return (pid, int(fields[1])) if len(fields) > 1 else None


def kill_children(rounds: int = 50) -> None:
    """Kill what this server still has: each C, and each G a killed C left here (subreaper)."""
    import time
    me = os.getpid()
    for _ in range(rounds):
        found = children_of(me)
        if not found:
            return
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.02)


def remove_scratch(folder: str) -> None:
    """Remove the worker's scratch folder (the worker is gone: nothing of it is in use)."""
    import shutil
    if folder and os.path.basename(folder).startswith("mlp-grading-"):
        shutil.rmtree(folder, ignore_errors=True)


# --- C: namespaces, then wait for the kernel ------------------------------------------------------

def status(fd: int, **event) -> None:
    try:
        os.write(fd, (json.dumps(event) + "\n").encode())
    except OSError:
        pass


def run_child(spec: dict, oracle_fd: int, status_fd: int) -> None:
    try:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)   # dies with the zygote
        os.setsid()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_IGN)   # interrupts are for the kernel (G)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if spec["sandbox"]:
            enter_namespaces()
        out_r, out_w = os.pipe()
        pid = os.fork()
    except BaseException as err:  # noqa: BLE001
        status(status_fd, event="error", message=f"{type(err).__name__}: {err}")
        os._exit(70)
    if pid == 0:
        os.close(out_r)
        run_kernel(spec, oracle_fd, status_fd, out_w)  # never returns
    os.close(out_w)
    os.close(oracle_fd)
    status(status_fd, event="forked", pid=pid)
    watch = Watch(pid, spec) if spec["sandbox"] else None
    tail = b""
    while True:
        readable, _, _ = select.select([out_r], [], [], WATCH_INTERVAL)
        if readable:
            try:
                chunk = os.read(out_r, 1 << 16)
            except InterruptedError:
                continue
            if not chunk:
                break
            tail = (tail + chunk)[-8192:]
        if watch is not None and watch.due():
            reason = watch.over()
            if reason:
                status(status_fd, event="limit", message=reason)
                os.kill(pid, signal.SIGKILL)   # PID 1: the whole namespace goes with it
                watch = None
    _, wait_status = os.waitpid(pid, 0)
    status(status_fd, event="exit", status=wait_status, log=tail.decode("utf-8", "replace"))
    os._exit(0)


class Watch:
    """Caps that hold for G and everything it starts together, where rlimits are per process:
    memory of their own (private pages: what killing them frees; pages still shared with the
    fork server are not counted) and the number of processes. Checked every WATCH_INTERVAL."""

    def __init__(self, pid: int, spec: dict):
        import time
        self.pid, self.clock = pid, time.monotonic
        self.memory = int(spec.get("memory_bytes") or 0)
        self.processes = int(spec.get("max_processes") or 0)
        self.next = 0.0
        self.sizes: dict[int, int] = {}   # pid -> private bytes, last read

    def due(self) -> bool:
        now = self.clock()
        if now < self.next:
            return False
        self.next = now + WATCH_INTERVAL
        return True

    def over(self) -> str | None:
        """Why the namespace must stop, or None. One look reads the memory of as many processes
        as WATCH_BUDGET allows (each read walks the process's pages: about 25 ms for a kernel),
        those not read longest first, and sums the last figure of each: with hundreds of
        processes a look stays short, so the process count is still checked every
        WATCH_INTERVAL, and no process goes unread for more than a few looks."""
        pids = namespace_processes(self.pid)
        if self.processes and len(pids) > self.processes:
            return (f"the kernel started more than {self.processes} processes (the cap for the "
                    "kernel and every process it starts)")
        if self.memory:
            alive = set(pids)
            self.sizes = {pid: size for pid, size in self.sizes.items() if pid in alive}
            unread = [pid for pid in pids if pid not in self.sizes]
            order = unread + [pid for pid in self.sizes if pid not in unread]
            deadline = self.clock() + WATCH_BUDGET
            for index, pid in enumerate(order):
                if index and self.clock() > deadline:
                    break
                self.sizes.pop(pid, None)
                self.sizes[pid] = private_bytes(pid)   # re-inserted: read most recently
            used = sum(self.sizes.values())
            if used > self.memory:
                return (f"the kernel and the processes it started used {used / 2**30:.2f} GB of "
                        f"memory together, more than the {self.memory / 2**30:g} GB limit")
        return None


def namespace_processes(init: int) -> list[int]:
    """``init`` and its descendants: every process of the PID namespace ``init`` is PID 1 of
    (orphans there are re-parented to it, and no process can leave a PID namespace)."""
    seen, stack = [], [init]
    while stack:
        pid = stack.pop()
        seen.append(pid)
        found = children(pid)
        if found is None:
            return scan_descendants(init)
        stack.extend(found)
    return seen


def children(pid: int) -> list[int] | None:
    """The children of every thread of ``pid`` ([] when it is gone; None: not in this /proc)."""
    found: list[int] = []
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in threads:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as handle:
                found.extend(int(v) for v in handle.read().split())
        except FileNotFoundError:
            if not os.path.exists(f"/proc/{pid}/task/{tid}/children") and \
                    os.path.exists(f"/proc/{pid}/task/{tid}"):
                return None   # a kernel without CONFIG_PROC_CHILDREN
        except (OSError, ValueError):
            continue
    return found


def scan_descendants(init: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            found = stat_fields(int(name))
            if found:
                parents.setdefault(found[1], []).append(found[0])
    seen, stack = [], [init]
    while stack:
        pid = stack.pop()
        seen.append(pid)
        stack.extend(parents.get(pid, ()))
    return seen


def private_bytes(pid: int) -> int:
    """A process's private memory (resident and swapped), from /proc/<pid>/smaps_rollup; its
    whole resident size where that cannot be read (counting too much, never too little)."""
    total = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
            for line in handle:
                if line.startswith((b"Private_Clean:", b"Private_Dirty:", b"Swap:")):
                    total += int(line.split()[1]) * 1024
        return total
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def enter_namespaces() -> None:
    uid, gid = os.getuid(), os.getgid()
    _check(libc.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC
                        | CLONE_NEWUTS), "unshare (user namespaces are not available)")
    for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"), ("gid_map", f"0 {gid} 1")):
        with open(f"/proc/self/{name}", "w") as handle:
            handle.write(text)


# --- G: the kernel's world, then the kernel ------------------------------------------------------

def run_kernel(spec: dict, oracle_fd: int, status_fd: int, out_fd: int) -> None:
    try:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if spec["sandbox"]:
            # A mount namespace of G's own: C, outside, keeps the host's /proc to watch G with.
            _check(libc.unshare(CLONE_NEWNS), "unshare the kernel's mount namespace")
            build_root(spec)
        else:
            for folder in (spec["home"], spec["tmp"], spec["ipc_dir"]):
                os.makedirs(folder, exist_ok=True)
            write_client(spec["client_dir"], spec["client_files"])
        # Move our descriptors out of the way, then put them where the kernel expects them.
        oracle_fd, status_fd, out_fd = (fcntl.fcntl(fd, fcntl.F_DUPFD, 64)
                                        for fd in (oracle_fd, status_fd, out_fd))
        null = os.open("/dev/null", os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out_fd, 1)
        os.dup2(out_fd, 2)
        oracle = 3
        os.dup2(oracle_fd, oracle)
        keep = {0, 1, 2, oracle, status_fd}
        for fd in list_fds():
            if fd not in keep:
                try:
                    os.close(fd)
                except OSError:
                    pass
        set_limits(spec)
        if spec["sandbox"]:
            drop_privileges()
        environment(spec, oracle)
        app = start_kernel(spec)
        status(status_fd, event="ready")
        os.close(status_fd)
    except BaseException as err:  # noqa: BLE001
        status(status_fd, event="error", message=f"{type(err).__name__}: {err}")
        os._exit(71)
    try:
        app.start()
    finally:
        os._exit(0)


def list_fds() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        return list(range(3, 256))


def mount_flags(path: str) -> int:
    flags = 0
    for bit, flag in ST_FLAGS.items():
        if os.statvfs(path).f_flag & bit:
            flags |= flag
    return flags


def bind(source: str, target: str, writable: bool = False) -> None:
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.exists(target):
            open(target, "w").close()
    _mount(source, target, None, MS_BIND | MS_REC)
    if not writable:
        for mount_point in submounts(target):
            try:
                _mount(None, mount_point, None, MS_BIND | MS_REMOUNT | MS_RDONLY
                       | mount_flags(mount_point))
            except SandboxError:
                if mount_point == target:
                    raise


def readonly_targets(paths: list[str], private: list[str] = ()) -> list[str]:
    """Where to show each read-only path: as given, and where its links lead (shortest first).

    A virtual environment reached through a link (``~/envs/course -> /data/venvs/course``) is
    used under both names: ``sys.prefix`` keeps the link, resolved module paths do not. A path
    that would cover a private folder (``/``, ``/tmp`` itself: a script run from /tmp puts it on
    ``sys.path``) is never shown: it would hide that folder and show every other submission's.
    """
    targets = set()
    for path in paths:
        if os.path.exists(path):
            targets.update({os.path.abspath(path), os.path.realpath(path)})
    covers = lambda path, folder: folder == path or folder.startswith(path.rstrip("/") + "/")  # noqa: E731
    targets = {path for path in targets if not any(covers(path, folder) for folder in private)}
    outermost = []
    for path in sorted(targets, key=len):   # a path inside another is shown by that one's bind
        if not any(path.startswith(parent.rstrip("/") + "/") for parent in outermost):
            outermost.append(path)
    return outermost


def unescape_mountinfo(field: str) -> str:
    """A path as /proc/self/mountinfo writes it: space, tab, newline, backslash as octal."""
    return re.sub(r"\\([0-7]{3})", lambda match: chr(int(match.group(1), 8)), field)


def submounts(target: str) -> list[str]:
    points = []
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            point = unescape_mountinfo(line.split()[4])
            if point == target or point.startswith(target.rstrip("/") + "/"):
                points.append(point)
    return points


def tmpfs(target: str, megabytes: int, mode: str = "1777") -> None:
    os.makedirs(target, exist_ok=True)
    _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"size={megabytes}m,mode={mode}")


def write_client(folder: str, files: dict) -> None:
    for relative, text in files.items():
        path = os.path.join(folder, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(text)


def build_root(spec: dict) -> None:
    root = spec["root_dir"]
    socket.sethostname("grading-sandbox")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=0755")
    new = lambda path: root + path  # noqa: E731 (host path -> path under the new root)
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            os.symlink(os.readlink(path), new(path))
        elif os.path.isdir(path):
            bind(path, new(path))
    for name in ETC_FILES:
        path = "/etc/" + name
        if os.path.exists(path):
            bind(os.path.realpath(path), new(path))
    tmpfs(new("/dev"), 1, "0755")
    for name in DEVICES:
        if os.path.exists("/dev/" + name):
            bind("/dev/" + name, new("/dev/" + name), writable=True)
    for link, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, new("/dev/" + link))
    size = spec["tmpfs_mb"]
    tmpfs(new("/dev/shm"), size)
    tmpfs(new("/tmp"), size)
    tmpfs(new(spec["home"]), size, "0755")
    tmpfs(new(spec["ipc_dir"]), 1, "0700")
    # The interpreter, the environment and the data go on top of the private tmpfs folders, so
    # an environment kept under /tmp (or anywhere) is still there inside the sandbox.
    private = ["/tmp", "/dev", "/proc", spec["home"], spec["ipc_dir"], spec["client_dir"]]
    for path in readonly_targets(spec["readonly"], private):
        bind(os.path.realpath(path), new(path))
    os.makedirs(new("/proc"), exist_ok=True)
    _mount("proc", new("/proc"), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    write_client(new(spec["client_dir"]), spec["client_files"])
    # Enter the new root and detach the host's tree entirely.
    os.chdir(root)
    os.mkdir(".host")
    _check(_syscall("pivot_root", b".", b".host"), "pivot_root")
    os.chroot(".")
    os.chdir("/")
    _check(libc.umount2(b"/.host", MNT_DETACH), "detach the host's root")
    os.rmdir("/.host")
    _mount(None, "/", None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def set_limits(spec: dict) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writing past the limit fails, never kills
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    fsize = spec["fsize_mb"] << 20
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    if spec.get("memory_bytes"):
        with open("/proc/self/status") as handle:
            vm = next(int(line.split()[1]) for line in handle if line.startswith("VmSize:")) * 1024
        cap = vm + spec["memory_bytes"]
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


class CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def drop_privileges() -> None:
    """No capability left, none to regain (bounding set empty, no_new_privs, secure bits)."""
    last = int(open("/proc/sys/kernel/cap_last_cap").read())
    _check(libc.prctl(PR_SET_SECUREBITS, 0x2F, 0, 0, 0), "lock secure bits")
    for cap in range(last + 1):
        _check(libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), f"drop capability {cap}")
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = CapHeader(0x20080522, 0)
    data = (CapData * 2)()
    _check(_syscall("capset", ctypes.byref(header), ctypes.byref(data)), "capset")
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


def environment(spec: dict, oracle_fd: int) -> None:
    os.environ.clear()
    os.environ.update(spec["env"])
    os.environ["MLP_ORACLE_FD"] = str(oracle_fd)
    os.chdir(spec["home"])
    for name in [m for m in sys.modules if m == "autograder" or m.startswith("autograder.")]:
        del sys.modules[name]
    sys.path[:] = [spec["client_dir"]] + [p for p in sys.path if p and os.path.isdir(p)]
    import random
    random.seed(0)
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed(0)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(0)


def start_kernel(spec: dict):
    connection = os.path.join(spec["tmp"], "kernel.json")
    with open(connection, "w") as handle:
        json.dump(spec["connection"], handle)
    from ipykernel.kernelapp import IPKernelApp
    app = IPKernelApp.instance()
    app.initialize(["-f", connection, "--HistoryManager.hist_file=:memory:",
                    "--IPKernelApp.log_level=CRITICAL", *spec.get("kernel_args", [])])
    return app


def probe() -> int:
    """Exit 0 when this machine can build the sandbox (namespaces, tmpfs, proc, dropping caps)."""
    try:
        enter_namespaces()
        pid = os.fork()
    except BaseException as err:  # noqa: BLE001
        sys.stderr.write(f"{err}\n")
        return 2
    if pid == 0:
        try:
            _mount(None, "/", None, MS_REC | MS_PRIVATE)
            _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m")
            os.mkdir("/tmp/proc")
            _mount("proc", "/tmp/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
            drop_privileges()
        except BaseException as err:  # noqa: BLE001
            sys.stderr.write(f"{err}\n")
            sys.stderr.flush()
            os._exit(3)
        os._exit(0)
    _, wait_status = os.waitpid(pid, 0)
    return os.WEXITSTATUS(wait_status) if os.WIFEXITED(wait_status) else 4


if __name__ == "__main__":
    if sys.argv[1:] == ["--probe"]:
        sys.exit(probe())
    main()
