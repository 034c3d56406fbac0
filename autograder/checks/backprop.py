"""Hidden checks for the backpropagation chapter: the hand-written backward pass of the 3-layer
MLP, and the scalar autograd engine (`Value`).

The backward pass is judged by the update it makes: with learning rate lr, each parameter must
move by -lr * dL/dparam, where L is the squared error summed over the outputs and averaged over
the batch. The implied gradient (before - after) / lr is compared with autograd's, parameter by
parameter, and common mistakes are recognised so the message can name them.

The Value engine is judged only through its public behaviour (seed interface: Value(data),
operators, relu/tanh/exp, _backward, backward(), .data, .grad), against float64 PyTorch.
"""
from __future__ import annotations

import math
import random

import torch

from autograder.checks.compare import (CheckFailed, fail, generator, in_student_kernel, is_instance,
                                       is_remote, type_name)

NAMES = ("W1", "b1", "W2", "b2", "W3", "b3")
REPORT_ORDER = ("W3", "b3", "W2", "b2", "W1", "b1")  # errors flow from the output down

# ---------------------------------------------------------------------------------------------
# Exercise 1: backward(self, x, y, learning_rate)
# ---------------------------------------------------------------------------------------------

# (input, hidden1, hidden2, output, batch, dtype, forward with autograd recording, what)
BACKWARD_CASES = [
    (10, 5, 3, 2, 3, torch.float32, False, "the tutorial's sizes (10, 5, 3, 2), a batch of 3, float32"),
    (4, 4, 4, 4, 5, torch.float64, True, "square layers (4, 4, 4, 4), a batch of 5"),
    (3, 6, 5, 1, 1, torch.float64, False, "sizes (3, 6, 5, 1) and a batch of one example"),
    (7, 8, 2, 3, 16, torch.float64, True, "sizes (7, 8, 2, 3), a batch of 16"),
]


def _relu_mask(z, kind):
    if kind == "none":
        return torch.ones_like(z)
    if kind == "activation":
        return torch.relu(z)
    return (z > 0).to(z.dtype)


def manual_gradients(p: dict, x, y, *, loss_scale=1.0, mask="z", stale_lr=None, bias_mean=False):
    """The gradients of the chapter's loss by hand, optionally with a known mistake built in.

    loss_scale multiplies dL/dz3; mask picks the ReLU derivative ("z": right, "none", "activation");
    stale_lr updates W3 (then W2) before passing the gradient through it; bias_mean averages the
    bias gradients over the batch instead of summing them.
    """
    z1 = x @ p["W1"].T + p["b1"]
    a1 = torch.relu(z1)
    z2 = a1 @ p["W2"].T + p["b2"]
    a2 = torch.relu(z2)
    z3 = a2 @ p["W3"].T + p["b3"]
    n = x.shape[0]
    reduce = (lambda d: d.mean(dim=0)) if bias_mean else (lambda d: d.sum(dim=0))
    d3 = loss_scale * 2 * (z3 - y) / n
    g = {"W3": d3.T @ a2, "b3": reduce(d3)}
    W3 = p["W3"] - stale_lr * g["W3"] if stale_lr else p["W3"]
    d2 = (d3 @ W3) * _relu_mask(z2, mask)
    g.update(W2=d2.T @ a1, b2=reduce(d2))
    W2 = p["W2"] - stale_lr * g["W2"] if stale_lr else p["W2"]
    d1 = (d2 @ W2) * _relu_mask(z1, mask)
    g.update(W1=d1.T @ x, b1=reduce(d1))
    return g


def autograd_gradients(p: dict, x, y) -> dict:
    leaves = {k: v.detach().clone().requires_grad_(True) for k, v in p.items()}
    z1 = x @ leaves["W1"].T + leaves["b1"]
    z2 = torch.relu(z1) @ leaves["W2"].T + leaves["b2"]
    z3 = torch.relu(z2) @ leaves["W3"].T + leaves["b3"]
    loss = ((z3 - y) ** 2).sum(dim=1).mean()
    grads = torch.autograd.grad(loss, [leaves[k] for k in NAMES])
    return dict(zip(NAMES, grads))


