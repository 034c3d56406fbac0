"""Hidden checks for the spiral-split chapter: shuffle_and_split_data and train_test_classification.

Under the grader a check runs outside the student's kernel, on proxies of the student's
functions (see autograder/checks/compare.py): tensors and plain values travel by value, and the
objects the student's loop needs (a model, an optimizer, data loaders, a loss) are built in the
student's kernel with ``in_student_kernel``. In-process (tests) the same helpers act locally.

The student's kernel gets its random state and its thread count back after every check: the
checks seed and draw (the split is *about* seeding), and they train on one CPU thread, which is
much faster for these tiny networks on a busy machine.
"""
from __future__ import annotations

import contextlib
import math
import operator

import torch
from torch import nn

from autograder.checks.compare import (CheckFailed, call, expect_close, expect_shape, fail, fetch,
                                       generator, in_student_kernel, in_student_kernel_ref)

CHAPTER = "spiral_split"
ORDER = "Return (X_test, y_test, X_train, y_train) in this order."
SEED_HINT = ("Draw the permutation from the seed alone: torch.manual_seed(seed) right before "
             "torch.randperm(N), as the skeleton does (any generator seeded with seed will do).")


@contextlib.contextmanager
def own_random_state():
    """Run a local block (the reference, local models) with this process's generators restored
    afterwards: in-process, this process is the student's."""
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        yield


@contextlib.contextmanager
def student_state_kept():
    """Around a check: the student's kernel trains on one thread meanwhile, and gets its random
    state and thread count back afterwards."""
    state = in_student_kernel("torch.get_rng_state")
    threads = in_student_kernel("torch.get_num_threads")
    in_student_kernel("torch.set_num_threads", 1)
    try:
        with own_random_state():
            yield
    finally:
        in_student_kernel("torch.set_num_threads", threads)
        in_student_kernel("torch.set_rng_state", state)


def devices():
    """The CPU, plus CUDA where a GPU is visible (never on the grading machine)."""
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


# --- shuffle_and_split_data -------------------------------------------------------------------

def split_cases(name: str):
    """(description, X, y, seed): sizes from 0 to 4000, several shapes, dtypes and devices.

    The first column of X holds distinct values, so every returned row can be traced back."""
    gen = generator(CHAPTER, name)
    sizes = [(0, (2,)), (1, (2,)), (4, (2,)), (5, (2,)), (7, (3,)), (10, (2,)), (103, (1, 2, 3)),
             (4000, (2,))]
    dtypes = [(torch.float32, torch.float32), (torch.float64, torch.int64), (torch.int64, torch.int64)]
    for index, (n, feature_shape) in enumerate(sizes):
        x_dtype, y_dtype = dtypes[index % len(dtypes)]
        for device in devices():
            first = torch.randperm(max(n, 1) * 3, generator=gen)[:n].to(x_dtype)  # distinct
            X = torch.randint(-50, 50, (n, *feature_shape), generator=gen).to(x_dtype)
            if n:
                X.view(n, -1)[:, 0] = first
            y = torch.randint(0, 4, (n,), generator=gen).to(y_dtype)
            seed = int(torch.randint(0, 2**31 - 1, (1,), generator=gen))
            what = (f"shuffle_and_split_data on X of shape {tuple(X.shape)} ({x_dtype}, {device}) "
                    f"with seed={seed}")
            yield what, X.to(device), y.to(device), seed


def run_split(fn, X, y, seed, what):
    """Call the student's function; return its four outputs, checked to be four tensors."""
    result = call(fn, X, y, seed, what=what)
    if not isinstance(result, (tuple, list)) or len(result) != 4:
        fail(f"{what} should return four tensors (X_test, y_test, X_train, y_train), got "
             f"{type(result).__name__}" + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else "")
             + ".")
    for name, value in zip(("X_test", "y_test", "X_train", "y_train"), result):
        if not isinstance(value, torch.Tensor):
            fail(f"{name} should be a tensor, got {type(value).__name__} ({what}).")
    return result


