"""Hidden checks for the MNIST chapter.

Under the grader a check runs in the oracle, outside the student's kernel, on proxies for the
student's objects (autograder.checks.compare). Everything the student's code is given, the small
networks, DataLoaders, optimizers and losses, is therefore built in the student's kernel with
``in_student_kernel``; tensors travel by value. Nothing of the notebook's own is used: the probe
(a module wrapping a network that records, for every forward call, its mode, whether gradients
were on, and its outputs) and the capture of what a function prints are the grader's, built in
the kernel from ``autograder.hidden`` (an answer cell defining ``_Probe`` changes nothing), and
every expected number (accuracy, loss, weights after a step) comes from a simulation here, in
the oracle, with its own clean import of torch: never from a recording or a class in the kernel.

The checks compare the printed statistics and the weights with that simulation of the six
steps; the recordings only say how the model was used (mode, gradients, calls). A wrong result is matched against simulations of the usual mistakes
(no zero_grad, softmax before the loss, ...) so that the message names the mistake. Every network
built in the kernel is built with the kernel's random state saved and restored.
"""
from __future__ import annotations

import contextlib
import math
import re

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim import Adam   # bound when the checks load, before any student code runs

from autograder.checks.compare import (CheckFailed, call, call_ref, expect_close, expect_shape,
                                       fail, generator, in_student_kernel, in_student_kernel_ref,
                                       is_instance, parsed_cells, student_source, type_name)

SLUG = "mnist"
LAYER_SHAPES = [(100, 784), (100,), (10, 100), (10,)]
N_PARAMETERS = 784 * 100 + 100 + 100 * 10 + 10   # 79510
TUTORIAL_LR = 1e-2
LR = 0.1   # plain SGD in the train checks: every step shows in the weights
# One way to split any digit run (\d+\.?\d* had n: quadratic time on a long run of digits).
NUMBER = r"([-+]?(?:\d+(?:\.\d*)?(?:e[-+]?\d+)?|nan|inf))"
ACCURACY_LINE = re.compile(r"accuracy\s*=\s*" + NUMBER + r"\s*%", re.I)
LOSS_LINE = re.compile(r"loss\s*=\s*" + NUMBER, re.I)
EPOCH_LINE = re.compile(r"Epoch\s+(-?\d+)\s+done\.\s+Average\s+(train|test)", re.I)
NO_GRAPH_HINT = (" loss.backward() needs the graph that torch.no_grad() switches off: in train() "
                 "compute the outputs and the loss outside torch.no_grad(); test() never calls "
                 "backward().")


def close(got: float, expected: float, tolerance: float) -> bool:
    """got is a finite number within tolerance of expected (a NaN or inf is never close)."""
    return math.isfinite(got) and abs(got - expected) <= tolerance


# --- building things where the student's code runs ---------------------------------------------

def kernel(name: str, *args, **kwargs):
    return in_student_kernel(name, *args, **kwargs)


@contextlib.contextmanager
def kernel_rng_kept():
    """Building modules draws from the kernel's generator: put its state back afterwards."""
    state = kernel("torch.get_rng_state")
    try:
        yield
    finally:
        kernel("torch.set_rng_state", state)


def small_state(seed: int) -> dict:
    """Weights of the checks' small network (784 -> 16 -> 10), drawn here from seed."""
    gen = torch.Generator().manual_seed(seed)
    return {"1.weight": torch.randn(16, 784, generator=gen) * 0.05, "1.bias": torch.randn(16, generator=gen) * 0.1,
            "3.weight": torch.randn(10, 16, generator=gen) * 0.3, "3.bias": torch.randn(10, generator=gen) * 0.1}


def local_net(state: dict) -> nn.Module:
    """The same network here (building it draws from this process's generator: restored)."""
    with torch.random.fork_rng(devices=[]):
        net = nn.Sequential(nn.Flatten(), nn.Linear(784, 16), nn.ReLU(), nn.Linear(16, 10))
    net.load_state_dict(state)
    return net


def kernel_probe(state: dict):
    """The small network with the given weights, wrapped in the grader's probe, in the student's
    kernel."""
    with kernel_rng_kept():
        net = kernel("torch.nn.Sequential", kernel("torch.nn.Flatten"), kernel("torch.nn.Linear", 784, 16),
                     kernel("torch.nn.ReLU"), kernel("torch.nn.Linear", 16, 10))
    net.load_state_dict(state)
    return kernel("autograder.hidden.probe", net)