def _close(got, want, tol) -> bool:
    return got.shape == want.shape and bool(torch.all((got - want).abs() <= tol["atol"] + tol["rtol"] * want.abs()))


def _hypotheses(p, x, y, lr, n_outputs, n_batch):
    """(name, gradients, hint): known mistakes, each as the gradients it would produce."""
    hyps = [
        ("mean over all elements", manual_gradients(p, x, y, loss_scale=1.0 / n_outputs),
         "The update is the gradient divided by the number of outputs K: you divided by N*K "
         "(y.numel(), as torch.mean would). The loss here sums the squared error over the outputs "
         "and averages over the batch only: loss_grad = 2 * (z3 - y) / N with N = y.shape[0]."),
        ("sum over the batch", manual_gradients(p, x, y, loss_scale=float(n_batch)),
         "The update is N times too large: divide 2 * (z3 - y) by the batch size N = y.shape[0] "
         "(the loss is a mean over the batch)."),
        ("factor two", manual_gradients(p, x, y, loss_scale=0.5),
         "The update is half the gradient: the derivative of (z3 - y)**2 is 2 * (z3 - y)."),
        ("ascent", manual_gradients(p, x, y, loss_scale=-1.0),
         "The parameters moved uphill: gradient descent subtracts learning_rate * gradient."),
        ("no relu derivative", manual_gradients(p, x, y, mask="none"),
         "The gradient ignores the ReLU: multiply dL/da by the ReLU derivative, 1 where z > 0 "
         "(equivalently a > 0) and 0 elsewhere."),
        ("activation as derivative", manual_gradients(p, x, y, mask="activation"),
         "You multiplied by the activation itself; the ReLU derivative is the mask (z > 0): "
         "1 where z > 0, 0 elsewhere."),
        ("stale weights", manual_gradients(p, x, y, stale_lr=lr),
         "The gradient was passed back through a weight matrix that had already been updated: "
         "compute every gradient first (grad_a2 needs the old W3, grad_a1 the old W2), then update."),
        ("bias mean", manual_gradients(p, x, y, bias_mean=True),
         "The bias gradient is the SUM of the rows of delta over the batch (each example adds "
         "its own contribution), not their mean."),
    ]
    return hyps


def _diagnose(results):
    """Raise CheckFailed for the first wrong case, naming the mistake when it is a known one.

    results: one (implied, expected, hypotheses, tol, what) per case. A mistake that changes every
    gradient the same way (the scale of the loss gradient, the sign) is named only when it explains
    every case: dividing by N*K and forgetting the factor 2 look alike when K = 2.
    """
    def all_close(implied, grads, tol):
        return all(_close(implied[k], grads[k], tol) for k in NAMES)

    for implied, expected, hyps, tol, what in results:
        if all_close(implied, expected, tol):
            continue
        if all(implied[k].abs().max() == 0 for k in NAMES):
            fail(f"backward changed no parameter ({what}): subtract learning_rate * gradient from each "
                 "of W1, b1, W2, b2, W3, b3, in place, inside torch.no_grad().")
        for index, (name, _, hint) in enumerate(hyps[:4]):
            if all(all_close(r[0], r[2][index][1], r[3]) for r in results):
                fail(f"The updates are wrong for every parameter ({what}). {hint}")
        for k in REPORT_ORDER:
            got, want = implied[k], expected[k]
            if _close(got, want, tol):
                continue
            if k.startswith("b") and got.abs().max() == 0:
                fail(f"{k} was not updated ({what}): the bias gradient grad_{k} is the sum over the batch "
                     f"of dL/dz of its layer; subtract learning_rate * grad_{k} from {k}.")
            if k.startswith("W") and got.dim() == 2 and _close(got, want.T.reshape(got.shape), tol):
                fail(f"The gradient of {k} is transposed ({what}; a reshape or a square {k} hides the "
                     f"wrong shape). dL/d{k} has the shape of {k}, (outputs, inputs): "
                     "delta.T @ (the layer's input), not input.T @ delta.")
            for name, grads, hint in hyps[4:]:
                if _close(got, grads[k], tol):
                    fail(f"The update of {k} is wrong ({what}). {hint}")
            gap = (got - want).abs()
            index = tuple(int(i) for i in torch.nonzero(gap == gap.max())[0])
            fail(f"The update of {k} is wrong ({what}): it implies dL/d{k}{list(index)} = "
                 f"{got[index].item():.6g}, but it should be {want[index].item():.6g}. "
                 f"Check grad_{k} and everything it is computed from.")


