"""``autograder.hidden`` as a grading kernel sees it: hidden tests ask the grader's oracle.

Inside a sandboxed grading kernel this file and the wire protocol are the whole ``autograder``
package (copied there as ``autograder/hidden.py`` and ``autograder/sandbox/protocol.py``): the
kernel never holds the hidden checks or the reference solution. ``check(chapter, name, *objects)`` sends the student's objects to the oracle (a trusted
process outside the sandbox, reached through the inherited file descriptor ``$MLP_ORACLE_FD``):
values by value, everything else as a handle. The oracle runs ``check_<name>`` with proxies for
the handles; while it runs, this module serves its requests (call this function, get that
attribute, add these two objects, ...) on the real objects, then raises ``CheckFailed`` with the
oracle's message or returns. The oracle, not this module, records whether the check passed, so
replacing ``check`` or skipping the call earns nothing.

The wire format, shared with the oracle, is :mod:`autograder.sandbox.protocol`. Standard library
only, so it imports in any kernel; torch and numpy are used when loaded.
"""
from __future__ import annotations

import builtins
import importlib
import json
import operator
import os
import socket
import struct
import sys

from autograder.sandbox.protocol import (MAX_FRAME, NUMPY_KINDS, CheckFailed, Codec,  # noqa: F401
                                         ProtocolError, exception_info, recv_frame, send_frame)

__all__ = ["check", "CheckFailed"]

OPERATORS = {"add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "neg", "pos",
             "abs", "invert", "lt", "le", "eq", "ne", "gt", "ge", "getitem", "setitem", "delitem",
             "contains", "and_", "or_", "xor", "lshift", "rshift", "iadd", "isub", "imul",
             "itruediv", "ifloordiv", "imod", "ipow", "imatmul", "index", "truth"}
BUILTINS = {"len", "iter", "next", "repr", "str", "bool", "hash", "dir", "callable", "float",
            "int", "complex", "round", "format", "abs", "list", "tuple"}
ROOTS = {"torch", "numpy", "math", "random", "builtins", "collections", "itertools",
         "functools", "operator", "copy", "inspect", "__main__", "autograder"}
FORBIDDEN = {"eval", "exec", "compile", "open", "__import__", "breakpoint", "input"}


# --- the kernel side -----------------------------------------------------------------------------

class _Kernel:
    """Serves the oracle's requests on the student's real objects during one check."""

    def __init__(self, sock):
        self.sock = sock
        self.objects: dict[int, object] = {}
        self.ids: dict[int, int] = {}
        self.tensors: dict[int, tuple] = {}   # id(tensor) -> (weak reference, stable id)
        self.next_number = 0  # never reused: a dead tensor's id() may come back for a new one
        self.codec = Codec(self._to_ref, self._from_ref, identity=self._identity)

    def _identity(self, tensor) -> int:
        """The same number for the same tensor while it lives (weakly held: no memory kept)."""
        import weakref
        known = self.tensors.get(id(tensor))
        if known is not None and known[0]() is tensor:
            return known[1]
        self.next_number += 1
        number = self.next_number
        try:
            self.tensors[id(tensor)] = (weakref.ref(tensor), number)
        except TypeError:
            return 0
        return number

    def _to_ref(self, obj):
        handle = self.ids.get(id(obj))
        if handle is None:
            handle = len(self.objects) + 1
            self.objects[handle] = obj
            self.ids[id(obj)] = handle
        try:
            text = repr(obj)[:200]
        except Exception:  # noqa: BLE001
            text = f"<{type(obj).__name__}>"
        return {"$": "ref", "id": handle, "type": type(obj).__name__[:200], "repr": text}

    def _from_ref(self, value):
        try:
            return self.objects[int(value["id"])]
        except (KeyError, TypeError, ValueError):
            raise ProtocolError("unknown handle") from None

    def ref(self, obj):
        """Encode an argument of check(): plain data by value, anything else as a handle."""
        if _is_plain(obj):
            try:
                return self.codec.encode(obj, [], 0)
            except Exception:  # noqa: BLE001 (a tensor that cannot travel by value: a handle)
                pass
        return self._to_ref(obj)

    def send(self, message: dict, value=None, with_value=False, keep=False):
        blobs: list = []
        if with_value:
            message["value"] = self._to_ref(value) if keep else self.codec.encode(value, blobs)
        send_frame(self.sock, message, blobs)

    def serve(self, request: dict, blobs: list):
        op = request.get("op")
        args = self.codec.decode(request.get("args", []), blobs)
        kwargs = self.codec.decode(request.get("kwargs", {"$": "dict", "v": []}), blobs)
        if op == "call":
            target = request.get("target")
            fn = self._named(target) if isinstance(target, str) else self.codec.decode(target, blobs)
            return fn(*args, **kwargs)
        if op == "getattr":
            return getattr(args[0], str(request["name"]))
        if op == "setattr":
            setattr(args[0], str(request["name"]), args[1])
            return None
        if op == "delattr":
            delattr(args[0], str(request["name"]))
            return None
        if op == "operator" and request.get("name") in OPERATORS:
            return getattr(operator, request["name"])(*args)
        if op == "builtin" and request.get("name") in BUILTINS:
            return getattr(builtins, request["name"])(*args)
        if op == "isinstance":
            return isinstance(args[0], self._named(str(request["name"])))
        if op == "value":
            return args[0]
        if op == "signature":
            import inspect
            signature = inspect.signature(args[0])
            return [[p.name, int(p.kind), p.default is not inspect.Parameter.empty,
                     p.default if p.default is not inspect.Parameter.empty and _is_plain(p.default)
                     else None] for p in signature.parameters.values()]
        if op == "type":
            kind = type(args[0])
            return [kind.__module__, kind.__qualname__]
        if op == "mro":
            obj = args[0]
            is_class = isinstance(obj, type)
            mro = (obj if is_class else type(obj)).__mro__
            return [is_class, [[str(k.__module__), str(k.__qualname__)] for k in mro]]
        raise ProtocolError(f"unknown request {op!r}")

    @staticmethod
    def _named(name: str):
        parts = name.split(".")
        if parts[0] not in ROOTS or any(p.startswith("__") and p != "__main__" for p in parts) \
                or (parts[0] == "builtins" and parts[-1] in FORBIDDEN):
            raise ProtocolError(f"{name} cannot be called from a check")
        if parts[0] == "__main__":
            namespace = NAMESPACE
            if namespace is None:
                try:
                    namespace = get_ipython().user_ns  # noqa: F821 (IPython's global)
                except NameError:
                    namespace = vars(sys.modules["__main__"])
            obj = namespace[parts[1]]
            rest = parts[2:]
        else:
            obj, rest = None, []
            for cut in range(len(parts), 0, -1):
                try:
                    obj = importlib.import_module(".".join(parts[:cut]))
                    rest = parts[cut:]
                    break
                except ImportError:
                    continue
            if obj is None:
                raise ProtocolError(f"no module for {name}")
        for part in rest:
            obj = getattr(obj, part)
        return obj