def row_ids(X: torch.Tensor) -> list:
    """The first feature of each row: distinct in the inputs the checks build."""
    return X.detach().cpu().reshape(len(X), -1)[:, 0].tolist() if len(X) else []


def diagnose_sizes(what, n, n_test, feature_shape, out):
    """Name the common mistakes of the split's sizes, where the shapes tell them apart."""
    shapes = [tuple(t.shape) for t in out]
    right = [(n_test, *feature_shape), (n_test,), (n - n_test, *feature_shape), (n - n_test,)]
    if shapes == right:
        return
    got_test, got_train = (shapes[0][0] if shapes[0] else None), (shapes[2][0] if shapes[2] else None)
    if sorted(shapes) == sorted(right) and n - n_test != n_test:
        fail(f"the four outputs should come as (X_test, y_test, X_train, y_train), the test set "
             f"first, but they have the right shapes in another order ({what}). With N={n}: X_test "
             f"{right[0]}, y_test {right[1]}, X_train {right[2]}, y_train {right[3]}.")
    if got_test == int(0.8 * n) and got_train == n - got_test and got_test > n_test + 1:
        fail(f"the test set should be the 20% (int(0.2 * N) = {n_test} of N={n} samples) and the "
             f"training set the other {n - n_test}, but X_test holds the other 80% ({what}).")
    if got_test == n_test + 1 and got_train == n - n_test - 1:
        fail(f"X_test should hold int(0.2 * N) = {n_test} samples with N={n}, but it holds one "
             f"sample too many ({what}): int() rounds down; no math.ceil, round or + 1.")
    if got_test == n_test and got_train == n - n_test - 1:
        fail(f"X_train should hold the other N - int(0.2 * N) = {n - n_test} samples, but it "
             f"misses one sample ({what}): the training set starts right after the test set, "
             "X[test_size:].")


def diagnose_split(shuffle_and_split_data):
    """Call the student's function on N=7, where the common mistakes of the sizes give shapes
    that tell them apart (at N=1 a swapped return and a test set one sample too big look alike),
    and fail naming the one it makes; return when it makes none of them."""
    n = 7
    X = torch.stack([torch.arange(n, dtype=torch.float32), torch.zeros(n)], dim=1)
    y = torch.arange(n) % 2
    what = f"shuffle_and_split_data on X of shape {tuple(X.shape)} with seed=0"
    diagnose_sizes(what, n, int(0.2 * n), (2,), run_split(shuffle_and_split_data, X, y, 0, what))


def check_split_form(what, X, y, out):
    X_test, y_test, X_train, y_train = out
    n = len(X)
    n_test = int(0.2 * n)
    feature_shape = tuple(X.shape[1:])
    expect_shape("X_test (first output)", X_test, (n_test, *feature_shape),
                 f"With N={n} the test set holds int(0.2 * N) = {n_test} samples, the training set "
                 f"the other {n - n_test}. {ORDER}")
    expect_shape("y_test (second output)", y_test, (n_test,), ORDER)
    rest = (f"With N={n} the training set holds the other N - int(0.2 * N) = {n - n_test} samples: "
            f"every sample after the test set. {ORDER}")
    expect_shape("X_train (third output)", X_train, (n - n_test, *feature_shape), rest)
    expect_shape("y_train (fourth output)", y_train, (n - n_test,), rest)
    for name, got, ref in (("X_test", X_test, X), ("y_test", y_test, y), ("X_train", X_train, X),
                           ("y_train", y_train, y)):
        if got.dtype != ref.dtype:
            fail(f"{name} should keep the dtype of the input ({ref.dtype}), got {got.dtype} ({what}). "
                 "Index the tensors with the permutation; do not convert them.")
        if got.device != ref.device:
            fail(f"{name} should stay on the input's device ({ref.device}), got {got.device} ({what}).")