def kernel_loader(images, targets, batch_size: int):
    """A DataLoader over (images, targets) in order; its own generator (a pass over a DataLoader
    draws a seed, which would otherwise come from the student's generator)."""
    dataset = kernel("torch.utils.data.TensorDataset", images, targets)
    return kernel("torch.utils.data.DataLoader", dataset, batch_size=batch_size, shuffle=False,
                  generator=kernel("torch.Generator"))


def parameters(model) -> torch.Tensor:
    """All of a model's parameters, flattened into one vector, here."""
    return torch.cat([p.detach().reshape(-1).cpu() for p in kernel("builtins.list", model.parameters())])


def recorded(probe) -> list:
    """The probe's recordings: (training, grad enabled, outputs) per forward call.

    They are the kernel's word: an answer cell can replace the probe, or the kernel's copy of
    ``autograder.hidden``, with one that records anything. So no check gives a point on a
    recording alone: the outputs each call recorded must be the outputs this process computes
    for the batch that call should have seen (:func:`expect_outputs_on`), which only running the
    network on that batch produces. How a call ran (mode, gradients) changes no output of the
    checks' network: those rules are read from the student's code too (:func:`source_calls`),
    and a recording only gives the message for an honest mistake."""
    return [(bool(t), bool(g), torch.as_tensor(o)) for t, g, o in list(probe.calls)]


def expect_outputs_on(calls: list, state: dict, batches: list, who: str) -> None:
    """Each recorded call's outputs are the network's (weights ``state``) on its batch, computed
    here: the evidence, by value, that the model really ran on the data it was given."""
    with torch.no_grad():
        net = local_net(state).eval()
        expected = [net(batch) for batch in batches]
    for (_, _, got), want in zip(calls, expected):
        if got.shape != want.shape or not torch.allclose(got.float(), want, atol=1e-4):
            fail(f"{who} should give the model each batch of its loader as it comes (the images "
                 f"unchanged, in order); the model's outputs in {who} are not its outputs on those "
                 f"batches.")


NO_GRAD_CALLS = {"no_grad", "inference_mode", "set_grad_enabled"}


