"""Hidden checks for the cross-entropy chapter: ``cross_entropy_loss(x, labels)``.

Three checks, so that an answer loses only what it gets wrong:

- values: random batches of ordinary logits (any shape, a single sample, float32 and float64):
  the batch average as a tensor in x's dtype, equal to the reference, with the right gradient
  (computed by autograd where the student's code runs), and the input left unchanged (an
  in-place change of x shows in-process, and as an autograd error under the grader). The
  original tutorial's answer (a loop and the direct formula) passes this one;
- stable: logits of size 100 to 10,000, rows far apart, all-negative rows: finite and equal;
- vectorised: the time per sample must not grow like a Python loop over the samples (timed from
  where the check runs, the best of three: nothing in the student's kernel can fake being fast),
  and the built-in loss must not be called: under the grader the student's own code (the cells
  the chapter does not have, from the graded notebook, never from the kernel) must not name it
  or reach functions by a computed name (getattr, eval, torch._C, torch.ops, modes switched
  off ...); in-process (tests) the operations are also counted, by a TorchFunctionMode here.

Tolerance: 1e-6 in float64; in float32, 1e-6 times the size of the largest logit (at least 1e-6),
the accuracy that float32 arithmetic on such numbers allows (m + log(sum) - x[label] loses the
digits of a logit of 1000). The reference is computed in float64.
"""
from __future__ import annotations

import time

import torch
from torch.overrides import TorchFunctionMode

from autograder.checks.compare import (CheckFailed, as_tensor, call, expect_close, fail,
                                       forbidden_names, generator, in_student_kernel, is_remote,
                                       student_source)

SLUG = "cross_entropy"
BUILTINS = ("cross_entropy", "nll_loss")


def devices() -> list[str]:
    """The CPU, plus CUDA where a GPU is visible (never on the grading machine)."""
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def random_batch(gen, n: int, c: int, scale: float, dtype, device="cpu"):
    x = (torch.randn(n, c, generator=gen, dtype=torch.float64) * scale).to(device=device, dtype=dtype)
    labels = torch.randint(0, c, (n,), generator=gen).to(device)
    return x, labels


def describe(x: torch.Tensor, scale=None) -> str:
    kind = str(x.dtype).replace("torch.", "")
    size = f", logits of size about {scale:g}" if scale is not None else ""
    where = "" if x.device.type == "cpu" else f" on {x.device.type}"
    return f" for logits of shape {tuple(x.shape)} ({kind}{where}{size})"


def tolerance(x: torch.Tensor) -> float:
    """1e-6 in float64; in float32 (about 7 significant digits) 1e-6 times the largest logit."""
    if x.dtype == torch.float64:
        return 1e-6
    return 1e-6 * max(1.0, float(x.detach().abs().max()))


