"""Hidden checks for the general-MLP chapter: the from-scratch ``MLP`` and the configurable ``Net``.

Both are compared with the reference on the student's own random weights: the check builds the
student's network, copies its parameters into a reference network of the same architecture, and
compares outputs (and, for ``MLP``, the stored intermediate tensors) on fresh random inputs.
Building a network draws from torch's global generator, so every construction runs inside
``isolated_rng``: grading is repeatable and the student's random state is left untouched.
"""
from __future__ import annotations

import contextlib
import zlib

import torch
import torch.nn as nn

from autograder.checks.compare import (CheckFailed, as_tensor, call, expect_close, fail, generator,
                                       in_student_kernel, is_instance, is_remote, type_name)

SLUG = "general_mlp"

# --- shared -------------------------------------------------------------------------------------


@contextlib.contextmanager
def isolated_rng(*labels: str):
    """Seed torch's global generator from the labels for the block, then restore it."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(zlib.crc32("/".join((SLUG,) + labels).encode()))
        yield


@contextlib.contextmanager
def student_rng_kept(student, *labels: str):
    """Around building a student's network: seeded from the labels (the same network, and the
    same message, on every grading run), and the student's random state left as it was.

    Under the grader the student's code runs in the student's kernel (``student`` is a proxy):
    its generator is saved, seeded and put back there. In-process it is forked locally."""
    if is_remote(student):
        state = in_student_kernel("torch.get_rng_state")
        try:
            in_student_kernel("torch.manual_seed", zlib.crc32("/".join((SLUG,) + labels).encode()))
            yield
        finally:
            in_student_kernel("torch.set_rng_state", state)
    else:
        with isolated_rng(*labels):
            yield


def devices() -> list[str]:
    """The CPU, plus CUDA where a GPU is visible (never on the grading machine)."""
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def move(model: nn.Module, what: str, device: str, dtype: torch.dtype) -> nn.Module:
    moved = call(model.to, device=device, dtype=dtype, what=f"{what}.to({device!r}, {dtype})")
    return model if moved is None else moved


def as_module(obj, what: str, name: str):
    """The student's network (a proxy under the grader), which must be an nn.Module."""
    if not is_instance(obj, "torch.nn.Module"):
        fail(f"{what} should give an nn.Module (write class {name}(nn.Module) and call "
             f"super().__init__()), got {type_name(obj)}.")
    return obj


def parameters_of(model, what: str) -> list:
    """The parameters of the student's model, as tensors (copies under the grader)."""
    return call(lambda: in_student_kernel("builtins.list", model.parameters()),
                what=f"{what}.parameters()")


def parameter_names(model, what: str) -> set:
    named = call(lambda: in_student_kernel("builtins.list", model.named_parameters()),
                 what=f"{what}.named_parameters()")
    return {name for name, _ in named}


# --- MLP: explicit weights ----------------------------------------------------------------------

MLP_SIZES = [(10, 5, 3, 2), (7, 6, 4, 1), (3, 8, 9, 4), (1, 2, 5, 3)]
MLP_PARAMETERS = ("W1", "b1", "W2", "b2", "W3", "b3")
MLP_STORED = {
    "z1": "z1 = x @ W1.T + b1, shape (batch, hidden_size1)",
    "a1": "a1 = ReLU(z1)",
    "z2": "z2 = a1 @ W2.T + b2, shape (batch, hidden_size2)",
    "a2": "a2 = ReLU(z2)",
    "z3": "z3 = a2 @ W3.T + b3, shape (batch, output_size), with no activation",
}


def build_mlp(MLP, sizes, label: str) -> tuple[nn.Module, str]:
    what = f"MLP{tuple(sizes)}"
    with student_rng_kept(MLP, "MLP", label, str(sizes)):
        model = call(MLP, *sizes, what=what)
    return as_module(model, what, "MLP"), what


def mlp_parameter(model, name: str, what: str) -> torch.Tensor:
    value = getattr(model, name, None)
    if value is None:
        fail(f"{what} should have an attribute self.{name} (the parameters are W1, b1, W2, b2, W3, b3).")
    if not isinstance(value, torch.Tensor):
        fail(f"{what}.{name} should be a tensor (an nn.Parameter), got {type(value).__name__}.")
    return value


