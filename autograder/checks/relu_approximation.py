"""Hidden checks for the ReLU-approximation chapter."""
from __future__ import annotations

import torch

from autograder.checks.compare import call, expect_close, expect_shape, fail, generator

ORDER_HINT = "Return the three tensors in the order (y_hat, relu_acts, x)."


def random_points(gen: torch.Generator, n: int, column: bool):
    """n sorted, distinct points in [-4, 4] and a smooth target that is 0 at the first point.

    Returns x_train, y_train of shape (n, 1) when column else (n,), float32.
    """
    x = torch.sort(torch.rand(n, generator=gen) * 8 - 4).values
    x = x + torch.arange(n) * 1e-3  # keep points distinct
    amp, freq, tilt = (torch.rand(3, generator=gen) * torch.tensor([2.0, 2.0, 1.0]) + 0.2).tolist()
    y = amp * torch.sin(freq * (x - x[0])) + tilt * (x - x[0])
    return (x.view(-1, 1), y.view(-1, 1)) if column else (x, y)


def cases(name: str, sizes=(2, 3, 7, 10, 25)):
    """Training sets of several sizes, as columns and as flat vectors."""
    gen = generator("relu_approximation", name)
    for n in sizes:
        for column in (True, False):
            x, y = random_points(gen, n, column)
            yield n, column, x, y


def unpack(result, what: str):
    if not isinstance(result, (tuple, list)) or len(result) != 3:
        fail(f"{what} should return three tensors (y_hat, relu_acts, x), got {type(result).__name__}"
             + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else "") + ".")
    return result


def check_approximate_function_shapes(approximate_function, *, reference):
    for n, column, x, y in cases("shapes"):
        what = f"approximate_function on {n} points of shape {tuple(x.shape)}"
        y_hat, relu_acts, grid = unpack(call(approximate_function, x, y, what=what), what)
        expect_shape("x (third output)", grid, (1000,), ORDER_HINT)
        expect_shape("relu_acts (second output)", relu_acts, (n - 1, 1000),
                     f"One ReLU per interval between consecutive points: {n} points give {n - 1}. "
                     + ORDER_HINT)
        if torch.as_tensor(y_hat).numel() != 1000:
            fail(f"y_hat (first output) should hold 1000 values (one per point of x), "
                 f"got shape {tuple(torch.as_tensor(y_hat).shape)}. Sum over the ReLUs, not over x.")


def check_approximate_function_values(approximate_function, *, reference):
    for n, column, x, y in cases("values"):
        what = f"approximate_function on {n} points of shape {tuple(x.shape)}"
        y_hat, relu_acts, grid = unpack(call(approximate_function, x, y, what=what), what)
        ref_y_hat, ref_acts, ref_grid = reference.approximate_function(x.clone(), y.clone())
        context = f" for {n} random points"
        expect_close("x (third output)", grid, ref_grid, context=context,
                     hint="x runs from min(x_train) to max(x_train) in 1000 steps.")
        expect_close("relu_acts (second output)", relu_acts, ref_acts, atol=1e-4, context=context,
                     hint="ReLU i is relu(x - x_train[i]): check the sign and index of the biases.")
        expect_close("y_hat (first output)", torch.as_tensor(y_hat).reshape(-1), ref_y_hat,
                     atol=1e-3, context=context,
                     hint="Each weight is the slope on the next interval minus the slope before it, "
                          "and y_hat sums weight * activation over all ReLUs.")