def compare(student, reference, x, labels, context: str, hint: str, grad: bool = False):
    """Run the student's function on (x, labels) and compare with the reference; with grad,
    compare the gradient with respect to x too (computed by autograd where the student's code
    runs: under the grader that is the student's kernel, which only sends values back)."""
    x_in = x.clone()
    out = call(student, x_in, labels.clone(), what=f"cross_entropy_loss{context}")
    if not isinstance(out, torch.Tensor):
        fail(f"cross_entropy_loss should return a tensor (e.g. losses.mean()), got "
             f"{type(out).__name__}{context}: training calls .backward() on it.")
    if out.numel() != 1:
        fail(f"cross_entropy_loss should return one number, the average over the batch, got a "
             f"tensor of shape {tuple(out.shape)}{context}. Average the per-sample losses with .mean().")
    if not torch.equal(x_in, x):  # seen in-process only: under the grader x_in is a copy
        fail(f"cross_entropy_loss should leave its input x unchanged{context}, but x was modified: "
             "write x - m, not x -= m (in-place operations change the caller's logits).")
    if out.dtype != x.dtype:
        fail(f"cross_entropy_loss should return a {x.dtype} loss{context}, got {out.dtype}: compute in "
             "the dtype of x (no .float(), no new tensors of the default dtype).")
    if out.device != x.device:
        fail(f"cross_entropy_loss should return its loss on {x.device}{context}, got {out.device}: "
             "create index tensors on x.device.")
    ref_x = x.detach().double().cpu().requires_grad_(grad)
    expected = reference.cross_entropy_loss(ref_x, labels.cpu())
    if not torch.isfinite(out).all():
        fail(f"cross_entropy_loss should give {expected.item():.6g}{context}, but it gives "
             f"{out.reshape(-1)[0].item()}. {hint}")
    got, want = out.detach().reshape(()).double().cpu().item(), expected.item()
    if not abs(got - want) <= tolerance(x):
        fail(f"the loss is wrong{context}: it is {got:.8g} but should be {want:.8g}"
             f"{diagnose(got, x, labels)}. {hint}")
    if grad:
        gradient = student_gradient(student, x, labels, context)
        if gradient is None:
            return
        expected.backward()
        if not gradient.abs().any() and ref_x.grad.abs().any():
            fail(f"the loss should depend on x through autograd{context}, but its gradient is zero: "
                 "use tensor operations only (no .item(), .tolist(), .detach() or "
                 "torch.tensor(...) of intermediate results).")
        expect_close("the gradient of the loss with respect to x", gradient, ref_x.grad,
                     atol=1e-6, rtol=1e-4, context=context,
                     hint="The loss should be built from x with differentiable tensor operations.")


def diagnose(got: float, x: torch.Tensor, labels: torch.Tensor) -> str:
    """What a wrong loss is, where it is what a common mistake gives ('' otherwise): the values
    of the mistakes are computed here, in float64, from the same logits."""
    x = x.detach().double().cpu()
    labels = labels.cpu()
    n = x.shape[0]
    m = x.max(dim=1).values
    log_sum_exp = torch.logsumexp(x, dim=1)
    right = log_sum_exp - x[torch.arange(n), labels]
    mistakes = [
        (right.sum(), ": it is the sum over the batch, N times the mean; average the per-sample "
                      "losses (.mean()), do not sum them"),
        (-right.mean(), ": it has the wrong sign; each sample's loss is the log-sum-exp minus the "
                        "true-class logit, which is never negative"),
        ((right - m).mean(), ": it misses the row maximum m that the shift took out; add m back "
                             "after the log, log(sum(exp(x))) = m + log(sum(exp(x - m)))"),
        (log_sum_exp.mean() - x[:, labels].mean(),
         ": it uses x[:, labels], a whole column per label (shape (N, N)); take one logit per "
         "sample, x[torch.arange(N), labels]"),
    ]
    for value, why in mistakes:
        if n > 1 and abs(got - float(value)) <= 1e-5 * max(1.0, abs(float(value))):
            return why
    return ""


def student_gradient(student, x, labels, context: str):
    """d loss / d x of the student's function, by autograd where the student's code runs; None
    when the function does not take its labels as `labels` (the values are still checked)."""
    try:
        loss_of_x = in_student_kernel("functools.partial", student, labels=labels.clone())
        jacobian = in_student_kernel("torch.autograd.functional.jacobian", loss_of_x, x.clone())
    except CheckFailed:
        raise
    except Exception as err:  # noqa: BLE001 (the student's code, run by autograd)
        if "unexpected keyword argument 'labels'" in str(err):
            return None
        if "in-place operation" in str(err):  # seen here under the grader, where x is a copy
            fail(f"cross_entropy_loss should leave its input x unchanged{context}, but it changes x "
                 f"in place ({type(err).__name__}: {err}): write x - m, not x -= m (in-place "
                 "operations change the caller's logits).")
        fail(f"autograd could not differentiate cross_entropy_loss{context}: it raised "
             f"{type(err).__name__}: {err}. Build the loss from x with tensor operations, and "
             "do not change x in place.")
    jacobian = as_tensor("the gradient", jacobian)
    if jacobian.numel() != x.numel():
        fail(f"the gradient of the loss{context} should have one value per logit, got shape "
             f"{tuple(jacobian.shape)}: return a single number.")
    return jacobian.reshape(x.shape)