def check_split_content(what, X, y, out):
    """Every sample exactly once, each with its own label, and not in the original order."""
    X_test, y_test, X_train, y_train = out
    position = {value: i for i, value in enumerate(row_ids(X))}
    rows_out = torch.cat([X_test, X_train]).detach().cpu()
    labels_out = torch.cat([y_test, y_train]).detach().cpu()
    try:
        order = [position[value] for value in row_ids(rows_out)]
    except KeyError:
        fail(f"X_test and X_train should hold the rows of X, but some rows are not in the input "
             f"({what}): shuffle by indexing X with a permutation of its rows.")
    if sorted(order) != list(range(len(X))):
        fail(f"every sample should appear exactly once in X_test or X_train, but some appear twice "
             f"and others not at all ({what}). Use one permutation of 0..N-1, e.g. torch.randperm(N).")
    order_t = torch.tensor(order, dtype=torch.long)
    if not torch.equal(rows_out, X.detach().cpu()[order_t]):
        fail(f"the rows of X should only be reordered, but some were changed ({what}).")
    if not torch.equal(labels_out, y.detach().cpu()[order_t]):
        fail(f"every label should stay with its sample, but some labels no longer belong to "
             f"their samples ({what}): shuffle X and y with the SAME permutation (draw it once, "
             "index both with it).")
    if len(X) >= 10 and order == list(range(len(X))):
        fail(f"the samples should be shuffled, but they come back in their original order "
             f"({what}): shuffle before splitting, otherwise the test set is just the first class.")


def check_shuffle_and_split_data_split(shuffle_and_split_data, *, reference):
    with student_state_kept():
        for what, X, y, seed in split_cases("split"):
            # X and y live where the student's code runs, so changes made in place show
            X_there = in_student_kernel_ref("torch.clone", X)
            y_there = in_student_kernel_ref("torch.clone", y)
            out = run_split(shuffle_and_split_data, X_there, y_there, seed, what)
            if not (torch.equal(fetch(X_there).cpu(), X.cpu()) and torch.equal(fetch(y_there).cpu(), y.cpu())):
                fail(f"X and y should be left as they were, but {what} changed them in place: "
                     "return shuffled copies (X = X[indices] makes one).")
            try:
                check_split_form(what, X, y, out)
            except CheckFailed:
                diagnose_split(shuffle_and_split_data)   # fails naming the mistake, if common
                raise
            check_split_content(what, X, y, out)


def check_shuffle_and_split_data_seed(shuffle_and_split_data, *, reference):
    with student_state_kept():
        seed_checks(shuffle_and_split_data, reference)


