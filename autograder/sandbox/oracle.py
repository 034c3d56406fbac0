"""The oracle: runs hidden checks outside the student's kernel, on proxies for the student's objects.

One :class:`Oracle` serves one submission: a thread in the grading process, holding one end of a
socket pair whose other end is the kernel's ``$MLP_ORACLE_FD``. For each ``check`` request it
runs ``check_<name>(*proxies, reference=<solution module>)`` from the chapter's checks module,
records the verdict (pass / fail / error, with the message), and sends the verdict back. The
kernel never sees the checks or the reference; what it sends is decoded without pickle
(:mod:`autograder.sandbox.protocol`'s codec), in frames of bounded size.

A :class:`RemoteObject` stands for one object in the kernel. Calls, attribute access, items,
iteration, operators (with reflected and in-place forms), ``len``, ``bool``, ``repr``, ``float``
... are forwarded to the kernel; results come back by value when they are tensors, arrays,
numbers, strings, None, or lists/tuples/dicts of those, and as further proxies otherwise. An
exception raised by the student's code comes back as an exception of the same name deriving from
the same built-in class, so ``compare.call`` reports it as it would in-process.
"""
from __future__ import annotations

import builtins
import random
import socket
import threading
import types
import zlib

from .protocol import MAX_FRAME, Codec, ProtocolError, exception_info, recv_frame, send_frame

_LOCAL = threading.local()
TENSOR_CACHE = 256 << 20


def current_session() -> "Session | None":
    """The session of the check running in this thread, if it runs under an oracle."""
    return getattr(_LOCAL, "session", None)


class KernelGone(BaseException):
    """The kernel closed the connection (it died or was stopped) during a check."""


class StudentAborted(BaseException):
    """The student's code was interrupted (time limit) or exited during a check."""


class RemoteError(Exception):
    """Base of exceptions raised by the student's code in the kernel."""


_EXCEPTION_TYPES: dict[tuple[str, str], type] = {}


def remote_exception(info: dict) -> BaseException:
    name = str(info.get("type", "Exception"))[:200] or "Exception"
    bases = [str(b) for b in info.get("bases", [])]
    message = str(info.get("message", ""))[:4000]
    if "KeyboardInterrupt" in bases:
        return StudentAborted("the code under test was interrupted: it ran past the time limit")
    if "SystemExit" in bases:
        return StudentAborted(f"the code under test called sys.exit() ({message})")
    if "StopIteration" in bases:
        return StopIteration(message)
    base = Exception
    for candidate in bases:
        kind = getattr(builtins, candidate, None)
        if isinstance(kind, type) and issubclass(kind, Exception):
            base = kind
            break
    key = (name, base.__name__)
    kind = _EXCEPTION_TYPES.get(key)
    if kind is None:
        try:
            kind = type(name if name.isidentifier() else "StudentError", (base, RemoteError),
                        {"__module__": "student"})
            kind(message)
        except TypeError:  # bases that need special constructor arguments
            kind = type(name if name.isidentifier() else "StudentError", (RemoteError,),
                        {"__module__": "student"})
        _EXCEPTION_TYPES[key] = kind
    return kind(message)