def check_mlp_parameters(MLP, *, reference):
    for sizes in MLP_SIZES:
        model, what = build_mlp(MLP, sizes, "parameters")
        with isolated_rng("reference"):
            expected = reference.MLP(*sizes)
        registered = parameter_names(model, what)
        for name in MLP_PARAMETERS:
            value = mlp_parameter(model, name, what)
            shape = tuple(getattr(expected, name).shape)
            if tuple(value.shape) != shape:
                hint = ("It looks transposed: store weights as (units out, units in), like "
                        "nn.Linear.weight, and multiply with x @ W.T."
                        if tuple(value.shape) == shape[::-1] and len(shape) == 2 else
                        "Weights are (units out, units in), biases (units out,).")
                fail(f"{what}.{name} should have shape {shape}, got {tuple(value.shape)}. {hint}")
            if name not in registered:
                fail(f"{what}.{name} should be registered as a parameter: wrap it as "
                     f"nn.Parameter(torch.randn(...)) so that model.parameters() finds it and an "
                     "optimizer can train it.")
            if name.startswith("W") and value.numel() > 1 and bool((value == value.flatten()[0]).all()):
                fail(f"{what}.{name} should start at random values (torch.randn), but it holds the "
                     "same value everywhere: then every unit of a layer computes the same thing.")
        total = sum(p.numel() for p in parameters_of(model, what))
        want = sum(p.numel() for p in expected.parameters())
        if total != want:
            fail(f"{what} should have {want} parameters in all (W1..W3 and b1..b3), got {total}.")


def reference_mlp_like(reference, model, sizes, what: str, dtype, device) -> nn.Module:
    """A reference MLP holding the student's weights (a bias of shape (1, n) is accepted here:
    its shape is graded by check_mlp_parameters)."""
    with isolated_rng("reference"):
        ref = reference.MLP(*sizes).to(device=device, dtype=dtype)
    with torch.no_grad():
        for name in MLP_PARAMETERS:
            value = mlp_parameter(model, name, what).detach()
            target = getattr(ref, name)
            if value.shape == target.shape:
                target.copy_(value)
            elif value.numel() == target.numel() and name.startswith("b"):
                target.copy_(value.reshape(target.shape))
            else:
                fail(f"{what}.{name} should have shape {tuple(target.shape)}, got {tuple(value.shape)}: "
                     "weights are (units out, units in), as in nn.Linear, and the layers compute "
                     "x @ W.T + b.")
    return ref


def check_mlp_forward(MLP, *, reference):
    gen = generator(SLUG, "mlp_forward")
    cases = [(sizes, batch, dtype, "cpu") for sizes in MLP_SIZES
             for batch, dtype in ((5, torch.float32), (1, torch.float32), (3, torch.float64))]
    cases += [(MLP_SIZES[0], 4, torch.float32, device) for device in devices()[1:]]
    for sizes, batch, dtype, device in cases:
        model, what = build_mlp(MLP, sizes, "forward")
        model = move(model, what, device, dtype)
        ref = reference_mlp_like(reference, model, sizes, what, dtype, device)
        x = (torch.randn(batch, sizes[0], generator=gen, dtype=torch.float64) * 2).to(device, dtype)
        context = f" for {what} on a batch of {batch} ({str(dtype).replace('torch.', '')}, {device})"
        out = call(model, x.clone(), what=f"{what}(x) with x of shape {tuple(x.shape)}")
        with torch.no_grad():
            ref_out = ref(x.clone())
        for name, formula in MLP_STORED.items():
            got = getattr(model, name, None)
            if got is None:
                fail(f"after forward, self.{name} should hold {formula}; store it on self "
                     "(the backprop chapter reads it).")
            expect_close(f"self.{name}", got, getattr(ref, name), context=context,
                         hint=f"It should be {formula}.")
        if not isinstance(out, torch.Tensor):
            fail(f"forward should return a tensor (z3), got {type(out).__name__}.")
        if out.dtype != dtype:
            fail(f"forward should keep the dtype of its input{context}: got {out.dtype}.")
        expect_close("the output of forward", out, ref_out, context=context,
                     hint="forward returns z3 = a2 @ W3.T + b3, with no activation on the output.")
        if not out.requires_grad:
            fail(f"the output of forward{context} should depend on the parameters through "
                 "autograd: keep W1..b3 as nn.Parameter and compute with them directly (no "
                 "torch.no_grad(), no .detach(), no new tensors).")


# --- Net: any depth and width -------------------------------------------------------------------

NET_CONFIGS = [
    ("LeakyReLU(0.1)", 2, [100, 10, 5], 1),
    ("ReLU()", 3, [8, 6], 4),
    ("Tanh()", 7, [16], 3),
    ("Sigmoid()", 5, [], 2),
    ("ELU(0.5)", 12, [6, 5, 4, 3], 2),   # the forms the exercise shows: 'Name()', 'Name(number)'
    ("LeakyReLU(0.3)", 4, [5, 5], 5),
]