def seed_checks(shuffle_and_split_data, reference):
    gen = generator(CHAPTER, "seed")
    for what, X, y, seed in split_cases("seed"):
        first = run_split(shuffle_and_split_data, X.clone(), y.clone(), seed, what)
        # other random draws where the student's code runs, before the second call
        in_student_kernel("torch.manual_seed", int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
        in_student_kernel("torch.rand", 17)
        again = call(shuffle_and_split_data, X.clone(), y.clone(), seed, what=what)
        if len(X) >= 2 and not all(torch.equal(a, b) for a, b in zip(first, again)):
            fail(f"the same seed should give the same split, but {what} gave a different one when "
                 f"called again after other random draws: the split should depend on the seed only. "
                 f"{SEED_HINT}")
        if len(X) >= 10:
            other = run_split(shuffle_and_split_data, X.clone(), y.clone(), seed + 1, what)
            if torch.equal(first[2], other[2]):
                fail(f"different seeds should give different splits, but {what} gave the same "
                     f"split for seed={seed + 1}: use the seed argument. {SEED_HINT}")
    # Any permutation drawn from the seed alone is accepted: the exercise asks for a reproducible
    # shuffle, not for the permutation of one generator (docs/fairness.md).


# --- train_test_classification ----------------------------------------------------------------

def toy_problem(gen: torch.Generator, n: int, classes: int, dtype=torch.float32):
    """n points in the plane, labelled (as floats, like the spiral data) by the angle sector."""
    X = torch.randn(n, 2, generator=gen, dtype=torch.float64)
    angle = torch.atan2(X[:, 1], X[:, 0]) + math.pi
    y = torch.clamp((angle / (2 * math.pi) * classes).long(), max=classes - 1).float()
    return X.to(dtype), y


def build_model(gen: torch.Generator, hidden=(12,), classes=3, batchnorm=False, device="cpu"):
    """A small classifier built where the student's code runs, with weights drawn from gen;
    returns it and a local twin (same layers, same weights) for the reference to train.

    With batchnorm, layer 1 is a BatchNorm1d: its num_batches_tracked counts the forward passes
    made in training mode, which tells whether the loop switched modes."""
    with own_random_state():
        local, width = [], 2
        for units in hidden:
            local.append(nn.Linear(width, units))
            if batchnorm:
                local.append(nn.BatchNorm1d(units))
            local.append(nn.ReLU())
            width = units
        local.append(nn.Linear(width, classes))
        twin = nn.Sequential(*local)
    state = twin.state_dict()
    for index, layer in enumerate(local):
        if isinstance(layer, nn.Linear):
            for name in ("weight", "bias"):
                key = f"{index}.{name}"
                state[key] = torch.randn(state[key].shape, generator=gen) / math.sqrt(layer.in_features)
    twin.load_state_dict(state)
    remote = []
    for layer in local:
        if isinstance(layer, nn.Linear):
            remote.append(in_student_kernel("torch.nn.Linear", layer.in_features, layer.out_features))
        elif isinstance(layer, nn.BatchNorm1d):
            remote.append(in_student_kernel("torch.nn.BatchNorm1d", layer.num_features))
        else:
            remote.append(in_student_kernel("torch.nn.ReLU"))
    model = in_student_kernel("torch.nn.Sequential", *remote)
    model.load_state_dict(state)
    model = model.to(device)
    return model, twin


def build_loader(X, y, batch_size, shuffle, seed, local=False):
    """DataLoader(TensorDataset(X, y)) where the student's code runs (or here, with local)."""
    make = (lambda name, *a, **k: operator.attrgetter(name.split(".", 1)[1])(torch)(*a, **k)) \
        if local else in_student_kernel
    dataset = make("torch.utils.data.TensorDataset", X, y)
    if not shuffle:
        return make("torch.utils.data.DataLoader", dataset, batch_size=batch_size)
    order = make("torch.Generator")
    order.manual_seed(seed)
    return make("torch.utils.data.DataLoader", dataset, batch_size=batch_size, shuffle=True,
                generator=order)


def train(fn, model, optimizer, train_loader, test_loader, epochs, what, device="cpu"):
    """Run the student's loop on objects that live where the student's code runs."""
    criterion = in_student_kernel("torch.nn.CrossEntropyLoss")
    return call(fn, model, criterion, optimizer, train_loader, test_loader, num_epochs=epochs,
                verbose=False, training_plot=False, device=device, what=what)


def adam_steps(optimizer) -> int:
    """How many steps an Adam optimizer has made (0 before the first)."""
    state = fetch(optimizer.state_dict())["state"]
    return int(next(iter(state.values()))["step"]) if state else 0


def trained_in_training_mode(model) -> int:
    """num_batches_tracked of the BatchNorm1d layer 1: forward passes made in training mode."""
    return int(fetch(model.state_dict())["1.num_batches_tracked"])


def accuracies(result, what):
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        fail(f"{what} should return two numbers (train_acc, test_acc), got "
             f"{type(result).__name__}" + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else "")
             + ".")
    try:
        return [float(v) for v in result]
    except (TypeError, ValueError, RuntimeError):
        fail(f"{what} should return two numbers (train_acc, test_acc), got {result!r}.")


def true_accuracy(model, X, y, device):
    """(accuracy in percent, tolerance) of the trained model in evaluation mode. The tolerance
    allows float32 arithmetic and points whose two largest outputs are so close that evaluating
    in other batch sizes may flip them."""
    model.eval()
    outputs = fetch(model(X.to(device).float())).detach().cpu()
    predicted = outputs.argmax(dim=1)
    top2 = outputs.topk(2, dim=1).values
    ambiguous = int(((top2[:, 0] - top2[:, 1]).abs() < 1e-4).sum())
    return 100 * (predicted == y.long()).double().mean().item(), 1e-3 + 100 * ambiguous / len(X)