class Session:
    """The connection to one kernel while one check runs."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.student_code: str | None = None
        self.proxies: dict[int, RemoteObject] = {}
        self.codec = Codec(self._to_ref, self._from_ref, ref_types=(RemoteObject,),
                           intern=self._intern)
        self.tensors: dict = {}       # kernel tensor number -> local tensor (recent ones)
        self.tensor_bytes = 0

    def _intern(self, number: int, tensor):
        """The kernel's same tensor is the check's same object (id(), ``is``), with the value
        it has now. Copies: changing it here does not change the student's tensor. The last
        TENSOR_CACHE bytes of tensors are kept alive so that identity holds across fetches."""
        if not number:
            return tensor
        known = self.tensors.pop(number, None)
        if known is None or known.shape != tensor.shape or known.dtype != tensor.dtype:
            if known is not None:
                self.tensor_bytes -= known.nelement() * known.element_size()
            self.tensors[number] = tensor
            self.tensor_bytes += tensor.nelement() * tensor.element_size()
            while self.tensor_bytes > TENSOR_CACHE and len(self.tensors) > 1:
                oldest = self.tensors.pop(next(iter(self.tensors)))
                self.tensor_bytes -= oldest.nelement() * oldest.element_size()
            return tensor
        self.tensors[number] = known  # most recent last
        import torch
        with torch.no_grad():
            known.copy_(tensor)
        if known.requires_grad != tensor.requires_grad and known.is_leaf:
            known.requires_grad_(tensor.requires_grad)
        return known

    def _to_ref(self, obj):
        if type(obj) is RemoteObject and object.__getattribute__(obj, "_session") is self:
            return {"$": "ref", "id": object.__getattribute__(obj, "_id")}
        raise TypeError(
            f"a {type(obj).__name__} made by the check cannot be sent to the student's kernel; "
            "send tensors and plain values, or build the object there with "
            "compare.in_student_kernel(...)")

    def _from_ref(self, value: dict):
        handle = int(value["id"])
        proxy = self.proxies.get(handle)
        if proxy is None:
            proxy = self.proxies[handle] = RemoteObject(self, handle, str(value.get("type", "?")),
                                                        str(value.get("repr", "")))
        return proxy

    def request(self, op: str, args=(), kwargs=None, **fields):
        blobs: list = []
        message = {"op": op, **fields, "args": self.codec.encode(list(args), blobs),
                   "kwargs": self.codec.encode(dict(kwargs or {}), blobs)}
        try:
            send_frame(self.sock, message, blobs)
            reply, reply_blobs = recv_frame(self.sock, MAX_FRAME)
        except (EOFError, OSError):
            raise KernelGone() from None
        if reply.get("op") != "reply":
            raise ProtocolError("the kernel answered out of turn")
        if reply.get("ok"):
            return self.codec.decode(reply.get("value"), reply_blobs)
        raise remote_exception(reply.get("error") or {})

    # helpers used by autograder.checks.compare
    def call_named(self, name: str, args, kwargs, keep: bool = False):
        return self.request("call", args, kwargs, target=name, keep=keep)

    def call_keep(self, obj, args, kwargs):
        """Call a proxy; the result stays in the kernel (a proxy, even for a tensor)."""
        return self.request("call", args, kwargs, target={"$": "ref", "id": obj._id}, keep=True)

    def fetch(self, obj):
        """A proxy's object by value (tensors, numbers, ... ; a proxy again if it cannot be)."""
        return self.request("value", [obj])

    def isinstance_of(self, obj, name: str) -> bool:
        return bool(self.request("isinstance", [obj], name=name))

    def type_of(self, obj) -> tuple[str, str]:
        module, qualname = self.request("type", [obj])
        return str(module), str(qualname)


ITEM_OPERATORS = {"getitem", "setitem", "delitem", "contains", "index"}


def _forward(op: str, name: str, reflected: bool = False):
    def method(self, *args):
        session = object.__getattribute__(self, "_session")
        operands = [args[0], self] if reflected else [self, *args]
        if op == "operator" and name not in ITEM_OPERATORS and any(map(_is_array, args)):
            raise TypeError(
                f"a check cannot apply {name} to a student's object and a tensor: the tensor (maybe "
                "a reference's result) would be sent to the student's kernel. Compare values: "
                "fetch(obj) or as_tensor(...) first")
        return session.request(op, operands, name=name)
    method.__name__ = f"__{name}__"
    return method