def _student_model(MLP, backward, reference, sizes, dtype):
    """A fresh MLP(*sizes) of the given dtype, built from the class the hidden block passed (the
    notebook's MLP, whatever cell defined it last), the random state left as it was.

    (Notebooks graded with the hidden block of before pass the function ``backward`` instead:
    then the model comes from the notebook's MLP under the grader, the reference's in-process.)
    """
    if MLP is not None:
        build = lambda: MLP(*sizes)  # noqa: E731
    elif is_remote(backward):
        build = lambda: in_student_kernel("__main__.MLP", *sizes)  # noqa: E731
    else:
        build = lambda: reference.MLP(*sizes)  # noqa: E731
    if is_remote(backward):
        state = in_student_kernel("torch.get_rng_state")
        try:
            model = _attempt_model(build, sizes)
        finally:
            in_student_kernel("torch.set_rng_state", state)
    else:
        with torch.random.fork_rng(devices=[]):
            model = _attempt_model(build, sizes)
    return model.to(dtype)


def _attempt_model(build, sizes):
    try:
        return build()
    except CheckFailed:
        raise
    except Exception as err:  # noqa: BLE001 (the notebook's code)
        fail(f"MLP{tuple(sizes)} raised {type(err).__name__}: {err}; run the cell that defines MLP "
             "and keep its __init__ and forward as given.")


def _backward_case(MLP, backward, reference, gen, case):
    d, h1, h2, k, n, dtype, record, what = case
    model = _student_model(MLP, backward, reference, (d, h1, h2, k), dtype)
    start = {}
    for name, shape in zip(NAMES, [(h1, d), (h1,), (h2, h1), (h2,), (k, h2), (k,)]):
        start[name] = torch.randn(shape, generator=gen, dtype=torch.float64).to(dtype)
    model.load_state_dict(start)
    x = torch.randn(n, d, generator=gen, dtype=torch.float64).to(dtype)
    y = torch.randn(n, k, generator=gen, dtype=torch.float64).to(dtype)
    lr = 0.05 + 0.1 * torch.rand(1, generator=gen).item()
    model.forward(x)
    if not record:  # as after a forward pass under torch.no_grad()
        for name in ("z1", "a1", "z2", "a2", "z3"):
            setattr(model, name, getattr(model, name).detach())
    before = {name: start[name].clone() for name in NAMES}
    try:
        if MLP is not None:
            model.backward(x, y, lr)
        else:
            backward(model, x, y, lr)
    except CheckFailed:
        raise
    except NotImplementedError:
        fail("backward is not implemented yet (it raised NotImplementedError).")
    except Exception as err:  # noqa: BLE001 (student code)
        text = f"{type(err).__name__}: {err}"
        hint = ""
        if "leaf Variable" in text or "requires grad" in text:
            hint = " Update the parameters inside `with torch.no_grad():`."
        elif any(word in text for word in ("shape", "size", "broadcast", "mat1", "dimension")):
            shapes = ", ".join(f"{k} {tuple(start[k].shape)}" for k in NAMES)
            hint = (f" A gradient has the wrong shape; each has the shape of its parameter ({shapes}). "
                    "dL/dW is delta.T @ (the layer's input), of shape (outputs, inputs); input.T @ delta "
                    "is its transpose. dL/db sums delta over the batch; dL/da = delta @ W.")
        fail(f"backward(model, x, y, learning_rate) raised {text} ({what}).{hint}")
    implied = {}
    for name in NAMES:
        after = getattr(model, name)
        if not isinstance(after, torch.Tensor) or tuple(after.shape) != tuple(before[name].shape):
            fail(f"after backward, model.{name} should still be a tensor of shape "
                 f"{tuple(before[name].shape)} ({what}); update it in place: self.{name} -= ...")
        implied[name] = ((before[name] - after.detach()) / lr).double()
    p64 = {name: before[name].double() for name in NAMES}
    x64, y64 = x.double(), y.double()
    expected = autograd_gradients(p64, x64, y64)
    tol = ({"atol": 1e-4, "rtol": 1e-3} if dtype == torch.float32 else {"atol": 1e-8, "rtol": 1e-6})
    return implied, expected, _hypotheses(p64, x64, y64, lr, k, n), tol, what


