"""``autograder.hidden`` as a grading kernel sees it: hidden tests ask the grader's oracle.

Inside a sandboxed grading kernel this file is the whole ``autograder`` package (it is copied
there as ``autograder/hidden.py``): the kernel never holds the hidden checks or the reference
solution. ``check(chapter, name, *objects)`` sends the student's objects to the oracle (a trusted
process outside the sandbox, reached through the inherited file descriptor ``$MLP_ORACLE_FD``):
values by value, everything else as a handle. The oracle runs ``check_<name>`` with proxies for
the handles; while it runs, this module serves its requests (call this function, get that
attribute, add these two objects, ...) on the real objects, then raises ``CheckFailed`` with the
oracle's message or returns. The oracle, not this module, records whether the check passed, so
replacing ``check`` or skipping the call earns nothing.

The wire format (also used by the oracle, which imports this module) is a frame of JSON plus
binary blobs; tensors and arrays travel as raw bytes with dtype and shape, never as pickles.
Standard library only, so it imports in any kernel; torch and numpy are used when loaded.
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

__all__ = ["check", "CheckFailed"]

MAGIC = b"MLPG"
HEADER = struct.Struct("!4sII")   # magic, JSON length, number of blobs
BLOB = struct.Struct("!Q")
MAX_FRAME = 256 * 2**20           # what the oracle accepts from a kernel
MAX_BLOBS = 100_000

TORCH_DTYPES = {"float16", "bfloat16", "float32", "float64", "complex64", "complex128", "int8",
                "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool"}
NUMPY_KINDS = set("biufc")        # bool, int, uint, float, complex: never objects
OPERATORS = {"add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "neg", "pos",
             "abs", "invert", "lt", "le", "eq", "ne", "gt", "ge", "getitem", "setitem", "delitem",
             "contains", "and_", "or_", "xor", "lshift", "rshift", "iadd", "isub", "imul",
             "itruediv", "ifloordiv", "imod", "ipow", "imatmul", "index", "truth"}
BUILTINS = {"len", "iter", "next", "repr", "str", "bool", "hash", "dir", "callable", "float",
            "int", "complex", "round", "format", "abs", "list", "tuple"}
ROOTS = {"torch", "numpy", "math", "random", "builtins", "collections", "itertools",
         "functools", "operator", "copy", "inspect", "__main__", "autograder"}
FORBIDDEN = {"eval", "exec", "compile", "open", "__import__", "breakpoint", "input"}


class CheckFailed(AssertionError):
    """A hidden check found a difference; the message says what and where."""


class ProtocolError(RuntimeError):
    """The other side sent something that is not a frame of this protocol."""


# --- wire format ---------------------------------------------------------------------------------

def send_frame(sock, message: dict, blobs: list) -> None:
    data = json.dumps(message, separators=(",", ":")).encode()
    parts = [HEADER.pack(MAGIC, len(data), len(blobs)), data]
    for blob in blobs:
        parts += [BLOB.pack(len(blob)), blob]
    sock.sendall(b"".join(parts))


def _read_exact(sock, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise EOFError("connection closed")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def recv_frame(sock, limit: int | None = None) -> tuple[dict, list]:
    magic, length, count = HEADER.unpack(_read_exact(sock, HEADER.size))
    if magic != MAGIC or count > MAX_BLOBS or (limit and length > limit):
        raise ProtocolError("not a frame of the grading protocol")
    message = json.loads(_read_exact(sock, length))
    total, blobs = length, []
    for _ in range(count):
        (size,) = BLOB.unpack(_read_exact(sock, BLOB.size))
        total += size
        if limit and total > limit:
            raise ProtocolError(f"frame larger than {limit >> 20} MiB")
        blobs.append(_read_exact(sock, size))
    if not isinstance(message, dict):
        raise ProtocolError("a frame must hold a JSON object")
    return message, blobs


class Codec:
    """Values to JSON + blobs and back. ``to_ref(obj)`` and ``from_ref(msg)`` deal with what does
    not travel by value (a handle id in the kernel, a proxy in the oracle)."""

    def __init__(self, to_ref=None, from_ref=None, ref_types=(), identity=None, intern=None):
        self.to_ref = to_ref
        self.from_ref = from_ref
        self.ref_types = tuple(ref_types)  # always sent as references (proxies: never isinstance'd)
        self.identity = identity           # tensor -> stable id while it lives (kernel side)
        self.intern = intern               # (id, fresh tensor) -> the same local object (oracle side)

    # encoding
    def encode(self, value, blobs: list, depth: int = 0):
        if depth > 64:
            raise ValueError("value nested too deeply to send")
        kind = type(value)
        if kind in self.ref_types:
            return self.to_ref(value)
        if value is None or kind in (bool, str, int, float):
            return value
        if kind in (list, tuple, set, frozenset):
            items = [self.encode(v, blobs, depth + 1) for v in value]
            return items if kind is list else {"$": kind.__name__, "v": items}
        if issubclass(kind, dict) and kind.__module__ in ("builtins", "collections"):
            return {"$": "dict", "v": [[self.encode(k, blobs, depth + 1),
                                        self.encode(v, blobs, depth + 1)] for k, v in value.items()]}
        if kind is complex:
            return {"$": "complex", "v": [value.real, value.imag]}
        if kind in (bytes, bytearray):
            blobs.append(bytes(value))
            return {"$": "bytes", "b": len(blobs) - 1}
        if kind is slice:
            return {"$": "slice", "v": [self.encode(v, blobs, depth + 1)
                                        for v in (value.start, value.stop, value.step)]}
        if value is Ellipsis:
            return {"$": "ellipsis"}
        encoded = self._encode_library(value, blobs)
        if encoded is not None:
            return encoded
        if self.to_ref is None:
            raise TypeError(f"cannot send a {kind.__name__} by value")
        return self.to_ref(value)

    def _encode_library(self, value, blobs):
        torch = sys.modules.get("torch")
        if torch is not None:
            if isinstance(value, torch.Tensor):
                encoded = self._encode_tensor(torch, value, blobs)
                if encoded is not None and self.identity is not None:
                    encoded["id"] = self.identity(value)
                return encoded
            if isinstance(value, torch.Size):
                return {"$": "size", "v": [int(v) for v in value]}
            if isinstance(value, torch.dtype):
                return {"$": "dtype", "v": str(value).replace("torch.", "")}
            if isinstance(value, torch.device):
                return {"$": "device", "v": str(value)}
        np = sys.modules.get("numpy")
        if np is not None:
            if isinstance(value, np.ndarray) and value.dtype.kind in NUMPY_KINDS:
                data = np.ascontiguousarray(value)
                blobs.append(data.tobytes())
                return {"$": "ndarray", "dtype": data.dtype.str, "shape": list(data.shape),
                        "b": len(blobs) - 1}
            if isinstance(value, np.generic) and value.dtype.kind in NUMPY_KINDS:
                blobs.append(value.tobytes())
                return {"$": "npscalar", "dtype": value.dtype.str, "b": len(blobs) - 1}
            if isinstance(value, np.dtype) and value.kind in NUMPY_KINDS:
                return {"$": "npdtype", "v": value.str}
        return None

    @staticmethod
    def _encode_tensor(torch, tensor, blobs):
        name = str(tensor.dtype).replace("torch.", "")
        if name not in TORCH_DTYPES or tensor.layout != torch.strided or tensor.is_quantized:
            return None
        data = tensor.detach().cpu().resolve_conj().resolve_neg().contiguous()
        data = data.as_subclass(torch.Tensor)
        blobs.append(data.reshape(-1).view(torch.uint8).numpy().tobytes() if data.numel() else b"")
        return {"$": "tensor", "dtype": name, "shape": list(data.shape), "b": len(blobs) - 1,
                "grad": bool(tensor.requires_grad)}

    # decoding
    def decode(self, value, blobs: list, depth: int = 0):
        if depth > 64:
            raise ProtocolError("value nested too deeply")
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, list):
            return [self.decode(v, blobs, depth + 1) for v in value]
        if not isinstance(value, dict):
            raise ProtocolError("unknown value")
        tag = value.get("$")
        items = lambda: [self.decode(v, blobs, depth + 1) for v in value["v"]]  # noqa: E731
        if tag == "tuple":
            return tuple(items())
        if tag == "set":
            return set(items())
        if tag == "frozenset":
            return frozenset(items())
        if tag == "dict":
            return {self.decode(k, blobs, depth + 1): self.decode(v, blobs, depth + 1)
                    for k, v in value["v"]}
        if tag == "complex":
            return complex(float(value["v"][0]), float(value["v"][1]))
        if tag == "bytes":
            return bytes(blobs[value["b"]])
        if tag == "slice":
            return slice(*items())
        if tag == "ellipsis":
            return Ellipsis
        if tag in ("tensor", "size", "dtype", "device"):
            decoded = self._decode_torch(tag, value, blobs)
            if tag == "tensor" and self.intern is not None and isinstance(value.get("id"), int):
                decoded = self.intern(value["id"], decoded)
            return decoded
        if tag in ("ndarray", "npscalar", "npdtype"):
            return self._decode_numpy(tag, value, blobs)
        if tag == "ref":
            if self.from_ref is None:
                raise ProtocolError("unexpected reference")
            return self.from_ref(value)
        raise ProtocolError(f"unknown tag {tag!r}")

    @staticmethod
    def _decode_torch(tag, value, blobs):
        import torch
        if tag == "size":
            return torch.Size([int(v) for v in value["v"]])
        if tag == "device":
            return torch.device(str(value["v"]))
        name = str(value.get("dtype") if tag == "tensor" else value["v"])
        if name not in TORCH_DTYPES:
            raise ProtocolError(f"dtype {name!r} is not accepted")
        dtype = getattr(torch, name)
        if tag == "dtype":
            return dtype
        shape = [int(v) for v in value["shape"]]
        if any(v < 0 for v in shape):
            raise ProtocolError("negative shape")
        blob = blobs[value["b"]]
        numel = 1
        for v in shape:
            numel *= v
        if len(blob) != numel * torch.empty((), dtype=dtype).element_size():
            raise ProtocolError("tensor size does not match its data")
        if numel == 0:
            tensor = torch.empty(shape, dtype=dtype)
        else:
            tensor = torch.frombuffer(bytearray(blob), dtype=torch.uint8).view(dtype).reshape(shape)
        if value.get("grad") and (tensor.is_floating_point() or tensor.is_complex()):
            tensor.requires_grad_(True)
        return tensor

    @staticmethod
    def _decode_numpy(tag, value, blobs):
        import numpy as np
        dtype = np.dtype(str(value["v"] if tag == "npdtype" else value["dtype"]))
        if dtype.kind not in NUMPY_KINDS or dtype.fields is not None or dtype.subdtype is not None:
            raise ProtocolError(f"dtype {dtype} is not accepted")
        if tag == "npdtype":
            return dtype
        blob = blobs[value["b"]]
        if tag == "npscalar":
            if len(blob) != dtype.itemsize:
                raise ProtocolError("scalar size does not match its data")
            return np.frombuffer(blob, dtype=dtype)[0]
        shape = tuple(int(v) for v in value["shape"])
        if any(v < 0 for v in shape) or len(blob) != int(np.prod(shape, dtype=np.int64)) * dtype.itemsize:
            raise ProtocolError("array size does not match its data")
        return np.frombuffer(blob, dtype=dtype).reshape(shape).copy()


def exception_info(err: BaseException) -> dict:
    """What the other side needs to raise a matching exception: name, builtin bases, message."""
    bases = [k.__name__ for k in type(err).__mro__
             if k.__module__ == "builtins" and issubclass(k, BaseException)]
    try:
        message = str(err)
    except Exception:  # noqa: BLE001 (a student's exception may fail to print)
        message = "(unprintable message)"
    return {"type": type(err).__name__[:200], "bases": bases, "message": message[:4000]}


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