class RemoteObject:
    """A student's object that lives in the kernel (see the module docstring)."""

    __slots__ = ("_session", "_id", "_type", "_repr", "_mro", "__weakref__")

    def __init__(self, session: Session, handle: int, type_name: str, text: str):
        object.__setattr__(self, "_session", session)
        object.__setattr__(self, "_id", handle)
        object.__setattr__(self, "_type", type_name)
        object.__setattr__(self, "_repr", text)
        object.__setattr__(self, "_mro", None)

    def _local_mro(self) -> tuple[bool, list[type]]:
        """Whether the object is a class, and the library classes (torch, numpy, builtins, ...)
        in its class's MRO that exist here too: what isinstance/issubclass can see."""
        cached = object.__getattribute__(self, "_mro")
        if cached is None:
            is_class, names = self._request("mro", [self])
            found = []
            for module, qualname in names:
                kind = _library_class(str(module), str(qualname))
                if kind is not None and kind not in found:
                    found.append(kind)
            cached = (bool(is_class), found)
            object.__setattr__(self, "_mro", cached)
        return cached

    @property
    def __class__(self):
        """isinstance(proxy, torch.nn.Module) is True when the student's object is one. Never a
        tensor, array or other class implemented in C: C code that sees isinstance() pass reads
        the proxy's memory as its own object (a crash), and a tensor that did not travel by value
        is no plain tensor (sparse, meta, nested, a subclass that would not encode)."""
        is_class, found = self._local_mro()
        if is_class:
            return type
        return next((k for k in found if k is not object and _python_class(k)), RemoteObject)

    @property
    def __signature__(self):
        """inspect.signature(proxy) gives the student's callable's signature."""
        import inspect
        try:
            params = self._request("signature", [self])
        except (RemoteError, ProtocolError):
            return None
        return inspect.Signature([
            inspect.Parameter(str(name), inspect._ParameterKind(int(kind)),
                              default=default if has_default else inspect.Parameter.empty)
            for name, kind, has_default, default in params])

    @property
    def __bases__(self):
        """issubclass(proxy_of_a_class, torch.nn.Module) works for a student's class."""
        is_class, found = self._local_mro()
        if not is_class:
            raise AttributeError("__bases__")
        return tuple(k for k in found[:1] if _python_class(k)) or (object,)

    def _request(self, op, args=(), kwargs=None, **fields):
        return object.__getattribute__(self, "_session").request(op, args, kwargs, **fields)

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__") and name not in (
                "__name__", "__qualname__", "__dict__", "__wrapped__", "__self__", "__func__"):
            raise AttributeError(name)
        return self._request("getattr", [self], name=name)

    def __setattr__(self, name, value):
        self._request("setattr", [self, value], name=name)

    def __delattr__(self, name):
        self._request("delattr", [self], name=name)

    def __call__(self, *args, **kwargs):
        return self._request("call", args, kwargs, target={"$": "ref", "id": self._id})

    def __repr__(self):
        try:
            return str(self._request("builtin", [self], name="repr"))
        except (RemoteError, KernelGone, ProtocolError):
            return f"<student {object.__getattribute__(self, '_type')}>"

    def __str__(self):
        return str(self._request("builtin", [self], name="str"))

    def __format__(self, spec):
        return str(self._request("builtin", [self, spec], name="format"))

    def __dir__(self):
        return list(self._request("builtin", [self], name="dir"))

    def __array__(self, dtype=None, copy=None):
        import numpy as np
        value = self._request("call", [self], target="numpy.asarray")
        return np.asarray(value, dtype=dtype)

    def __reduce_ex__(self, protocol):
        raise TypeError("a student's object cannot be pickled in a check")

    def __copy__(self):
        """copy.copy(proxy): a copy made in the kernel (a proxy of it)."""
        return object.__getattribute__(self, "_session").call_named("copy.copy", [self], {},
                                                                     keep=True)

    def __deepcopy__(self, memo):
        """copy.deepcopy(proxy): a deep copy made in the kernel (a proxy of it)."""
        return object.__getattribute__(self, "_session").call_named("copy.deepcopy", [self], {},
                                                                     keep=True)

    def __round__(self, ndigits=None):
        args = [self] if ndigits is None else [self, ndigits]
        return self._request("builtin", args, name="round")

    __len__ = _forward("builtin", "len")
    __iter__ = _forward("builtin", "iter")
    __next__ = _forward("builtin", "next")
    __bool__ = _forward("builtin", "bool")
    __hash__ = _forward("builtin", "hash")
    __float__ = _forward("builtin", "float")
    __int__ = _forward("builtin", "int")
    __complex__ = _forward("builtin", "complex")
    __abs__ = _forward("builtin", "abs")
    __index__ = _forward("operator", "index")
    __neg__ = _forward("operator", "neg")
    __pos__ = _forward("operator", "pos")
    __invert__ = _forward("operator", "invert")
    __getitem__ = _forward("operator", "getitem")
    __setitem__ = _forward("operator", "setitem")
    __delitem__ = _forward("operator", "delitem")
    __contains__ = _forward("operator", "contains")
    __lt__ = _forward("operator", "lt")
    __le__ = _forward("operator", "le")
    __eq__ = _forward("operator", "eq")
    __ne__ = _forward("operator", "ne")
    __gt__ = _forward("operator", "gt")
    __ge__ = _forward("operator", "ge")


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or",
              "xor", "lshift", "rshift"):
    _op = _name + "_" if _name in ("and", "or") else _name
    setattr(RemoteObject, f"__{_name}__", _forward("operator", _op))
    setattr(RemoteObject, f"__r{_name}__", _forward("operator", _op, reflected=True))
    if _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul"):
        setattr(RemoteObject, f"__i{_name}__", _forward("operator", "i" + _name))