def _is_class(obj) -> bool:
    return is_instance(obj, "builtins.type") if is_remote(obj) else isinstance(obj, type)


def check_backward_update(MLP, *, reference):
    """MLP: the notebook's class, whose backward method is graded wherever the answer cell put it
    (a function attached with MLP.backward = backward, or a method of a redefined class)."""
    if _is_class(MLP):
        backward = getattr(MLP, "backward", None)
        if backward is None or not callable(backward):
            fail("MLP has no method backward: define backward(self, x, y, learning_rate) and keep "
                 "the line MLP.backward = backward after it (or write backward inside class MLP).")
        cls = MLP
    else:  # a hidden block of before passes the function itself
        backward, cls = MLP, None
        if not callable(backward):
            fail(f"backward should be a function backward(self, x, y, learning_rate), got "
                 f"{type_name(backward)}.")
    gen = generator("backprop", "backward_update")
    _diagnose([_backward_case(cls, backward, reference, gen, case) for case in BACKWARD_CASES])


# ---------------------------------------------------------------------------------------------
# Exercise 2: the Value class
# ---------------------------------------------------------------------------------------------

def _num(value, what: str) -> float:
    try:
        return float(value)
    except Exception:  # noqa: BLE001
        fail(f"{what} should be a number, got {type(value).__name__}.")


def _attempt(thunk, what: str):
    try:
        return thunk()
    except CheckFailed:
        raise
    except NotImplementedError:
        fail(f"{what} is not implemented yet (it raised NotImplementedError).")
    except RecursionError:
        fail(f"{what} hit Python's recursion limit; build the topological order with a loop and a stack.")
    except Exception as err:  # noqa: BLE001 (student code)
        fail(f"{what} raised {type(err).__name__}: {err}")


def _near(got: float, want: float, tol: float = 1e-6) -> bool:
    return math.isfinite(got) and abs(got - want) <= tol * max(1.0, abs(want))


# (text, function of the inputs, number of inputs, derivative formula for the message,
#  function giving the local derivatives from the input data)
LOCAL_OPS = [
    ("a + b", lambda a, b: a + b, 2, "1", lambda a, b: (1.0, 1.0)),
    ("a * b", lambda a, b: a * b, 2, "b.data (and a.data for b)", lambda a, b: (b, a)),
    ("a + 2.5", lambda a: a + 2.5, 1, "1", lambda a: (1.0,)),
    ("2.5 * a", lambda a: 2.5 * a, 1, "2.5", lambda a: (2.5,)),
    ("a ** 2", lambda a: a**2, 1, "2 * a", lambda a: (2 * a,)),
    ("a ** 3", lambda a: a**3, 1, "3 * a**2", lambda a: (3 * a**2,)),
    ("a ** -1", lambda a: a**-1, 1, "-1 * a**-2", lambda a: (-(a**-2),)),
    ("a ** 0.5", lambda a: a**0.5, 1, "0.5 * a**-0.5", lambda a: (0.5 * a**-0.5,)),
    ("a.relu() for a > 0", lambda a: a.relu(), 1, "1 where a > 0", lambda a: (1.0,)),
    ("a.relu() for a < 0", lambda a: a.relu(), 1, "0 where a < 0", lambda a: (0.0,)),
    ("a.tanh()", lambda a: a.tanh(), 1, "1 - tanh(a)**2 = 1 - out.data**2", lambda a: (1 - math.tanh(a) ** 2,)),
    ("a.exp()", lambda a: a.exp(), 1, "exp(a) = out.data", lambda a: (math.exp(a),)),
]