def net_call(config) -> str:
    actv, n_in, hidden, n_out = config
    return f"Net({actv!r}, {n_in}, {hidden}, {n_out})"


def build_net(Net, config, label: str) -> tuple[nn.Module, str]:
    what = net_call(config)
    actv, n_in, hidden, n_out = config
    with student_rng_kept(Net, "Net", label, what):
        net = call(Net, actv, n_in, list(hidden), n_out, what=what)
    return as_module(net, what, "Net"), what


def shapes_hint(got: list, want: list) -> str:
    if not got:
        return ("It has no parameters at all: add the layers to the nn.Sequential with "
                "self.mlp.add_module(name, layer) (layers kept in a Python list are invisible "
                "to PyTorch).")
    if len(got) < len(want):
        return ("A layer is missing: one nn.Linear per hidden layer (one per entry of "
                "hidden_unit_nums), then the output layer.")
    if len(got) > len(want):
        return "There is a layer too many: one nn.Linear per hidden layer, then one output layer."
    if sorted(got) == sorted(want):
        return "The layers are there but in another order: add them from the input to the output."
    if got[:-2] == want[:-2]:
        return ("The hidden layers are right; the output layer goes from the last hidden width to "
                "output_feature_num.")
    return ("Each hidden layer takes the previous layer's width as its input width: update in_num "
            "after each layer.")


def reference_net_like(reference, net, config, what: str, dtype=torch.float32, device="cpu"):
    """A reference Net of the same architecture holding the student's parameters."""
    with isolated_rng("reference"):
        ref = reference.Net(*config).to(device=device, dtype=dtype)
    want = [tuple(p.shape) for p in ref.parameters()]
    params = parameters_of(net, what)
    got = [tuple(p.shape) for p in params]
    if got != want:
        fail(f"{what} should hold parameters of shapes {want} (the weight and bias of each linear "
             f"layer, from input to output), got {got}. {shapes_hint(got, want)}")
    with torch.no_grad():
        for target, value in zip(ref.parameters(), params):
            target.copy_(value.detach())
    return ref


def activation_hint(config) -> str:
    actv, _, hidden, _ = config
    if not hidden:
        return "With no hidden layer the network is a single nn.Linear (and no activation)."
    return (f"Expected Linear -> {actv} for each of the {len(hidden)} hidden layer(s), then the "
            "output Linear.")


def net_output_hint(reference, ref, config, out, x) -> str:
    """The hint for a wrong output: an activation after the output layer, or another activation
    than actv's, when the output shows it; else the structure to follow."""
    actv = config[0]
    got = torch.as_tensor(out).detach().double()
    with torch.no_grad():
        ref_out = ref(x.clone()).double()
        if config[2] and torch.allclose(got, reference.make_activation(actv)(ref_out), atol=1e-5):
            return ("The hidden layers are right, but there is an activation after the output layer: "
                    "the output Linear gives the logits, with no activation after the output layer.")
        for other in ("ReLU()", "LeakyReLU(0.1)", "Tanh()", "Sigmoid()", "LeakyReLU(0.01)"):
            if other != actv and config[2]:
                with isolated_rng("twin"):
                    twin = reference.Net(other, *config[1:]).double()
                twin.load_state_dict(ref.state_dict())
                if torch.allclose(got, twin(x.clone().double()), atol=1e-5):
                    return (f"The network computes with {other} after each hidden layer: the activation "
                            f"must be built from the text given, the one named in actv (here {actv!r}).")
    return activation_hint(config)


def check_net_layers(Net, *, reference):
    gen = generator(SLUG, "net_layers")
    for config in NET_CONFIGS:
        net, what = build_net(Net, config, "layers")
        ref = reference_net_like(reference, net, config, what)
        x = torch.randn(9, config[1], generator=gen) * 3
        out = call(net, x.clone(), what=f"{what}(x) with x of shape {tuple(x.shape)}")
        with torch.no_grad():
            ref_out = ref(x.clone())
        got = as_tensor(f"the output of {what}", out)
        matches = got.shape == ref_out.shape and torch.allclose(got.double(), ref_out.double(),
                                                                atol=1e-5, rtol=1e-4)
        expect_close(f"the output of {what}", out, ref_out,
                     hint="" if matches else net_output_hint(reference, ref, config, out, x))
        if not torch.as_tensor(out).requires_grad:
            fail(f"the output of {what} should depend on its parameters through autograd "
                 "(no torch.no_grad() or .detach() in forward).")
    try:
        with student_rng_kept(Net, "Net", "unknown activation"):
            Net("NoSuchActivation()", 2, [3], 1)
    except Exception:  # noqa: BLE001 (any clear error is fine: ValueError, AttributeError, ...)
        pass
    else:
        fail("Net('NoSuchActivation()', 2, [3], 1) should raise an error (torch.nn has no such "
             "module), but it built a network: build the activation from actv, do not ignore it.")


