"""Comparison helpers for hidden checks: every failure is a sentence a student can act on."""
from __future__ import annotations

import zlib

import numpy as np
import torch


class CheckFailed(AssertionError):
    """A hidden check found a difference; the message says what and where."""


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
        fail(f"{what} raised {type(err).__name__}: {err}")


def as_tensor(name: str, value) -> torch.Tensor:
    """Accept tensors and array-likes; anything else is a clear failure."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    try:
        return torch.as_tensor(np.asarray(value))
    except Exception:  # noqa: BLE001
        fail(f"{name} should be a tensor, got {type(value).__name__}.")


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