FORWARD = {
    "a + b": lambda a, b: a + b, "a * b": lambda a, b: a * b, "a + 2.5": lambda a: a + 2.5,
    "2.5 * a": lambda a: 2.5 * a, "a ** 2": lambda a: a**2, "a ** 3": lambda a: a**3,
    "a ** -1": lambda a: a**-1, "a ** 0.5": lambda a: a**0.5, "a.relu() for a > 0": lambda a: max(a, 0.0),
    "a.relu() for a < 0": lambda a: max(a, 0.0), "a.tanh()": math.tanh, "a.exp()": math.exp,
}


def _input_data(text: str, rng: random.Random) -> float:
    if "a < 0" in text:
        return -rng.uniform(0.2, 2.0)
    if "a > 0" in text or "0.5" in text:
        return rng.uniform(0.3, 2.0)
    value = rng.uniform(0.3, 1.8)
    return value if rng.random() < 0.5 else -value


def check_value_local_gradients(Value, *, reference):
    rng = random.Random(zlib_seed("value_local_gradients"))
    for text, op, arity, formula, local in LOCAL_OPS:
        for _ in range(2):
            data = [_input_data(text, rng) for _ in range(arity)]
            starts = [rng.uniform(-1, 1) for _ in range(arity)]
            upstream = rng.choice([-1.3, 0.7, 2.2])
            inputs = [_attempt(lambda d=d: Value(d), f"Value({d})") for d in data]
            for v, s in zip(inputs, starts):
                v.grad = s
            out = _attempt(lambda: op(*inputs), f"computing {text}")
            want_data = FORWARD[text](*data)
            if not hasattr(out, "data") or not _near(_num(out.data, f"({text}).data"), want_data, 1e-9):
                fail(f"{text} with a = {data[0]:.4g} should have data {want_data:.6g}, got "
                     f"{getattr(out, 'data', out)!r}: the forward computation is given, keep it.")
            out.grad = upstream
            _attempt(lambda: out._backward(), f"out._backward() for out = {text}")
            for name, v, start, deriv in zip("ab", inputs, starts, local(*data)):
                got = _num(v.grad, f"{name}.grad")
                want = start + deriv * upstream
                if _near(got, want, 1e-9):
                    continue
                setting = (f"for out = {text} with a = {data[0]:.4g}" + (f", b = {data[1]:.4g}" if arity == 2 else "")
                           + f", out.grad = {upstream} and {name}.grad = {start:.4g} before")
                if _near(got, deriv * upstream, 1e-9):
                    hint = (f"{name}.grad was overwritten: add to it (+=), because a value used several "
                            "times must collect every contribution.")
                elif _near(got, start + deriv, 1e-9):
                    hint = "multiply the local derivative by out.grad (the chain rule)."
                elif _near(got, start, 1e-12):
                    hint = f"{name}.grad did not change: _backward must add the local derivative times out.grad."
                else:
                    hint = f"the local derivative of {text} with respect to {name} is {formula}."
                fail(f"{setting}, out._backward() should leave {name}.grad = {want:.6g}, got {got:.6g}: {hint}")


# --- backward(): targeted graphs, then random expressions against PyTorch ---------------------

def _grads(leaves, what):
    return [_num(v.grad, f"a leaf's grad after {what}") for v in leaves]