FLATTEN_HINT = ("In forward, reshape x to (-1, input_feature_num): the batch size is whatever is "
                "left, so one sample of shape (16,) is a batch of 1 and an empty batch stays empty.")


def call_with_hint(fn, *args, what: str, hint: str):
    try:
        return call(fn, *args, what=what)
    except CheckFailed as failure:
        fail(f"{str(failure).rstrip('.')}. {hint}")


def check_net_any_input(Net, *, reference):
    """Inputs of any shape: the output must equal the network's own output on the same samples
    given as a (batch, input_feature_num) matrix (so this check does not depend on the layers
    being right, which check_net_layers grades)."""
    gen = generator(SLUG, "net_any_input")
    plans = [
        (("ReLU()", 16, [8], 3), [(5, 1, 4, 4), (2, 4, 2, 2), (3, 2, 8), (16,), (1, 16), (0, 16),
                                  (0, 1, 4, 4)]),
        (("Tanh()", 12, [], 2), [(4, 3, 4), (12,)]),
    ]
    for config, shapes in plans:
        net, what = build_net(Net, config, "any_input")
        with isolated_rng("reference"):
            ref = reference.Net(*config)
        n_in = config[1]
        call_with_hint(net, torch.randn(3, n_in, generator=gen), what=f"{what}(x) with x of shape (3, {n_in})",
                       hint="It fails on a plain batch already: fix the layers first (see the layer test).")
        if not parameters_of(net, what):
            fail(f"{what} has no parameters: its layers are invisible to PyTorch (kept in a Python "
                 "list?), so .to(dtype) or .to(device) cannot move them. Add them to the "
                 "nn.Sequential with self.mlp.add_module(name, layer).")
        for shape in shapes:
            x = torch.randn(shape, generator=gen)
            with torch.no_grad():
                want_shape = tuple(ref(x.clone()).shape)
            out = call_with_hint(net, x.clone(), what=f"{what}(x) with x of shape {shape}", hint=FLATTEN_HINT)
            if tuple(torch.as_tensor(out).shape) != want_shape:
                fail(f"{what} on an input of shape {shape} should return shape {want_shape}, got "
                     f"{tuple(torch.as_tensor(out).shape)}. {FLATTEN_HINT}")
            flat = x.reshape(-1, n_in)
            own = call(net, flat.clone(), what=f"{what}(x) with x of shape {tuple(flat.shape)}")
            expect_close(f"the output of {what}", out, own, context=f" on an input of shape {shape}",
                         hint="It should equal the output on x.reshape(-1, input_feature_num): "
                              "flatten each sample in order, without mixing samples.")
    config = plans[0][0]
    for device in devices():
        for dtype in (torch.float64, torch.float32):
            if device == "cpu" and dtype == torch.float32:
                continue
            net, what = build_net(Net, config, "any_input")
            net = move(net, what, device, dtype)
            label = f"{str(dtype).replace('torch.', '')} on {device}"
            x = torch.randn(5, 1, 4, 4, generator=gen, dtype=torch.float64).to(device, dtype)
            out = call_with_hint(net, x.clone(), what=f"{what}, moved with .to({device!r}, {dtype}), on a {label} input",
                                 hint="The network should work in the dtype and on the device it was moved to: "
                                      "do not convert or move the input inside forward.")
            if not isinstance(out, torch.Tensor) or out.dtype != dtype or out.device.type != device:
                fail(f"{what}, moved with .to({device!r}, {dtype}), should return a {label} tensor, "
                     f"got {getattr(out, 'dtype', type(out).__name__)} on "
                     f"{getattr(getattr(out, 'device', None), 'type', '?')}: do not convert or move "
                     "the input inside forward.")
            own = call(net, x.reshape(-1, config[1]).clone(), what=f"{what} on a {label} input")
            expect_close(f"the output of {what}", out, own, context=f" in {label}")