# --- helpers the checks build in the kernel (the grader's own code, not a test cell's) ----------

def probe(net):
    """``net`` wrapped in a module that records, for every forward call, its mode (train/eval),
    whether gradients were on, and its outputs (``.calls``). A check builds it here with
    ``in_student_kernel("autograder.hidden.probe", net)``: no name of the notebook is used, so no
    answer cell can replace it by defining one."""
    import torch

    class Probe(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net, self.calls = net, []

        def forward(self, x):
            out = self.net(x)
            self.calls.append((self.training, torch.is_grad_enabled(), out.detach().clone()))
            return out
    return Probe(net)


def printed(function, *args, **kwargs) -> str:
    """What function(*args, **kwargs) printed (the MNIST chapter's train and test print their
    statistics and return nothing)."""
    import contextlib
    import io
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        function(*args, **kwargs)
    return buffer.getvalue()


def _is_plain(obj, depth=0) -> bool:
    if depth > 8:
        return False
    if obj is None or type(obj) in (bool, int, float, str, complex, bytes):
        return True
    if type(obj) in (list, tuple):
        return all(_is_plain(v, depth + 1) for v in obj)
    if type(obj) is dict:
        return all(_is_plain(k, depth + 1) and _is_plain(v, depth + 1) for k, v in obj.items())
    torch, np = sys.modules.get("torch"), sys.modules.get("numpy")
    if torch is not None and isinstance(obj, (torch.Tensor, torch.Size, torch.dtype)):
        return True
    return np is not None and isinstance(obj, (np.ndarray, np.generic)) \
        and obj.dtype.kind in NUMPY_KINDS


_SOCKET = None
_BUSY = False
NAMESPACE = None   # where '__main__.X' names resolve; None: the notebook's namespace


def _connection():
    global _SOCKET
    if _SOCKET is None:
        fd = os.environ.get("MLP_ORACLE_FD", "")
        if not fd.isdigit():
            raise CheckFailed("This hidden test runs only under the course's grader.")
        try:
            _SOCKET = socket.socket(fileno=int(fd))
        except OSError:
            raise CheckFailed("The grader's connection is closed: this hidden test could not "
                              "run.") from None
    return _SOCKET


def check(chapter: str, name: str, *student_objects) -> None:
    """Run one hidden check in the grader's oracle; raise CheckFailed with its message."""
    global _BUSY, _SOCKET
    if _BUSY:
        raise RuntimeError("a hidden test cannot start while another one is running")
    sock = _connection()
    _BUSY = True
    try:
        run_check(sock, chapter, name, student_objects)
    except ConnectionError:
        _SOCKET = None
        raise CheckFailed("The grader's connection was lost: this hidden test could not run.") \
            from None
    except KeyboardInterrupt:
        _SOCKET = None  # the oracle may still be talking: this connection is out of step
        sock.close()
        raise
    finally:
        _BUSY = False


def run_check(sock, chapter: str, name: str, student_objects) -> None:
    """One check over ``sock``: ask, serve the oracle's requests, raise or return its verdict.
    Raises ConnectionError when the connection breaks."""
    kernel = _Kernel(sock)
    interrupted = None
    try:
        args = [kernel.ref(obj) for obj in student_objects]
        send_frame(sock, {"op": "check", "slug": str(chapter), "check": str(name), "args": args}, [])
        while True:
            request, blobs = recv_frame(sock)
            if request.get("op") == "verdict":
                break
            try:
                value = kernel.serve(request, blobs)
            except KeyboardInterrupt as err:
                interrupted = err
                kernel.send({"op": "reply", "ok": False, "error": exception_info(err)})
            except BaseException as err:  # noqa: BLE001 (student code may raise anything)
                kernel.send({"op": "reply", "ok": False, "error": exception_info(err)})
            else:
                try:
                    kernel.send({"op": "reply", "ok": True}, value, with_value=True,
                                keep=bool(request.get("keep")))
                except Exception:  # noqa: BLE001 (no plain value: it stays here, as a handle)
                    kernel.send({"op": "reply", "ok": True}, value, with_value=True, keep=True)
    except (EOFError, OSError, ProtocolError, ValueError) as err:
        raise ConnectionError(str(err)) from None
    finally:
        kernel.objects.clear()
        kernel.ids.clear()
        kernel.tensors.clear()
    if interrupted is not None:
        raise interrupted
    if request.get("status") != "pass":
        raise CheckFailed(str(request.get("message") or "This hidden test failed."))