def _local_failure(Value):
    """The message of the local-gradient check for Value, or None where every operation passes."""
    try:
        check_value_local_gradients(Value, reference=None)
    except CheckFailed as failure:
        return str(failure)
    return None


def _expect_grads(names, got, want, what, hint="", Value=None):
    """Fail on the first wrong gradient. Where an operation's own _backward is wrong (Value given),
    the message says that, not ``hint`` (which is about backward() itself)."""
    for name, g, w in zip(names, got, want):
        if not _near(g, w):
            local = _local_failure(Value) if Value is not None else None
            if local:
                hint = f"An operation's _backward is wrong, so backward() cannot be right: {local}"
            elif callable(hint):
                hint = hint()
            fail(f"{what}: {name}.grad should be {w:.6g}, got {g:.6g}. {hint}".strip())


def _order_hint(reference, a_data, c_data, got):
    """The hint for a wrong f = (d + e).tanh() + a: the known wrong orders of the _backward calls
    (a node called once per path to it, for want of a visited set; topo not reversed) are
    recognised by replaying them on the reference Value."""
    def replay(kind):
        V = reference.Value
        a, c = V(a_data), V(c_data)
        d = a * 2.0
        f = (d + d * c).tanh() + a
        topo, seen = [], set()

        def visit(v):
            if kind != "no visited set":
                if v in seen:
                    return
                seen.add(v)
            for child in v._prev:
                visit(child)
            topo.append(v)

        visit(f)
        f.grad = 1.0
        for node in (topo if kind == "not reversed" else reversed(topo)):
            node._backward()
        return [a.grad, c.grad]

    if reference is not None and all(_near(g, w) for g, w in zip(got, replay("no visited set"))):
        return ("A node's _backward was called more than once (d is reached twice, through e and "
                "through d + e): keep a visited set, so that each node enters topo once.")
    if reference is not None and all(_near(g, w) for g, w in zip(got, replay("not reversed"))):
        return ("The _backward calls ran from the leaves to the output: call them in reverse "
                "topological order (for node in reversed(topo)).")
    return ("Call each node's _backward once, in reverse topological order: after every node that "
            "uses it (d is used by e and by d + e) and before the nodes it uses.")