def expect_accuracy(name, got, expected_and_tolerance, other, n, what):
    expected, tolerance = expected_and_tolerance
    other = other[0]
    if abs(got - expected) <= tolerance:
        return
    if abs(got - expected / 100) <= tolerance / 100:
        fail(f"{name} should be a percentage from 0 to 100, got {got:.4g} (a fraction?) for "
             f"{expected:.2f}% ({what}). Multiply correct / total by 100.")
    if abs(got - other) <= tolerance and abs(expected - other) > tolerance:
        fail(f"{name} should be {expected:.2f} (the model's accuracy on that loader), but it is "
             f"{got:.2f}, the accuracy on the other loader ({what}). Return (train_acc, test_acc), "
             "each measured on its own loader.")
    fail(f"{name} should be {expected:.2f} (100 * correct / total over all {n} samples of the "
         f"loader, after training), got {got:.4g} ({what}). Count correct predictions and samples "
         "over every batch, and divide once at the end.")


# (n_train, n_test, batch size, epochs, with a BatchNorm layer): batch norm needs batches of 2 or
# more in training mode, so the cases with single-sample batches train a plain MLP.
CASES = [(50, 18, 16, 3, True), (40, 9, 64, 2, True), (33, 1, 16, 2, False), (12, 5, 1, 2, False)]


def cases(name: str):
    for n_train, n_test, batch, epochs, batchnorm in CASES:
        for device in devices():
            what = (f"train_test_classification on {n_train} training and {n_test} test samples, "
                    f"batch size {batch}, {epochs} epochs ({device})")
            yield what, n_train, n_test, batch, epochs, batchnorm, device


def check_train_test_classification_training(train_test_classification, *, reference):
    with student_state_kept():
        gen = generator(CHAPTER, "training")
        for what, n_train, n_test, batch, epochs, batchnorm, device in cases("training"):
            X, y = toy_problem(gen, n_train + n_test, 3, dtype=torch.float64)  # the loop casts
            model, _ = build_model(gen, batchnorm=batchnorm, device=device)
            model.eval()  # as after an earlier evaluation: training must switch training mode on
            optimizer = in_student_kernel("torch.optim.Adam", model.parameters(), lr=0.01)
            seed = int(torch.randint(0, 2**31 - 1, (1,), generator=gen))
            train(train_test_classification, model, optimizer,
                  build_loader(X[:n_train], y[:n_train], batch, True, seed),
                  build_loader(X[n_train:], y[n_train:], batch, False, seed), epochs, what, device)
            batches = math.ceil(n_train / batch)
            steps = adam_steps(optimizer)
            if steps != epochs * batches:
                hint = (" An optimizer.step() before loss.backward() finds no gradients and does "
                        "nothing: the order is zero_grad, forward, loss, backward, step."
                        if steps == 0 else "")
                fail(f"{what} made {steps} optimizer steps; it should make one per batch in every "
                     f"epoch: {epochs} x {batches} = {epochs * batches}.{hint}")
            if batchnorm and trained_in_training_mode(model) == 0:
                fail(f"the forward passes of training should run in training mode, but they ran in "
                     f"evaluation mode ({what}): call net.train() before the training loop (the "
                     "net may come in evaluation mode).")
        check_gradients_cleared(train_test_classification, gen)
        check_same_weights_as_reference(train_test_classification, reference, gen)


