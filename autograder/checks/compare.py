"""Comparison helpers for hidden checks: every failure is a sentence a student can act on."""
from __future__ import annotations

import re
import zlib

import numpy as np
import torch

from autograder.sandbox.protocol import CheckFailed  # noqa: F401 (one type in process and in the kernel)


def fail(message: str):
    raise CheckFailed(message)


def generator(*labels: str) -> torch.Generator:
    """A private torch generator seeded from the labels: the same inputs on every grading run,
    fresh compared with the visible tests, and the student's own random state is untouched."""
    gen = torch.Generator()
    gen.manual_seed(zlib.crc32("/".join(labels).encode()))
    return gen


def call(student, *args, what: str, **kwargs):
    """Call student code; an exception becomes a CheckFailed naming the call and the inputs."""
    try:
        return student(*args, **kwargs)
    except CheckFailed:
        raise
    except NotImplementedError:
        fail(f"{what} is not implemented yet (it raised NotImplementedError).")
    except Exception as err:  # noqa: BLE001 (any error in student code is reported, not raised)
        fail(f"{what} raised {type(err).__name__}: {err}{explain(err)}")


_MATMUL = re.compile(r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)")


_BROADCAST = re.compile(r"The size of tensor a \((\d+)\) must match the size of tensor b \((\d+)\) "
                        r"at non-singleton dimension (\d+)")


_RESHAPE = re.compile(r"shape '\[([^\]]*)\]' is invalid for input of size (\d+)")


def explain(err) -> str:
    """What PyTorch's error means for the student's code, with the shapes involved ('' when it
    is not one of the errors students meet most)."""
    text = str(err)
    match = _MATMUL.search(text)
    if match:
        rows, cols, inner, out = match.groups()
        return (f". A linear layer (or matrix product) got inputs of shape ({rows}, {cols}), {cols} "
                f"features per row, but its weight expects {inner}: check the width of what reaches "
                "each layer (the input reshaped to (batch, input features), and each layer taking "
                "the previous layer's output width).")
    if "must have the same dtype" in text or "expected scalar type" in text.lower() \
            or "expected m1 and m2 to have the same dtype" in text:
        return (". Two tensors of different dtypes met (e.g. float32 weights and a float64 input): "
                "keep the dtype you are given; do not create tensors of another dtype or convert "
                "the input.")
    match = _BROADCAST.search(text)
    if match:
        a, b, dim = match.groups()
        return (f". Two tensors whose sizes ({a} and {b} in dimension {dim}) do not broadcast met: "
                "print the shape of each intermediate result; a reduction (max, sum, argmax) over "
                "the wrong dim, or one without keepdim=True whose result meets the rows again, "
                "gives such shapes.")
    match = _RESHAPE.search(text)
    if match:
        shape, size = match.groups()
        return (f". A reshape (or view) to [{shape}] got {size} values, which that shape cannot "
                "hold: check how many values the tensor has before it (torch.bincount, for one, "
                "returns max + 1 counts unless minlength is given).")
    if "Module.__init__() call" in text:
        return (". Call super().__init__() first in __init__, before assigning any layer or "
                "parameter to self.")
    if "Expected all tensors to be on the same device" in text:
        return ". Create new tensors on the input's device (device=x.device)."
    return ""


def as_tensor(name: str, value) -> torch.Tensor:
    """Accept tensors and array-likes; anything else is a clear failure. Under the grader a
    student's tensor arrives by value, as a plain dense tensor rebuilt from its bytes; one that
    cannot (sparse, meta, nested ...) stays a proxy, and is refused here."""
    if is_remote(value):
        fail(f"{name} should be a plain dense tensor (or numbers), got {type_name(value)} "
             f"({_layout(value)}): return an ordinary tensor, e.g. with .to_dense().")
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    try:
        return torch.as_tensor(np.asarray(value))
    except Exception:  # noqa: BLE001
        fail(f"{name} should be a tensor, got {type(value).__name__}.")