def source_calls(name: str) -> set[str] | None:
    """What the student's ``def name`` calls, read from the notebook as the grader read it (the
    kernel cannot change that), with what the student's own top-level functions it calls call in
    turn: function and method names, ``.train(False)`` counted as ``eval``. None where the source
    is unknown (in-process runs); an empty set where no such ``def`` is found.

    How a model runs (evaluation mode, gradients off) changes no output of the checks' network,
    so the probe's recordings of it are the kernel's word; these rules are read from the code
    instead, as chapter 3 reads its no-built-in rule (docs/authors.md)."""
    import ast
    source = student_source()
    if source is None:
        return None
    defs = {node.name: node for tree in parsed_cells(source) for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    calls, seen, todo = set(), set(), [name]
    while todo:
        function = todo.pop()
        if function in seen or function not in defs:
            continue
        seen.add(function)
        for node in ast.walk(defs[function]):
            if not isinstance(node, ast.Call):
                continue
            called = node.func.attr if isinstance(node.func, ast.Attribute) else \
                node.func.id if isinstance(node.func, ast.Name) else None
            if called == "train" and node.args and isinstance(node.args[0], ast.Constant) \
                    and node.args[0].value is False:
                called = "eval"
            if called:
                calls.add(called)
                todo.append(called)
    return calls


def expect_in_source(name: str, any_of: set[str], message: str) -> None:
    """The student's ``def name`` calls one of ``any_of`` (``{"eval"}``, ``{"train"}``,
    NO_GRAD_CALLS): else fail with ``message``. Nothing to check where the source is unknown."""
    calls = source_calls(name)
    if calls is not None and not calls & any_of:
        fail(message)


def run_printing(function, *args, what: str, **kwargs) -> str:
    """Run student code in the kernel; return what it printed; its errors become CheckFailed."""
    printed = lambda *a, **k: kernel("autograder.hidden.printed", *a, **k)  # noqa: E731
    try:
        text = call(printed, function, *args, what=what, **kwargs)
    except CheckFailed as failure:
        if "does not require grad" in str(failure):
            fail(str(failure).rstrip(".") + "." + NO_GRAPH_HINT)
        raise
    return str(text)


def printed_number(pattern, text: str, what: str, line: str) -> float:
    found = pattern.findall(text)
    if not found:
        fail(f"{what} should print {line}, as the given print line does; nothing like it was printed "
             f"(printed: {text.strip()[-200:]!r}). Keep the print line at the end of the function.")
    return float(found[-1])


def random_images(gen: torch.Generator, n: int) -> torch.Tensor:
    """n normalised-looking inputs of shape (n, 1, 28, 28)."""
    return torch.randn(n, 1, 28, 28, generator=gen)


def accuracy_of(outputs: list, targets: torch.Tensor) -> float:
    return (torch.cat(outputs).argmax(dim=1) == targets).double().mean().item()


def mean_batch_loss(outputs: list, targets: torch.Tensor, softmax=False) -> float:
    losses = []
    for out, t in zip(outputs, targets.split([len(o) for o in outputs])):
        losses.append(F.cross_entropy(F.softmax(out, dim=1) if softmax else out, t).item())
    return sum(losses) / len(losses)


# --- Exercise 1: the model ---------------------------------------------------------------------

def student_model(MultiLayerPerceptron):
    with kernel_rng_kept():
        model = call(MultiLayerPerceptron, what="MultiLayerPerceptron()")
    if not is_instance(model, "torch.nn.Module"):
        fail(f"MultiLayerPerceptron() should build an nn.Module, got {type_name(model)}.")
    return model


def layers_of(model):
    """(W1, b1, W2, b2) of the student's model, found by shape (copies, here)."""
    params = call(lambda: kernel("builtins.list", model.parameters()), what="model.parameters()")
    shapes = sorted(tuple(p.shape) for p in params)
    if sorted(LAYER_SHAPES) != shapes:
        count = sum(p.numel() for p in params)
        fail(f"MultiLayerPerceptron should have two linear layers, 784 -> 100 and 100 -> 10 "
             f"({N_PARAMETERS} parameters: weights (100, 784), (10, 100) and their biases); "
             f"yours has {count} parameters of shapes {shapes}.")
    by_shape = {tuple(p.shape): torch.as_tensor(p).detach() for p in params}
    return [by_shape[s] for s in LAYER_SHAPES]


def check_mlp_structure(MultiLayerPerceptron, *, reference):
    model = student_model(MultiLayerPerceptron)
    layers_of(model)
    gen = generator(SLUG, "mlp_structure")
    for shape in [(5, 28, 28), (3, 1, 28, 28), (1, 1, 28, 28)]:
        x = torch.randn(*shape, generator=gen)
        out = call(model, x, what=f"the model on a batch of shape {shape}")
        expect_shape(f"the output for inputs of shape {shape}", out, (shape[0], 10),
                     "Flatten each image to 784 values, keeping the batch dimension: "
                     "torch.flatten(x, 1) or x.view(x.shape[0], -1).")


def check_mlp_forward(MultiLayerPerceptron, *, reference):
    model = student_model(MultiLayerPerceptron)
    w1, b1, w2, b2 = layers_of(model)
    x = torch.randn(16, 1, 28, 28, generator=generator(SLUG, "mlp_forward"))
    out = expect_shape("the output", call(model, x, what="the model on a batch of shape (16, 1, 28, 28)"), (16, 10))
    hidden = x.reshape(16, -1) @ w1.T + b1
    logits = F.relu(hidden) @ w2.T + b2
    if torch.allclose(out, logits, atol=1e-4):
        return
    hints = [
        (F.softmax(logits, dim=1), "it looks like softmax: return the raw scores (logits); "
         "CrossEntropyLoss applies the softmax itself."),
        (F.log_softmax(logits, dim=1), "it looks like log_softmax: return the raw scores (logits)."),
        (hidden @ w2.T + b2, "the ReLU between the two layers is missing."),
        (F.relu(logits), "there is a ReLU after the output layer: the logits must be free to be negative."),
        (torch.sigmoid(hidden) @ w2.T + b2, "the hidden layer uses a sigmoid: use ReLU."),
    ]
    for candidate, hint in hints:
        if torch.allclose(out, candidate, atol=1e-4):
            fail(f"forward should return the logits relu(x W1^T + b1) W2^T + b2, but {hint}")
    expect_close("the model's output (logits)", out, logits, atol=1e-4,
                 hint="forward should compute output(relu(hidden(flatten(x)))).")


# --- Exercise 2: optimizer and loss ------------------------------------------------------------

def check_optimizer_and_loss_step(model, optimizer, loss_fn, *, reference):
    if not is_instance(model, "torch.nn.Module"):
        fail(f"model should be a MultiLayerPerceptron (an nn.Module), got {type_name(model)}.")
    if not is_instance(optimizer, "torch.optim.Optimizer"):
        fail(f"optimizer should be a torch.optim optimizer, got {type_name(optimizer)}.")

    # The loss: cross-entropy of logits, averaged over the batch
    gen = generator(SLUG, "optimizer_and_loss")
    logits = torch.randn(8, 10, generator=gen) * 3
    targets = torch.randint(0, 10, (8,), generator=gen)
    try:
        got = call(loss_fn, logits, targets, what="loss_fn(outputs, targets)")
    except CheckFailed as failure:
        fail(f"{failure} loss_fn should be the cross-entropy, nn.CrossEntropyLoss(): it takes "
             "outputs of shape (N, 10), the logits, and targets of shape (N,), the class numbers.")
    got = torch.as_tensor(got).detach().cpu()
    if got.numel() != 1:
        fail(f"loss_fn should return one number (the mean over the batch), got shape {tuple(got.shape)}.")
    expected = F.cross_entropy(logits, targets)
    if not close(got.item(), expected.item(), 1e-4):
        if close(got.item(), F.nll_loss(logits, targets).item(), 1e-4):
            fail("loss_fn should be the cross-entropy of logits, but it looks like NLLLoss, which "
                 "expects log-probabilities: use nn.CrossEntropyLoss().")
        if close(got.item(), F.cross_entropy(logits, targets, reduction="sum").item(), 1e-3):
            fail("loss_fn should average over the batch (nn.CrossEntropyLoss()'s default), but it sums.")
        fail(f"loss_fn should be the cross-entropy of the logits: for a test batch it gave "
             f"{got.item():.4f}, nn.CrossEntropyLoss() gives {expected.item():.4f}.")

    # One step on copies (made in the kernel, the student's objects untouched) against what Adam
    # with the tutorial's learning rate does with the same gradients: Adam is run here, from this
    # process's torch (a kernel's torch.optim.Adam may have been replaced by the notebook)
    x = torch.randn(32, 1, 28, 28, generator=gen)
    y = torch.randint(0, 10, (32,), generator=gen)
    net, opt = call(lambda: kernel("copy.deepcopy", (model, optimizer)), what="copy.deepcopy((model, optimizer))")
    net = net.cpu()
    call(lambda: in_student_kernel_ref("builtins.getattr", opt, "state").clear(), what="optimizer.state")
    before = parameters(net)
    net.zero_grad()
    logits = call(lambda: call_ref(net, x), what="the model on a batch of shape (32, 1, 28, 28)")
    in_student_kernel_ref("torch.nn.functional.cross_entropy", logits, y).backward()
    gradient = gradients(net)
    if not torch.isfinite(gradient).all() or not gradient.abs().any():
        fail("The loss of a batch should have a gradient with respect to the model's weights, but it "
             "is zero or not finite: check that the model's forward uses its own layers.")
    call(opt.step, what="optimizer.step()")
    moved, expected_move = parameters(net) - before, adam_step(before, gradient) - before
    if not torch.allclose(moved, expected_move, atol=1e-6, rtol=1e-4):
        size = moved.abs().median().item()
        lr = kernel("builtins.getattr", opt, "defaults").get("lr")
        if moved.abs().max().item() == 0:
            fail("One step of your optimizer should move the model's weights, but none moved: build "
                 "the optimizer on model.parameters() of this model (create the model first).")
        fail(f"One step of your optimizer should move the weights as Adam with lr={TUTORIAL_LR} "
             f"does (about {TUTORIAL_LR} per weight on the first step); yours moved them by about "
             f"{size:.2g} ({type_name(optimizer)} with lr={lr}). "
             f"Use optim.Adam(model.parameters(), lr={TUTORIAL_LR}).")


def gradients(model) -> torch.Tensor:
    """All of a model's gradients, flattened in the order of parameters(model) (zeros for none)."""
    grad_of = in_student_kernel_ref("operator.attrgetter", "grad")
    grads = kernel("builtins.list", in_student_kernel_ref("builtins.map", grad_of, model.parameters()))
    shapes = [p.shape for p in kernel("builtins.list", model.parameters())]
    return torch.cat([torch.zeros(shape).reshape(-1) if g is None else torch.as_tensor(g).detach().reshape(-1).cpu()
                      for g, shape in zip(grads, shapes)])


def adam_step(weights: torch.Tensor, gradient: torch.Tensor) -> torch.Tensor:
    """The weights after one step of a fresh torch.optim.Adam(lr=TUTORIAL_LR), run here."""
    local = weights.clone().requires_grad_(True)
    optimizer = Adam([local], lr=TUTORIAL_LR)
    local.grad = gradient.clone()
    optimizer.step()
    return local.detach()


# --- Exercise 3: train -------------------------------------------------------------------------

TRAIN_SIZES = (16, 50)   # batches of 16 over 50 images: 16, 16, 16 and 2


def train_data(label: str):
    """50 images whose targets the starting network gets right about half the time."""
    gen = generator(SLUG, label)
    state = small_state(7)
    images = random_images(gen, 50)
    with torch.no_grad():
        guess = local_net(state)(images).argmax(dim=1)
    targets = torch.where(torch.rand(50, generator=gen) < 0.5, guess, torch.randint(0, 10, (50,), generator=gen))
    return state, images, targets


def simulate_train(state, images, targets, mistake: str | None = None) -> torch.Tensor:
    """The weights after one epoch of the six steps with SGD, or with one of the usual mistakes."""
    net = local_net(state)
    opt = torch.optim.SGD(net.parameters(), lr=LR)
    for x, y in zip(images.split(TRAIN_SIZES[0]), targets.split(TRAIN_SIZES[0])):
        if mistake != "no_zero_grad":
            opt.zero_grad()
        out = net(x)
        loss = F.cross_entropy(F.softmax(out, dim=1) if mistake == "softmax" else out, y)
        loss.backward()
        if mistake != "one_step":
            opt.step()
    if mistake == "one_step":
        opt.step()
    return torch.cat([p.detach().reshape(-1) for p in net.parameters()])


def simulated_outputs(state, images, targets) -> list:
    """The outputs the model gives on each batch during one epoch of the six steps (before each
    step), computed here: what train() should report its statistics from."""
    net = local_net(state)
    opt = torch.optim.SGD(net.parameters(), lr=LR)
    outputs = []
    for x, y in zip(images.split(TRAIN_SIZES[0]), targets.split(TRAIN_SIZES[0])):
        opt.zero_grad()
        out = net(x)
        outputs.append(out.detach().clone())
        F.cross_entropy(out, y).backward()
        opt.step()
    return outputs


def run_train(train, label: str):
    state, images, targets = train_data(label)
    model = kernel_probe(state)
    model.eval()   # train() must switch it to training mode
    optimizer = kernel("torch.optim.SGD", model.parameters(), lr=LR)
    loader = kernel_loader(images, targets, TRAIN_SIZES[0])
    text = run_printing(train, model, loader, kernel("torch.nn.CrossEntropyLoss"), optimizer,
                        epoch=2, what="train(model, train_loader, loss_fn, optimizer, epoch=2)")
    return model, state, images, targets, text


def check_train_steps(train, *ignored, reference):
    """(``ignored``: the helpers a check cell passed before the checks were hardened: unused.)"""
    model, state, images, targets, _ = run_train(train, "train")
    calls = recorded(model)
    n = len(images.split(TRAIN_SIZES[0]))
    if len(calls) != n:
        fail(f"train() should run the model once per batch ({n} batches), it ran it {len(calls)} times.")
    train_mode = ("train() should put the model in training mode (model.train()) before the loop; "
                  "it ran in evaluation mode.")
    if not all(training for training, _, _ in calls):
        fail(train_mode)
    expect_in_source("train", {"train"}, train_mode)
    if not all(grad for _, grad, _ in calls):
        fail("train() ran the model with gradients off (torch.no_grad()): backpropagation needs them."
             + NO_GRAPH_HINT)
    got = parameters(model)
    if torch.allclose(got, simulate_train(state, images, targets), atol=1e-5):
        return
    start = torch.cat([t.reshape(-1) for t in state.values()])
    diagnoses = [
        ("no_zero_grad", "the gradients of earlier batches were still there at each step: they "
                         "should be zeroed at the start of every iteration (optimizer.zero_grad())."),
        ("softmax", "the loss should be given the raw outputs (logits), but they went through "
                    "softmax first. CrossEntropyLoss applies log-softmax itself."),
        ("one_step", "train() should take one optimizer step per batch, inside the loop; it took one "
                     "step for the whole epoch."),
    ]
    if torch.equal(got, start):
        fail("After train() the weights should have changed, but none did: the steps should come in "
             "the order zero_grad(), outputs, loss, loss.backward(), optimizer.step().")
    for mistake, message in diagnoses:
        if torch.allclose(got, simulate_train(state, images, targets, mistake), atol=1e-5):
            fail(f"In train(), {message}")
    expect_close("the weights after one epoch", got, simulate_train(state, images, targets), atol=1e-5,
                 hint="Every iteration should take the six steps: zero_grad(), outputs = model(inputs), "
                      "loss = loss_fn(outputs, targets), loss.backward(), optimizer.step().")


def check_train_statistics(train, *ignored, reference):
    model, state, images, targets, text = run_train(train, "train_statistics")
    ran = sum(len(o) for _, _, o in recorded(model))
    if ran != len(targets):
        fail(f"train() should run the model once on every batch ({len(targets)} images in all); "
             f"it ran it on {ran}.")
    outputs = simulated_outputs(state, images, targets)
    got_acc = printed_number(ACCURACY_LINE, text, "train()", "'... average train accuracy = XX.XXX%'")
    expected = accuracy_of(outputs, targets)
    if not close(got_acc, 100 * expected, 0.002):
        last = (outputs[-1].argmax(dim=1) == targets[-len(outputs[-1]):]).double().mean().item()
        hint = ""
        if close(got_acc, 100 * last, 0.002):
            hint = " That is the accuracy of the last batch only: count over all the batches of the epoch."
        elif got_acc > 100:
            hint = " acc should be a fraction between 0 and 1 (the print line multiplies it by 100)."
        fail(f"train() should print the accuracy of the whole epoch; it printed {got_acc:.3f}%, but "
             f"its predictions were right {100 * expected:.3f}% of the time.{hint}")
    got_loss = printed_number(LOSS_LINE, text, "train()", "'... Average train loss = X.XX'")
    if not close(got_loss, mean_batch_loss(outputs, targets), 0.0051):
        fail(f"train() should print the average batch loss; it printed {got_loss:.2f}, but the "
             f"cross-entropy of its outputs averages {mean_batch_loss(outputs, targets):.2f} over the batches.")


# --- Exercise 4: test --------------------------------------------------------------------------

def test_data(label: str):
    """40 images in batches of 16, 16 and 8 on which the network is right on 11/16, 5/16 and 7/8:
    57.5% in all, 87.5% on the last batch alone, 62.5% as a mean of the batch accuracies (none
    of them the visible check's 60%: a printed constant cannot pass both)."""
    gen = generator(SLUG, label)
    state = small_state(11)
    images = random_images(gen, 40)
    with torch.no_grad():
        guess = local_net(state)(images).argmax(dim=1)
    wrong = (guess + 1 + torch.randint(0, 9, (40,), generator=gen)) % 10
    right = torch.zeros(40, dtype=torch.bool)
    right[0:11] = right[16:21] = right[32:39] = True
    return state, images, torch.where(right, guess, wrong)


def run_test(test, label: str):
    state, images, targets = test_data(label)
    model = kernel_probe(state)
    model.train()   # test() must switch it to evaluation mode
    text = run_printing(test, model, kernel_loader(images, targets, 16),
                        kernel("torch.nn.CrossEntropyLoss"), epoch=0,
                        what="test(model, test_loader, loss_fn, epoch=0)")
    return model, state, images, targets, text


def check_test_evaluation(test, *ignored, reference):
    model, state, images, targets, _ = run_test(test, "test")
    calls = recorded(model)
    if len(calls) != 3:
        fail(f"test() should run the model once per batch (3 batches), it ran it {len(calls)} times.")
    expect_outputs_on(calls, state, list(images.split(16)), "test()")
    eval_mode = ("test() should put the model in evaluation mode (model.eval()) before the loop; "
                 "it ran in training mode (layers such as dropout behave differently there).")
    no_grad = ("test() should run the model inside `with torch.no_grad():`: no gradients are needed "
               "for evaluation, and tracking them costs memory and time.")
    if any(training for training, _, _ in calls):
        fail(eval_mode)
    expect_in_source("test", {"eval"}, eval_mode)
    if any(grad for _, grad, _ in calls):
        fail(no_grad)
    expect_in_source("test", NO_GRAD_CALLS, no_grad)
    if not torch.equal(parameters(model), torch.cat([t.reshape(-1) for t in state.values()])):
        fail("test() changed the model's weights: evaluation must never update the model.")


def check_test_statistics(test, *ignored, reference):
    model, state, images, targets, text = run_test(test, "test")
    ran = sum(len(o) for _, _, o in recorded(model))
    if ran != len(targets):
        fail(f"test() should run the model once on every batch ({len(targets)} images in all); "
             f"it ran it on {ran}.")
    with torch.no_grad():   # what the model gives in evaluation mode, computed here
        outputs = [local_net(state).eval()(x) for x in images.split(16)]
    batches = [(o.argmax(dim=1) == t).double().mean().item()
               for o, t in zip(outputs, targets.split(16))]
    got_acc = printed_number(ACCURACY_LINE, text, "test()", "'... average test accuracy = XX.XXX%'")
    expected = accuracy_of(outputs, targets)   # 57.5%
    if not close(got_acc, 100 * expected, 0.002):
        hint = ""
        if close(got_acc, 100 * batches[-1], 0.002):
            hint = " That is the accuracy of the last batch only: count over all the batches."
        elif close(got_acc, 100 * sum(batches) / len(batches), 0.002):
            hint = (" That is the mean of the per-batch accuracies, which overweights the short last "
                    "batch: divide all correct predictions by all predictions.")
        elif got_acc > 100:
            hint = " acc should be a fraction between 0 and 1 (the print line multiplies it by 100)."
        fail(f"test() should print the accuracy over all test images; it printed {got_acc:.3f}%, "
             f"but the model is right on {100 * expected:.3f}% of them.{hint}")
    got_loss = printed_number(LOSS_LINE, text, "test()", "'... Average test loss = X.XX'")
    expected_loss = mean_batch_loss(outputs, targets)
    if not close(got_loss, expected_loss, 0.0051):
        hint = ""
        if close(got_loss, mean_batch_loss(outputs, targets, softmax=True), 0.0051):
            hint = (" The outputs went through softmax before the loss: CrossEntropyLoss applies "
                    "log-softmax itself, give it the raw outputs (logits).")
        fail(f"test() should print the average batch loss; it printed {got_loss:.2f}, but the "
             f"cross-entropy of the model's outputs averages {expected_loss:.2f} over the batches.{hint}")


# --- Exercise 5: fit ---------------------------------------------------------------------------

def check_fit_epochs(fit, *ignored, reference):
    try:
        default = kernel("inspect.signature", fit).parameters["epochs"].default
    except (KeyError, TypeError, ValueError):
        fail("fit should take the argument epochs: fit(model, train_loader, test_loader, loss_fn, "
             "optimizer, epochs=5).")
    if default != 5:
        fail(f"fit's epochs should default to 5, as the tutorial trains for 5 epochs; it is {default!r}.")
    gen = generator(SLUG, "fit")
    state = small_state(3)
    model = kernel_probe(state)
    train_images, test_images = random_images(gen, 16), random_images(gen, 5)
    train_loader = kernel_loader(train_images, torch.randint(0, 10, (16,), generator=gen), 8)
    test_loader = kernel_loader(test_images, torch.randint(0, 10, (5,), generator=gen), 5)
    # lr = 0: training steps leave the weights as they are, so every call's outputs are known here
    optimizer = kernel("torch.optim.SGD", model.parameters(), lr=0.0)
    epochs = 3
    text = run_printing(fit, model, train_loader, test_loader, kernel("torch.nn.CrossEntropyLoss"),
                        optimizer, epochs=epochs,
                        what="fit(model, train_loader, test_loader, loss_fn, optimizer, epochs=3)")
    calls = recorded(model)
    sizes = [len(out) for _, _, out in calls]   # 8, 8: a pass over train_loader; 5: test_loader
    passes = "".join({8: "T", 5: "E"}.get(size, "?") for size in sizes).replace("TT", "train ").replace("E", "test ")
    passes = passes.split()
    if passes.count("train") != epochs:
        fail(f"fit(..., epochs=3) should train for 3 epochs (3 passes over train_loader); "
             f"it made {passes.count('train')}.")
    if passes.count("test") != epochs:
        fail(f"fit(..., epochs=3) should test after every epoch (3 passes over test_loader); "
             f"it made {passes.count('test')}.")
    if passes != ["train", "test"] * epochs:
        fail("fit should, every epoch, call train(...) with train_loader and then test(...) with "
             f"test_loader; the loaders were used in the order {passes}.")
    expect_outputs_on(calls, state, [*train_images.split(8), test_images] * epochs, "fit")
    lines = [(int(number), kind.lower()) for number, kind in EPOCH_LINE.findall(text)]
    expected = [(e, kind) for e in range(1, epochs + 1) for kind in ("train", "test")]
    if lines != expected:
        fail("fit should pass the epoch index to train and test (epoch=epoch, counting from 0) so "
             "that they print 'Epoch 1 done ...' to 'Epoch 3 done ...'; the printed epochs were "
             f"{[n for n, _ in lines]}.")


# --- Exercise 6: predict -----------------------------------------------------------------------

def check_predict_values(predict, *ignored, reference):
    gen = generator(SLUG, "predict")
    state = small_state(5)
    images = random_images(gen, 12) * 2
    model = kernel_probe(state)
    model.train()
    result = call(predict, model, images, what="predict(model, images)")
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        fail("predict should return two tensors: (predictions, confidences).")
    calls = recorded(model)
    if not calls:
        fail("predict should run the model on the images.")
    eval_mode = "predict should put the model in evaluation mode first (model.eval())."
    no_grad = "predict should run the model inside `with torch.no_grad():`."
    if any(training for training, _, _ in calls):
        fail(eval_mode)
    expect_in_source("predict", {"eval"}, eval_mode)
    if any(grad for _, grad, _ in calls):
        fail(no_grad)
    expect_in_source("predict", NO_GRAD_CALLS, no_grad)
    predictions, confidences = (torch.as_tensor(r) for r in result)
    with torch.no_grad():
        logits = local_net(state)(images)
    expected_conf, expected_pred = F.softmax(logits, dim=1).max(dim=1)
    if predictions.is_floating_point() and not confidences.is_floating_point():
        fail("predict should return (predictions, confidences) in this order.")
    predictions = expect_shape("predictions", predictions, (12,),
                               "One class per image: the argmax over the 10 outputs (dim=1).")
    if predictions.is_floating_point() or predictions.dtype == torch.bool:
        fail(f"predictions should hold integer class indices (int64), got {predictions.dtype}.")
    if not torch.equal(predictions.long(), expected_pred):
        fail("predictions should be the class with the largest output for each image: the "
             "softmax and the argmax both run over the classes (dim=1), never over the batch.")
    confidences = expect_shape("confidences", confidences, (12,))
    if torch.allclose(confidences.double(), logits.max(dim=1).values.double(), atol=1e-4):
        fail("confidences should be probabilities: the softmax of the outputs, not the raw outputs.")
    expect_close("confidences", confidences, expected_conf, atol=1e-5,
                 hint="The softmax over the classes (dim=1) of each image, at the predicted class.")


# --- Exercise 7: confusion_matrix --------------------------------------------------------------

def check_confusion_matrix_counts(confusion_matrix, *, reference):
    gen = generator(SLUG, "confusion_matrix")
    cases = []
    for n, classes in ((300, 10), (25, 3), (40, 10)):
        targets = torch.randint(0, classes, (n,), generator=gen)
        noise = torch.randint(0, classes, (n,), generator=gen)
        predictions = torch.where(torch.rand(n, generator=gen) < 0.6, targets, noise)
        if n == 40:
            predictions = predictions.clamp(max=7)   # classes 8 and 9 never predicted
        cases.append((predictions, targets, classes))
    for predictions, targets, classes in cases:
        what = f"confusion_matrix(predictions, targets, num_classes={classes}) for {len(targets)} images"
        got = call(confusion_matrix, predictions.clone(), targets.clone(), num_classes=classes, what=what)
        expected = reference.confusion_matrix(predictions, targets, num_classes=classes)
        got = expect_shape(f"the matrix of {what}", got, (classes, classes),
                           "It has one row per true class and one column per predicted class.")
        if torch.equal(got.double(), expected.double()):
            continue
        if torch.equal(got.double(), expected.T.double()):
            fail(f"The matrix of {what} is transposed: row t, column p should count the images of "
                 "true class t predicted as p.")
        if torch.equal(got.double(), (expected > 0).double()):
            fail(f"The matrix of {what} holds 1 where it should hold counts: "
                 "matrix[targets, predictions] += 1 adds 1 once per distinct pair. Count every image "
                 "(a loop, index_put_ with accumulate=True, or torch.bincount).")
        if torch.allclose(got.double().sum(dim=1), torch.ones(classes, dtype=torch.float64)):
            fail(f"The matrix of {what} should hold counts, not fractions of each row.")
        if torch.equal(got.double(), torch.diag(torch.diag(expected)).double()):
            fail(f"The matrix of {what} should count every image once (total {len(targets)}), "
                 f"but it counts only the correct predictions (the diagonal, {int(got.sum())} "
                 "images): an image of class t predicted as p adds 1 at [t, p], right or wrong.")
        if int(got.sum()) != len(targets):
            uses_ten = "" if classes == 10 else (
                f" With num_classes={classes}, use the num_classes argument everywhere, not 10.")
            fail(f"The matrix of {what} should count every image once (total {len(targets)}), "
                 f"its entries add up to {int(got.sum())}.{uses_ten}")
        expect_close(f"the matrix of {what}", got, expected, atol=0, rtol=0,
                     hint="Entry [t, p] counts the images of true class t predicted as p.")