def check_gradients_cleared(fn, gen):
    """With a learning rate of 0 the weights stay put, so the gradient left after training is
    one batch's gradient (or zero/None); accumulated gradients are a multiple of it."""
    X, y = toy_problem(gen, 24, 3)
    model, twin = build_model(gen)
    optimizer = in_student_kernel("torch.optim.SGD", model.parameters(), lr=0.0)
    what = "train_test_classification for 3 epochs of one batch with a learning rate of 0"
    loader = build_loader(X, y, 24, False, 0)
    train(fn, model, optimizer, loader, loader, 3, what)
    names = [name for name, _ in twin.named_parameters()]
    left = in_student_kernel("operator.attrgetter", *(f"{n}.grad" for n in names))(model)
    one = torch.autograd.grad(nn.CrossEntropyLoss()(twin(X), y.long()), list(twin.parameters()))
    for name, grad, single in zip(names, left, one):
        grad = fetch(grad)
        if grad is None or torch.allclose(grad, torch.zeros_like(grad)) or torch.allclose(grad, single, atol=1e-6):
            continue
        if torch.allclose(grad, 3 * single, atol=1e-5):
            fail(f"the gradients should be cleared at every step, but they add up ({what}: "
                 f"{name}.grad is 3 times one step's gradient): call optimizer.zero_grad() before "
                 "each backward pass.")
        fail(f"after training, {name}.grad should be the gradient of the last batch's loss, but "
             f"it is not ({what}): each step should clear the gradients, compute criterion(outputs, "
             "labels), call loss.backward(), then optimizer.step().")


def check_same_weights_as_reference(fn, reference, gen):
    """One batch per epoch: the batch order cannot matter, so the weights after training must
    equal the reference's, whatever the loop's style."""
    X, y = toy_problem(gen, 40, 3, dtype=torch.float64)
    model, twin = build_model(gen, hidden=(10, 6))
    epochs = 4
    what = f"train_test_classification with SGD(lr=0.1) for {epochs} epochs of one batch"
    loader = build_loader(X, y, 64, True, 1)
    train(fn, model, in_student_kernel("torch.optim.SGD", model.parameters(), lr=0.1), loader,
          loader, epochs, what)
    local_loader = build_loader(X, y, 64, True, 1, local=True)
    with own_random_state():
        reference.train_test_classification(twin, nn.CrossEntropyLoss(),
                                            torch.optim.SGD(twin.parameters(), lr=0.1),
                                            local_loader, local_loader, num_epochs=epochs,
                                            verbose=False, training_plot=False, device="cpu")
    got = fetch(model.state_dict())
    for name, expected in twin.state_dict().items():
        expect_close(f"parameter {name} after training", got[name], expected, atol=1e-5,
                     rtol=1e-4, context=f" ({what})",
                     hint="Each batch: optimizer.zero_grad(), outputs = net(inputs), "
                          "loss = criterion(outputs, labels), loss.backward(), optimizer.step(); "
                          "and exactly num_epochs passes.")


def check_train_test_classification_accuracy(train_test_classification, *, reference):
    with student_state_kept():
        gen = generator(CHAPTER, "accuracy")
        for what, n_train, n_test, batch, epochs, batchnorm, device in cases("accuracy"):
            X, y = toy_problem(gen, n_train + n_test, 3)
            model, _ = build_model(gen, batchnorm=batchnorm, device=device)
            optimizer = in_student_kernel("torch.optim.Adam", model.parameters(), lr=0.05)
            seed = int(torch.randint(0, 2**31 - 1, (1,), generator=gen))
            result = train(train_test_classification, model, optimizer,
                           build_loader(X[:n_train], y[:n_train], batch, True, seed),
                           build_loader(X[n_train:], y[n_train:], batch, False, seed),
                           epochs, what, device)
            train_acc, test_acc = accuracies(result, what)
            if batchnorm:
                # one forward pass in training mode per training batch; more: evaluated in it
                if trained_in_training_mode(model) > epochs * math.ceil(n_train / batch):
                    fail(f"the accuracy should be measured in evaluation mode, but the net was in "
                         f"training mode ({what}): call net.eval() after training, before "
                         "evaluating.")
            expected_train = true_accuracy(model, X[:n_train], y[:n_train], device)
            expected_test = true_accuracy(model, X[n_train:], y[n_train:], device)
            expect_accuracy("train_acc (first output)", train_acc, expected_train, expected_test,
                            n_train, what)
            expect_accuracy("test_acc (second output)", test_acc, expected_test, expected_train,
                            n_test, what)