def _layout(proxy) -> str:
    try:
        return f"layout {in_student_kernel('builtins.str', proxy.layout)}, device {proxy.device}"
    except Exception:  # noqa: BLE001 (whatever the student's object is)
        return "not a tensor the grader can read"


def expect_shape(name: str, got, shape: tuple, hint: str = "") -> torch.Tensor:
    got = as_tensor(name, got)
    if tuple(got.shape) != tuple(shape):
        fail(f"{name} should have shape {tuple(shape)}, got {tuple(got.shape)}. {hint}".strip())
    return got


def expect_close(name: str, got, expected, *, atol: float = 1e-5, rtol: float = 1e-4,
                 context: str = "", hint: str = "") -> None:
    """Values must match the reference; the message gives the largest gap and where it is."""
    expected = as_tensor(f"reference {name}", expected).double()
    got = expect_shape(name, got, tuple(expected.shape), hint).double()
    gap = (got - expected).abs()
    bad = gap > atol + rtol * expected.abs()
    if torch.isnan(got).any() and not torch.isnan(expected).any():
        fail(f"{name} contains NaN{context}. {hint}".strip())
    if bad.any():
        where = tuple(int(i) for i in np.unravel_index(int(torch.argmax(gap)), tuple(gap.shape)))
        fail(f"{name} is wrong{context}: at index {where} it is {got[where].item():.6g} but should be "
             f"{expected[where].item():.6g} ({int(bad.sum())} of {bad.numel()} values off). {hint}".strip())


# --- Student objects that live in another process ---------------------------------------------------
# Under the grader a check runs in the oracle, outside the student's kernel: the student's objects
# are proxies (autograder.sandbox.oracle.RemoteObject) and whatever the check passes to them travels
# by value (tensors, arrays, numbers, strings, lists/tuples/dicts of those). Objects the student's
# code needs that are not values (a model, a DataLoader, an optimizer, a loss module) are built in
# the student's kernel with in_student_kernel. In-process (tests, stock nbgrader) the same helpers
# act locally, so a check reads the same either way.

def _oracle_session():
    from autograder.sandbox.oracle import current_session
    return current_session()


def _resolve(name: str):
    import importlib
    import sys
    parts = name.split(".")
    if parts[0] == "__main__":
        obj, rest = sys.modules["__main__"], parts[1:]
    else:
        for cut in range(len(parts), 0, -1):
            try:
                obj, rest = importlib.import_module(".".join(parts[:cut])), parts[cut:]
                break
            except ImportError:
                continue
        else:
            raise LookupError(f"no module for {name}")
    for part in rest:
        obj = getattr(obj, part)
    return obj


def in_student_kernel(name: str, *args, **kwargs):
    """Call ``name`` (a dotted path under torch, numpy, math, random, builtins, collections,
    itertools, functools, operator, copy, or ``__main__`` for the notebook's own names) where the
    student's objects live, e.g. ``in_student_kernel("torch.utils.data.DataLoader", dataset,
    batch_size=8)``. Arguments and results follow the proxy rules above."""
    session = _oracle_session()
    if session is not None:
        return session.call_named(name, args, kwargs)
    return _resolve(name)(*args, **kwargs)


def in_student_kernel_ref(name: str, *args, **kwargs):
    """Like in_student_kernel, but the result stays in the student's kernel, even a tensor: a
    proxy to pass to student code by reference (to see it mutated in place, or to keep autograd's
    graph: ``x = in_student_kernel_ref("torch.tensor", values, requires_grad=True)``)."""
    session = _oracle_session()
    if session is not None:
        return session.call_named(name, args, kwargs, keep=True)
    return _resolve(name)(*args, **kwargs)