VALUES_HINT = ("Each sample's loss is -x[i, labels[i]] + log(sum_j exp(x[i, j])), and the result is "
               "their mean over the batch.")
STABLE_HINT = ("Subtract each row's own maximum m (x.max(dim=1, keepdim=True)) before exp and add it "
               "back after the log: log(sum(exp(x))) = m + log(sum(exp(x - m))).")


def check_cross_entropy_loss_values(cross_entropy_loss, *, reference):
    gen = generator(SLUG, "values")
    tutorial = torch.tensor([[10.0, 1.0, -1.0, -20.0], [10.0, 10.0, 2.0, -10.0]])
    for grad in (False, True):
        compare(cross_entropy_loss, reference, tutorial, torch.tensor([0, 1]),
                " on the tutorial's example", VALUES_HINT, grad=grad)
    shapes = [(1, 3), (1, 1), (3, 1), (2, 2), (4, 4), (7, 2), (5, 10), (16, 10), (64, 5), (3, 100)]
    for i, (n, c) in enumerate(shapes):
        for dtype in (torch.float32, torch.float64):
            scale = (0.01, 1.0, 3.0, 10.0)[i % 4]
            x, labels = random_batch(gen, n, c, scale, dtype)
            compare(cross_entropy_loss, reference, x, labels, describe(x, scale), VALUES_HINT,
                    grad=(i % 3 == 0))
    x, _ = random_batch(gen, 6, 4, 2.0, torch.float32)
    for constant in (0, 3):
        labels = torch.full((6,), constant)
        compare(cross_entropy_loss, reference, x, labels,
                f"{describe(x)} with every label equal to {constant}", VALUES_HINT)
    for device in devices()[1:]:
        for dtype in (torch.float32, torch.float64):
            x, labels = random_batch(gen, 8, 5, 3.0, dtype, device)
            compare(cross_entropy_loss, reference, x, labels, describe(x), VALUES_HINT, grad=True)


def check_cross_entropy_loss_stable(cross_entropy_loss, *, reference):
    gen = generator(SLUG, "stable")
    compare(cross_entropy_loss, reference, torch.tensor([[2.0, 1.0, -1.0], [0.5, 1.5, 0.0]]),
            torch.tensor([0, 2]), " already for the ordinary logits [[2, 1, -1], [0.5, 1.5, 0]]",
            "Get the values right first (see the check of the values).")
    for dtype in (torch.float32, torch.float64):
        for n, c, scale in [(1, 3, 1000.0), (8, 5, 100.0), (32, 10, 1000.0), (5, 4, 10000.0)]:
            x, labels = random_batch(gen, n, c, scale, dtype)
            compare(cross_entropy_loss, reference, x, labels, describe(x, scale), STABLE_HINT, grad=(n == 8))
        fixed = [
            ([[1000.0, 0.0, -1000.0], [-1000.0, 1000.0, 999.0]], [0, 2], "rows near +1000"),
            ([[-1000.0, -1001.0, -1003.0], [-2000.0, -2000.5, -1999.0]], [1, 0], "all logits very negative"),
            ([[1000.0, 999.0, 998.0], [-1000.0, -999.0, -998.0]], [2, 0], "one row near +1000, one near -1000"),
            ([[1000.0, 1000.0, 1000.0, 1000.0]], [3], "four equal logits of 1000"),
        ]
        for rows, labels, what in fixed:
            x = torch.tensor(rows, dtype=dtype)
            compare(cross_entropy_loss, reference, x, torch.tensor(labels),
                    f" for logits with {what} ({str(dtype).replace('torch.', '')})", STABLE_HINT)


class CountTensorOperations(TorchFunctionMode):
    """Records the name of every tensor operation run inside the block (nested calls made by an
    operation itself are not counted: the mode is off while it handles one). In-process only:
    under the grader the student's kernel could switch any mode off."""

    def __init__(self):
        super().__init__()
        self.names: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.names.append(getattr(func, "__name__", str(func)))
        return func(*args, **(kwargs or {}))


