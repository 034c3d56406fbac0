"""Run a hidden check the way the grader does, without a notebook: for check authors' tests.

``check(chapter, name, *objects)`` has the signature of :func:`autograder.hidden.check`, but the
check runs in an :class:`~autograder.sandbox.oracle.Oracle` thread on *proxies* of the objects,
which stay in the calling thread and are served over a socket pair by the kernel-side client
(:mod:`autograder.sandbox.kernel_client`), exactly as in a grading kernel. A check that passes
here for the catalog's correct answers and fails for its wrong ones behaves the same under the
grader; one that only works in-process (it mutates a copy of a student's tensor, passes an
object of its own to student code, takes ``id()`` of student objects ...) fails here.

Raises :class:`autograder.checks.compare.CheckFailed` with the message a student would see.
"""
from __future__ import annotations

import socket

from core import paths

from . import kernel_client
from .oracle import Oracle, load_module
from .protocol import CheckFailed

_MODULES: dict = {}


def _modules(chapter: str):
    checks_path, reference_path = paths.CHECKS / f"{chapter}.py", paths.SOLUTIONS / f"{chapter}.py"
    key = (chapter, checks_path.stat().st_mtime_ns, reference_path.stat().st_mtime_ns)
    if key not in _MODULES:
        _MODULES[key] = (load_module(f"_checks_{chapter}", checks_path.read_text(), str(checks_path)),
                         load_module(f"_reference_{chapter}", reference_path.read_text(),
                                     str(reference_path)))
    return _MODULES[key]


def check(chapter: str, name: str, *student_objects, namespace: dict | None = None,
          source: str | None = None) -> None:
    """Run check_<name> through the oracle on proxies of ``student_objects`` (see module doc).

    ``namespace`` stands for the notebook's namespace (where ``in_student_kernel("__main__.X")``
    looks X up); by default the globals of the first student function passed, as in a notebook. The random state of this process is put
    back afterwards (the oracle seeds its own, which here is this process's). ``source`` stands
    for the student's own code cells (the grader reads them from the notebook)."""
    import random

    import numpy as np
    import torch
    checks, reference = _modules(chapter)
    ours, theirs = socket.socketpair()
    states = random.getstate(), np.random.get_state(), torch.get_rng_state()
    if namespace is None:  # a notebook's functions see the notebook's names: so here
        namespace = next((obj.__globals__ for obj in student_objects
                          if isinstance(getattr(obj, "__globals__", None), dict)), None)
    saved, kernel_client.NAMESPACE = kernel_client.NAMESPACE, namespace
    oracle = Oracle(ours, chapter, checks, reference, CheckFailed, source).start()
    try:
        kernel_client.run_check(theirs, chapter, name, student_objects)
    except kernel_client.CheckFailed as failure:
        raise CheckFailed(str(failure)) from None
    finally:
        theirs.close()
        oracle.stop()
        kernel_client.NAMESPACE = saved
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.set_rng_state(states[2])