def _targeted(Value, rng, reference=None):
    a_data, b_data = rng.uniform(0.5, 2.0), -rng.uniform(0.5, 2.0)
    # one product
    a, b = Value(a_data), Value(b_data)
    c = _attempt(lambda: a * b, "a * b")
    _attempt(c.backward, "c.backward() for c = a * b")
    if not _near(_num(c.grad, "c.grad"), 1.0):
        fail(f"after c.backward(), c.grad should be 1 (dc/dc), got {c.grad!r}: backward() starts by "
             "setting the output's own gradient to 1.")
    _expect_grads("ab", _grads([a, b], "c.backward()"), [b_data, a_data],
                  f"for c = a * b (a = {a_data:.4g}, b = {b_data:.4g}) after c.backward()",
                  "backward() must call every node's _backward.", Value)
    # a value used twice in one operation
    for text, build, want in [("a * a", lambda v: v * v, 2 * a_data), ("a + a", lambda v: v + v, 2.0)]:
        a = Value(a_data)
        out = _attempt(lambda: build(a), text)
        _attempt(out.backward, f"backward() on {text}")
        _expect_grads("a", _grads([a], text), [want], f"for out = {text} with a = {a_data:.4g}",
                      "A value used twice gets both contributions: add (+=) in _backward, never assign.", Value)
    # a node used at two depths: its users must all pass their gradient before it passes its own
    a, c = Value(a_data), Value(b_data)
    d = a * 2.0
    e = d * c
    f = _attempt(lambda: (d + e).tanh() + a, "(d + e).tanh() + a")
    _attempt(f.backward, "backward() on f = (d + e).tanh() + a")
    t = 1 - math.tanh(2 * a_data + 2 * a_data * b_data) ** 2
    got = _grads([a, c], "f.backward()")
    _expect_grads("ac", got, [t * 2 * (1 + b_data) + 1, t * 2 * a_data],
                  f"for d = 2 * a, e = d * c, f = (d + e).tanh() + a (a = {a_data:.4g}, c = {b_data:.4g})",
                  lambda: _order_hint(reference, a_data, b_data, got), Value)
    # backward on a fresh graph, reusing leaves and an intermediate node of an earlier graph
    x, w = Value(a_data), Value(b_data)
    h = x * w
    first = h.tanh()
    _attempt(first.backward, "backward() on a first graph")
    for v in (x, w, h):
        v.grad = 0.0
    second = _attempt(lambda: (h + x) * h, "(h + x) * h")
    _attempt(second.backward, "backward() on a second graph")
    hv = a_data * b_data
    dh = 2 * hv + a_data          # d/dh of (h + x) * h
    _expect_grads("xw", _grads([x, w], "the second backward()"), [dh * b_data + hv, dh * a_data],
                  f"after a first backward() on tanh(h), h = x * w, then grads reset and backward() on "
                  f"(h + x) * h (x = {a_data:.4g}, w = {b_data:.4g})",
                  "Each call of backward() must build its order from scratch: keep topo and visited "
                  "local to the call (no mutable default argument, no class attribute).", Value)
    # a brand-new graph after that
    p, q = Value(b_data), Value(a_data)
    out = _attempt(lambda: (p * q + p).exp(), "(p * q + p).exp()")
    _attempt(out.backward, "backward() on a new graph")
    e_val = math.exp(b_data * a_data + b_data)
    _expect_grads("pq", _grads([p, q], "backward() on a new graph"), [e_val * (a_data + 1), e_val * b_data],
                  f"on a new graph (p * q + p).exp() with p = {b_data:.4g}, q = {a_data:.4g}", Value=Value)


UNARY = ["relu", "tanh", "exp", "square", "cube", "neg", "inverse", "sqrt", "scale", "shift", "rsub"]
BINARY = ["add", "mul", "sub", "div"]


def _apply(op, x, y=None):
    """One operation, the same code for a Value and for a tensor."""
    if op == "relu":
        return x.relu() if not isinstance(x, torch.Tensor) else torch.relu(x)
    if op == "tanh":
        return x.tanh()
    if op == "exp":
        return x.exp()
    return {
        "square": lambda: x**2, "cube": lambda: x**3, "neg": lambda: -x, "inverse": lambda: 1.0 / x,
        "sqrt": lambda: x**0.5, "scale": lambda: 1.7 * x, "shift": lambda: x + 0.8, "rsub": lambda: 2.0 - x,
        "add": lambda: x + y, "mul": lambda: x * y, "sub": lambda: x - y, "div": lambda: x / y,
    }[op]()


TEXT = {"relu": "{x}.relu()", "tanh": "{x}.tanh()", "exp": "{x}.exp()", "square": "{x} ** 2", "cube": "{x} ** 3",
        "neg": "-{x}", "inverse": "1.0 / {x}", "sqrt": "{x} ** 0.5", "scale": "1.7 * {x}", "shift": "{x} + 0.8",
        "rsub": "2.0 - {x}", "add": "{x} + {y}", "mul": "{x} * {y}", "sub": "{x} - {y}", "div": "{x} / {y}"}


def _allowed(op, x, y=None):
    """Keep the expression well away from kinks, poles and overflow."""
    if op == "relu":
        return abs(x) > 1e-2
    if op == "exp":
        return x < 2.5
    if op == "cube":
        return abs(x) < 3
    if op == "square":
        return abs(x) < 5
    if op == "inverse":
        return abs(x) > 0.3
    if op == "sqrt":
        return x > 0.1
    if op == "div":
        return abs(y) > 0.3
    return True