LOOP_SIZES = (2, 5000)
PER_SAMPLE = 3e-6   # seconds: a loop's tensor indexing alone costs 6 microseconds a sample or
                    # more; a vectorised loss 0.1 or less (one thread, even on a loaded machine)


def best_time(cross_entropy_loss, n: int, gen, runs: int = 5) -> float:
    """The shortest of `runs` timings of the student's function on a batch of n, as seen from
    here (data transfer included): a slow machine only adds, so the best run is the honest one."""
    x, labels = random_batch(gen, n, 4, 2.0, torch.float32)
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        call(cross_entropy_loss, x, labels, what=f"cross_entropy_loss on a batch of {n} samples")
        best = min(best, time.perf_counter() - start)
        if best / n < PER_SAMPLE / 4:
            break   # clearly no loop: one run is enough
    return best


def expect_no_loop(cross_entropy_loss, gen) -> None:
    threads = in_student_kernel("torch.get_num_threads")
    in_student_kernel("torch.set_num_threads", 1)   # as in grading kernels: no oversubscription
    try:
        small, large = (best_time(cross_entropy_loss, n, gen) for n in LOOP_SIZES)
    finally:
        in_student_kernel("torch.set_num_threads", threads)
    per_sample = (large - small) / (LOOP_SIZES[1] - LOOP_SIZES[0])
    if per_sample > PER_SAMPLE:
        fail(f"cross_entropy_loss should not loop over the samples: on a batch of {LOOP_SIZES[1]} "
             f"it took {large:.3f} s, {per_sample * 1e6:.1f} microseconds per sample, against "
             f"{small * 1e3:.1f} ms for {LOOP_SIZES[0]} samples (a vectorised loss takes about a "
             "millisecond for the whole batch; a Python loop, or a batch-by-batch intermediate "
             "such as x[:, labels], costs that). Pick every sample's true-class logit at once, "
             "e.g. x[torch.arange(len(labels)), labels].")


def expect_no_builtin_in_process(cross_entropy_loss, gen) -> None:
    x, labels = random_batch(gen, 8, 4, 2.0, torch.float32)
    with CountTensorOperations() as counter:
        call(cross_entropy_loss, x, labels, what="cross_entropy_loss on a batch of 8 samples")
    builtin = sorted({name for name in counter.names if any(b in name for b in BUILTINS)})
    if builtin:
        fail(f"cross_entropy_loss should compute the loss itself, but it calls {', '.join(builtin)}: "
             "write -x[i, labels[i]] + log(sum_j exp(x[i, j])) with tensor operations.")


def expect_no_builtin_in_source(source: str) -> None:
    found = forbidden_names(source, BUILTIN_NAMES)
    if found:
        fail(f"cross_entropy_loss should compute the loss itself; your code uses "
             f"{', '.join(found)}: write -x[i, labels[i]] + log(sum_j exp(x[i, j])) with tensor "
             "operations, calling functions by their names (no built-in loss, no getattr, eval, "
             "torch._C, torch.ops or switched-off modes: the grader cannot tell what they call).")


BUILTIN_NAMES = {"cross_entropy", "nll_loss", "CrossEntropyLoss", "NLLLoss", "binary_cross_entropy",
                 "cross_entropy_loss_", "nll_loss_nd", "nll_loss2d"}


def check_cross_entropy_loss_vectorised(cross_entropy_loss, *ignored, reference):
    """(`ignored`: what notebooks graded before this check was hardened passed, a counting mode
    of the check cell's own: never used, the kernel's classes are not trusted.)"""
    gen = generator(SLUG, "vectorised")
    source = student_source()
    if source is not None:
        expect_no_builtin_in_source(source)
    elif not is_remote(cross_entropy_loss):
        expect_no_builtin_in_process(cross_entropy_loss, gen)
    expect_no_loop(cross_entropy_loss, gen)
