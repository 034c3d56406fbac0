"""The oracle's wire protocol: frames of JSON plus binary blobs, and the codec of values.

Both ends use it: the oracle (:mod:`autograder.sandbox.oracle`, outside the sandbox) and the
kernel-side client (:mod:`autograder.sandbox.kernel_client`, which a grading kernel imports as
``autograder.hidden``; this file goes into the kernel beside it, as
``autograder/sandbox/protocol.py``). Tensors and arrays travel as raw bytes with dtype and
shape, never as pickles; what does not travel by value is a reference the codec's callbacks
make. Standard library only, so it imports in any kernel; torch and numpy are used when loaded.
"""
from __future__ import annotations

import json
import struct
import sys

MAGIC = b"MLPG"
HEADER = struct.Struct("!4sII")   # magic, JSON length, number of blobs
BLOB = struct.Struct("!Q")
MAX_FRAME = 256 * 2**20           # what the oracle accepts from a kernel
MAX_BLOBS = 100_000

TORCH_DTYPES = {"float16", "bfloat16", "float32", "float64", "complex64", "complex128", "int8",
                "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool"}
NUMPY_KINDS = set("biufc")        # bool, int, uint, float, complex: never objects
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
