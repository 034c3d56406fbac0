"""Hidden checks for the ReLU-approximation chapter.

Every message names one mistake: the outputs are first identified by their shapes (so that a
wrong return order is called a wrong order, not a wrong bias), then wrong activations are matched
against the usual slips (the sign of the biases, biases taken one point late) before the generic
hint is given.
"""
from __future__ import annotations

import itertools

import torch

from autograder.checks.compare import as_tensor, call, expect_close, fail, generator

ORDER_HINT = "Return the three tensors in the order (y_hat, relu_acts, x)."
NAMES = ("y_hat (first output)", "relu_acts (second output)", "x (third output)")


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
    return [as_tensor(name, value) for name, value in zip(NAMES, result)]


def is_y_hat(t: torch.Tensor) -> bool:
    return t.numel() == 1000 and t.dim() <= 2


def expect_outputs(result, n: int, what: str):
    """The three outputs, with shapes that say which is which: a wrong order is named as such,
    and each other shape mistake by what that output should hold."""
    y_hat, relu_acts, grid = outputs = unpack(result, what)
    shapes = [tuple(t.shape) for t in outputs]

    def right(first, second, third) -> bool:
        return is_y_hat(first) and tuple(second.shape) == (n - 1, 1000) and tuple(third.shape) == (1000,)

    if not right(*outputs) and any(right(*(outputs[i] for i in order))
                                   for order in itertools.permutations(range(3))):
        fail(f"{what} returned tensors of shapes {shapes}: the right outputs, in another order. "
             f"{ORDER_HINT}")
    if shapes[2] != (1000,):
        if grid.dim() == 1:
            fail(f"x (third output) should hold 1000 evenly spaced points, got shape {shapes[2]} "
                 f"({what}).")
        fail(f"x (third output) should have shape (1000,), got {shapes[2]} ({what}). {ORDER_HINT}")
    if shapes[1] != (n - 1, 1000):
        rows = shapes[1][0] if len(shapes[1]) == 2 and shapes[1][1] == 1000 else None
        if rows is not None:
            fail(f"relu_acts (second output) should have shape {(n - 1, 1000)}, got {shapes[1]} "
                 f"({what}): one ReLU per interval between consecutive training points, so "
                 f"{n} points give {n - 1} ReLUs, not {rows}.")
        fail(f"relu_acts (second output) should have shape {(n - 1, 1000)} (one row per ReLU, one "
             f"column per point of x), got {shapes[1]} ({what}).")
    if not is_y_hat(y_hat):
        fail(f"y_hat (first output) should hold 1000 values (one per point of x), got shape "
             f"{shapes[0]} ({what}). Sum over the ReLUs (the rows of relu_acts), not over x.")
    return y_hat, relu_acts, grid


def check_approximate_function_shapes(approximate_function, *, reference):
    for n, column, x, y in cases("shapes"):
        what = f"approximate_function on {n} points of shape {tuple(x.shape)}"
        expect_outputs(call(approximate_function, x, y, what=what), n, what)


def relu_hint(relu_acts, grid, x) -> str:
    """Name the slip that the activations show, if it is a known one."""
    xs = x.reshape(-1).double()
    acts = relu_acts.double()
    grid = grid.double()
    if torch.allclose(acts, torch.relu(grid[None, :] + xs[:-1, None]), atol=1e-4):
        return ("ReLU i should be relu(x - x_train[i]), zero left of x_train[i]: check the sign "
                "of the biases (b = -x_train[...]).")
    if torch.allclose(acts, torch.relu(grid[None, :] - xs[1:, None]), atol=1e-4):
        return ("ReLU i bends at x_train[i + 1], one point late: ReLU i should bend at x_train[i], "
                "so the biases come from the first N - 1 points, -x_train[:-1].")
    return ("ReLU i should be relu(x - x_train[i]): zero left of x_train[i], slope 1 to its right, "
            "one ReLU for each of the first N - 1 points.")


def check_approximate_function_values(approximate_function, *, reference):
    for n, column, x, y in cases("values"):
        what = f"approximate_function on {n} points of shape {tuple(x.shape)}"
        y_hat, relu_acts, grid = expect_outputs(call(approximate_function, x, y, what=what), n, what)
        ref_y_hat, ref_acts, ref_grid = reference.approximate_function(x.clone(), y.clone())
        context = f" for {n} random points"
        expect_close("x (third output)", grid, ref_grid, context=context,
                     hint="x should run from min(x_train) to max(x_train) in 1000 evenly spaced steps.")
        expect_close("relu_acts (second output)", relu_acts, ref_acts, atol=1e-4, context=context,
                     hint=relu_hint(relu_acts, grid, x))
        expect_close("y_hat (first output)", y_hat.reshape(-1), ref_y_hat,
                     atol=1e-3, context=context,
                     hint="Each weight is the change of slope at its point: the slope on the next "
                          "interval minus the slope on the interval before it. y_hat is the sum of "
                          "weight * activation over all ReLUs.")