LIBRARY_ROOTS = {"torch", "numpy", "builtins", "collections", "numbers", "typing"}


def _library_class(module: str, qualname: str):
    """The class module.qualname when it lives in a library module already loaded here, else
    None (a name the kernel sends never makes the oracle import anything)."""
    import sys
    obj = sys.modules.get(module)
    if module.split(".")[0] not in LIBRARY_ROOTS or "<" in qualname or obj is None:
        return None
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    return obj if isinstance(obj, type) else None


def _is_array(value) -> bool:
    import sys
    torch, np = sys.modules.get("torch"), sys.modules.get("numpy")
    return (torch is not None and isinstance(value, torch.Tensor)) or (
        np is not None and isinstance(value, np.ndarray))


_HEAP_TYPE = 1 << 9   # Py_TPFLAGS_HEAPTYPE: a class defined by a class statement


def _python_class(kind: type) -> bool:
    """A class a proxy may claim as its own: defined in Python (C code never casts it), and no
    tensor or array (those the oracle only accepts by value, rebuilt from bytes)."""
    import sys
    torch, np = sys.modules.get("torch"), sys.modules.get("numpy")
    if torch is not None and issubclass(kind, torch.Tensor):
        return False
    if np is not None and issubclass(kind, (np.ndarray, np.generic)):
        return False
    return bool(kind.__flags__ & _HEAP_TYPE)


def load_module(name: str, source: str, filename: str) -> types.ModuleType:
    """A module from its source text, not registered in sys.modules."""
    module = types.ModuleType(name)
    module.__file__ = filename
    exec(compile(source, filename, "exec"), module.__dict__)  # noqa: S102 (trusted course code)
    return module