def call_ref(student, *args, **kwargs):
    """Call student code and keep its result where it lives (a proxy under the grader), e.g.
    ``loss = call_ref(cross_entropy_loss, x, labels); loss.backward(); fetch(x.grad)``.
    Exceptions are raised as by a plain call (wrap in ``call`` semantics yourself if needed)."""
    session = _oracle_session()
    if session is not None and is_remote(student):
        return session.call_keep(student, args, kwargs)
    return student(*args, **kwargs)


def fetch(obj):
    """The value of a proxy (a tensor, number, list ...) here; anything else is returned as is."""
    session = _oracle_session()
    if session is not None and is_remote(obj):
        return session.fetch(obj)
    return obj


def seed_student_kernel(seed: int) -> None:
    """Seed torch, numpy and random where the student's code runs (before building a model)."""
    in_student_kernel("torch.manual_seed", seed)
    in_student_kernel("numpy.random.seed", seed)
    in_student_kernel("random.seed", seed)


def is_remote(obj) -> bool:
    """True for a proxy of an object in the student's kernel."""
    from autograder.sandbox.oracle import RemoteObject
    return isinstance(obj, RemoteObject)


def is_instance(obj, qualname: str) -> bool:
    """``isinstance(obj, <class named qualname>)``, e.g. ``is_instance(model, "torch.nn.Module")``,
    asked where obj lives."""
    session = _oracle_session()
    if session is not None and is_remote(obj):
        return session.isinstance_of(obj, qualname)
    return isinstance(obj, _resolve(qualname))


def type_name(obj) -> str:
    """The class name of obj (of the real object, for a proxy), for messages."""
    session = _oracle_session()
    if session is not None and is_remote(obj):
        return session.type_of(obj)[1]
    return type(obj).__name__


# --- The student's own code, as the grader read it from the notebook ------------------------------
# What a check may know about *how* the student's code works comes from the graded notebook (the
# code cells the chapter does not have), which the grader holds, never from the kernel: there a
# student can redefine or replace anything. Checks measure behaviour on their own objects; this is
# for the rare rule that behaviour cannot show (e.g. "do not call the built-in").

DYNAMIC_NAMES = {"getattr", "eval", "exec", "compile", "__import__", "import_module", "vars",
                 "globals", "locals", "attrgetter", "methodcaller", "__dict__", "__getattribute__",
                 "DisableTorchFunction", "DisableTorchFunctionSubclass", "TorchFunctionMode",
                 "TorchDispatchMode", "_pop_mode", "_push_mode", "__torch_function__",
                 "__torch_dispatch__", "setattr", "__builtins__", "builtins", "sys", "importlib"}
DYNAMIC_ATTRIBUTES = {"_C", "ops", "_ops", "overrides", "_VF", "modules"}


def student_source() -> str | None:
    """The student's own code cells of the graded notebook, joined; None when unknown (in-process
    runs, where the check holds the real objects instead)."""
    session = _oracle_session()
    return getattr(session, "student_code", None) if session is not None else None


def parsed_cells(source: str) -> list:
    """The syntax trees of the student's cells (:func:`student_source`); cells that do not parse
    are skipped (they did not run either)."""
    import ast
    trees = []
    for cell in source.split("\n# %% cell\n"):
        try:
            trees.append(ast.parse(cell))
        except SyntaxError:
            continue
    return trees


def forbidden_names(source: str, names: set[str]) -> list[str]:
    """The names from ``names``, and the ways of reaching a function by a computed name, that the
    code uses (as a name, an attribute, an import or a string naming one)."""
    import ast
    found = set()
    for tree in parsed_cells(source):
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id in names | DYNAMIC_NAMES:
                found.add(node.id)
            elif isinstance(node, ast.Attribute) and node.attr in names | DYNAMIC_NAMES | DYNAMIC_ATTRIBUTES:
                found.add(node.attr)
            elif isinstance(node, ast.alias):
                found |= {part for part in node.name.split(".") + [node.asname or ""]
                          if part in names | DYNAMIC_NAMES | DYNAMIC_ATTRIBUTES}
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and node.value.strip() in names:
                found.add(node.value.strip())
    return sorted(found)