def _random_expression(Value, rng, n_leaves, n_ops):
    """Build the same random expression with Value and float64 tensors; return what to compare."""
    names = "abcde"[:n_leaves]
    data = [rng.choice([-1, 1]) * rng.uniform(0.2, 1.5) for _ in names]
    values = [Value(d) for d in data]
    tensors = [torch.tensor(d, dtype=torch.float64, requires_grad=True) for d in data]
    pool = list(zip(values, tensors, names))
    lines = []
    for i in range(n_ops):
        for _ in range(50):
            recent = pool[-4:]
            x = rng.choice(recent if rng.random() < 0.7 else pool)
            if rng.random() < 0.45:
                op, y = rng.choice(BINARY), rng.choice(pool)  # may be x itself: a value used twice
            else:
                op, y = rng.choice(UNARY), None
            if not _allowed(op, x[1].item(), None if y is None else y[1].item()):
                continue
            t = _apply(op, x[1], None if y is None else y[1])
            if abs(t.item()) > 20 or (op == "relu" and t.item() == 0 and rng.random() < 0.5):
                continue
            break
        else:
            continue
        name = f"t{i + 1}"
        lines.append(f"{name} = " + TEXT[op].format(x=x[2], y=None if y is None else y[2]))
        v = _attempt(lambda: _apply(op, x[0], None if y is None else y[0]), lines[-1].split(" = ", 1)[1])
        pool.append((v, t, name))
    out_v, out_t, out_name = pool[-1]
    return names, data, values, tensors, out_v, out_t, lines


def _compare_expression(Value, rng, n_leaves, n_ops, show):
    names, data, values, tensors, out_v, out_t, lines = _random_expression(Value, rng, n_leaves, n_ops)
    if not hasattr(out_v, "backward"):
        fail(f"the result of {lines[-1]} should be a Value, got {type(out_v).__name__}.")
    if not _near(_num(out_v.data, "data"), out_t.item()):
        fail(f"a random expression evaluates to {out_v.data!r}, PyTorch says {out_t.item():.6g}; "
             "the forward computations are given: keep them.")
    _attempt(out_v.backward, "backward() on a random expression")
    want = [0.0 if g is None else g.item()
            for g in torch.autograd.grad(out_t, tensors, allow_unused=True)]
    got = _grads(values, "backward() on a random expression")
    leaves = ", ".join(f"{n} = {d:.4g}" for n, d in zip(names, data))
    program = "; ".join(lines)
    where = (f"on the expression {program} (with {leaves}), after {lines[-1].split(' = ')[0]}.backward()"
             if show else f"on a random expression of {len(lines)} operations with values used several times")
    _expect_grads(names, got, want, where + " (PyTorch's gradient, float64)", Value=Value)


def _deep_chain(Value, rng):
    """300 levels: h = h * 0.99 + a, with the leaf a used at every level."""
    a_data = rng.uniform(0.5, 1.5)
    a = Value(a_data)
    h = Value(1.0)
    for _ in range(150):
        h = h * 0.99 + a
    _attempt(h.backward, "backward() on a chain of 300 operations")
    want = sum(0.99**k for k in range(150))
    _expect_grads("a", _grads([a], "the chain"), [want],
                  "for h = h * 0.99 + a repeated 150 times (a used 150 times)", Value=Value)


def check_value_backward(Value, *, reference):
    rng = random.Random(zlib_seed("value_backward"))
    _targeted(Value, rng, reference)
    for n_leaves, n_ops in [(2, 3), (3, 5), (2, 6), (3, 8), (2, 4)]:
        _compare_expression(Value, rng, n_leaves, n_ops, show=True)
    for n_leaves, n_ops in [(3, 20), (4, 30), (5, 40), (2, 25), (5, 60), (4, 45)]:
        _compare_expression(Value, rng, n_leaves, n_ops, show=False)
    _deep_chain(Value, rng)


def zlib_seed(label: str) -> int:
    """A fixed integer seed per check, derived like compare.generator's (no global state used)."""
    return int(generator("backprop", label).initial_seed())