class Oracle:
    """Serves the hidden checks of one submission's kernel and keeps their verdicts."""

    def __init__(self, sock: socket.socket, slug: str, checks: types.ModuleType,
                 reference: types.ModuleType, check_failed: type, student_code: str | None = None):
        self.sock, self.slug = sock, slug
        self.student_code = student_code   # the notebook's own code cells (compare.student_source)
        self.checks, self.reference, self.check_failed = checks, reference, check_failed
        self.verdicts: dict[str, list[tuple[str, str]]] = {}
        self.thread = threading.Thread(target=self._serve, name=f"oracle-{slug}", daemon=True)

    def start(self) -> "Oracle":
        self.thread.start()
        return self

    def stop(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(timeout=30)

    def verdict(self, names: list[str]) -> tuple[str, str]:
        """Combined verdict of checks: 'pass' only if each ran and every run passed."""
        for name in names:
            runs = self.verdicts.get(name)
            if not runs:
                return "not run", (f"the hidden test '{name}' never reported a result (it did "
                                   "not run, or was replaced)")
            for status, message in runs:
                if status != "pass":
                    return status, message
        return "pass", ""

    def _serve(self) -> None:
        while True:
            try:
                message, blobs = recv_frame(self.sock, MAX_FRAME)
            except (EOFError, OSError, ProtocolError, ValueError):
                return
            name = message.get("check")
            name = name if isinstance(name, str) and name.isidentifier() else "?"
            if message.get("op") != "check":
                return  # out of step: stop serving this kernel
            status, text = self._run(message, blobs, name)
            self.verdicts.setdefault(name, []).append((status, text))
            try:
                send_frame(self.sock, {"op": "verdict", "status": status, "message": text}, [])
            except OSError:
                return
            if status in ("gone", "broken"):
                return

    def _run(self, message: dict, blobs: list, name: str) -> tuple[str, str]:
        if message.get("slug") != self.slug:
            return "error", (f"this hidden test belongs to chapter '{message.get('slug')}', but "
                             f"the notebook is graded as '{self.slug}'")
        check = getattr(self.checks, f"check_{name}", None)
        if not callable(check):
            return "error", f"there is no hidden test named '{name}'"
        session = Session(self.sock)
        session.student_code = self.student_code
        try:
            args = session.codec.decode(message.get("args", []), blobs)
        except (ProtocolError, ValueError, KeyError, TypeError, IndexError):
            return "broken", "the kernel sent something the grader cannot read"
        seed = zlib.crc32(f"{self.slug}/{name}".encode())
        _seed_everything(seed)
        _LOCAL.session = session
        try:
            check(*args, reference=self.reference)
        except self.check_failed as failure:
            return "fail", str(failure)
        except StudentAborted as aborted:
            return "fail", str(aborted)
        except KernelGone:
            return "gone", "the kernel stopped while this hidden test ran"
        except ProtocolError:
            return "broken", "the kernel answered the grader out of turn"
        except RemoteError as err:
            return "fail", f"your code raised {type(err).__name__}: {err}"
        except Exception as err:  # noqa: BLE001 (a check that cannot handle the student's objects)
            info = exception_info(err)
            if "RemoteObject" in info["message"]:   # torch refused a proxy where it wants a tensor
                return "fail", ("your code returned an object that is not a plain tensor (a "
                                "sparse, meta or nested tensor, or another type): return an "
                                "ordinary dense tensor")
            return "error", (f"this hidden test could not run on your code ({info['type']}: "
                             f"{info['message'][:300]})")
        finally:
            _LOCAL.session = None
        return "pass", ""


def _seed_everything(seed: int) -> None:
    """The oracle's own random state, the same for a check on every run (repeatable grades)."""
    random.seed(seed)
    try:
        import numpy as np
        np.random.seed(seed)
    except ImportError:
        pass
    try:
        import torch
        torch.manual_seed(seed)
    except ImportError:
        pass


def student_code(notebook, chapter_notebook) -> str:
    """The code cells of a (repaired) submission that the chapter's student notebook does not
    have, verbatim: what the student wrote (answers and added cells), read from the notebook
    file, which the kernel cannot change. Cells are separated by a marker line."""
    given = {cell.source for cell in chapter_notebook.cells if cell.cell_type == "code"}
    return "\n# %% cell\n".join(cell.source for cell in notebook.cells
                                 if cell.cell_type == "code" and cell.source not in given)
