"""The hidden checks of the MNIST chapter against the catalog of student answers, in-process and
as under the grader (the check runs in the oracle on proxies of objects that stay on the
student's side, autograder.sandbox.loopback)."""
import contextlib

import nbformat
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from tqdm.auto import tqdm

from autograder.checks.compare import CheckFailed
from autograder.hidden import check, check_function, reference_module
from autograder.sandbox import loopback
from core import paths
from tests.catalog.mnist import CHECKED_OBJECTS, CHECKS, CORRECT, WRONG
from tests.helpers import find_cell, run_answer

SLUG = "mnist"
RUNNERS = {"in_process": check, "grader": loopback.check}


@pytest.fixture(scope="module")
def reference():
    with torch.random.fork_rng(devices=[]):
        return reference_module(SLUG)


@pytest.fixture(scope="module")
def helpers():
    """The helpers the master's train_steps check cell defines (for its visible asserts; the
    hidden checks use the grader's own): an answer cell can define the same names."""
    master = nbformat.read(str(paths.BOOK / "06_mnist.ipynb"), as_version=4)
    source = find_cell(master, "check", "train_steps").source
    definitions = source.split("# Three small batches")[0]
    return run_answer(definitions, {"nn": nn, "F": F})


def objects(exercise: str, code: str, reference, helpers) -> list:
    """Run an answer cell as the notebook would (with its imports and the earlier answers)."""
    namespace = {"nn": nn, "F": F, "optim": optim, "tqdm": tqdm,
                 "MultiLayerPerceptron": reference.MultiLayerPerceptron,
                 "train": reference.train, "test": reference.test}
    with torch.random.fork_rng(devices=[]):
        namespace = run_answer(code, namespace)
    return [namespace[name] for name in CHECKED_OBJECTS[exercise]]


def failures(exercise: str, code: str, reference, helpers, runner=check) -> dict[str, str]:
    found = {}
    for name in CHECKS[exercise]:
        try:
            runner(SLUG, name, *objects(exercise, code, reference, helpers))
        except CheckFailed as failure:
            found[name] = str(failure)
    return found


def test_catalog_is_big_enough():
    for exercise in CHECKS:
        assert len(CORRECT[exercise]) >= 4 and len(WRONG[exercise]) >= 5, exercise


# Every catalog entry, in-process and through the oracle (correct ones pass, wrong ones are told
# their own mistake and no other): tests/test_checks_catalogs.py.


# The mistakes the issue names (and a few more) get a message that names them.
NAMED = [
    ("train", "no_zero_grad", "train_steps", "zeroed at the start of every iteration"),
    ("train", "softmax_before_loss", "train_steps", "went through softmax"),
    ("train", "backward_inside_no_grad", "train_steps", "does not require grad.*torch.no_grad"),
    ("train", "accuracy_last_batch_only", "train_statistics", "last batch only"),
    ("train", "eval_mode", "train_steps", r"model\.train\(\)"),
    ("train", "step_before_backward", "train_steps", "none did"),
    ("train", "one_step_per_epoch", "train_steps", "one optimizer step per batch"),
    ("test", "no_eval", "test_evaluation", r"model\.eval\(\)"),
    ("test", "no_no_grad", "test_evaluation", r"torch\.no_grad\(\)"),
    ("test", "softmax_before_loss", "test_statistics", "went through softmax"),
    ("test", "backward_inside_no_grad", "test_evaluation", "raised RuntimeError.*backward"),
    ("test", "accuracy_last_batch_only", "test_statistics", "last batch only"),
    ("test", "mean_of_batch_accuracies", "test_statistics", "mean of the per-batch accuracies"),
    ("MultiLayerPerceptron", "softmax_output", "mlp_forward", "softmax"),
    ("MultiLayerPerceptron", "no_relu", "mlp_forward", "ReLU between the two layers is missing"),
    ("optimizer_and_loss", "sgd", "optimizer_and_loss_step", "Adam"),
    ("optimizer_and_loss", "optimizer_on_another_model", "optimizer_and_loss_step", "none moved"),
    ("optimizer_and_loss", "nll_loss", "optimizer_and_loss_step", "NLLLoss"),
    ("fit", "one_epoch_short", "fit_epochs", "3 epochs"),
    ("fit", "loaders_swapped", "fit_epochs", "order"),
    ("predict", "no_softmax", "predict_values", "softmax of the outputs"),
    ("predict", "no_eval", "predict_values", r"model\.eval\(\)"),
    ("confusion_matrix", "transposed", "confusion_matrix_counts", "transposed"),
    ("confusion_matrix", "fancy_index_without_accumulate", "confusion_matrix_counts", "once per distinct pair"),
]


@pytest.mark.parametrize("exercise,name,check_name,pattern", NAMED)
def test_messages_name_the_mistake(exercise, name, check_name, pattern, reference, helpers):
    with pytest.raises(CheckFailed, match=pattern):
        loopback.check(SLUG, check_name, *objects(exercise, WRONG[exercise][name], reference, helpers))


def test_stubs_report_not_implemented(helpers):
    def stub(*args, **kwargs):
        raise NotImplementedError()

    def fit(model, train_loader, test_loader, loss_fn, optimizer, epochs=5):
        raise NotImplementedError()

    cases = [("train_steps", stub), ("train_statistics", stub),
             ("test_evaluation", stub), ("test_statistics", stub),
             ("fit_epochs", fit), ("predict_values", stub),
             ("confusion_matrix_counts", stub), ("mlp_structure", stub)]
    for name, *objs in cases:
        with pytest.raises(CheckFailed, match="not implemented"):
            loopback.check(SLUG, name, *objs)


def test_checks_leave_the_students_random_state_and_objects_alone(reference, helpers):
    """Check functions draw from private generators and step copies only. (Loading the reference
    module draws from the global RNG, as it builds the reference `model`; so the checks run here
    with the module loaded once, as check_function gets them.)"""
    model, optimizer, loss_fn = objects("optimizer_and_loss", CORRECT["optimizer_and_loss"]["tutorial"],
                                        reference, helpers)
    weights = [p.detach().clone() for p in model.parameters()]
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    check_function(SLUG, "optimizer_and_loss_step")(model, optimizer, loss_fn, reference=reference)
    for name, exercise in [("train_steps", "train"), ("train_statistics", "train"), ("test_statistics", "test"),
                           ("fit_epochs", "fit"), ("mlp_forward", "MultiLayerPerceptron"),
                           ("predict_values", "predict"), ("confusion_matrix_counts", "confusion_matrix")]:
        objs = objects(exercise, CORRECT[exercise]["reference" if "reference" in CORRECT[exercise] else "tutorial"],
                       reference, helpers)
        check_function(SLUG, name)(*objs, reference=reference)
    assert torch.equal(torch.rand(3), expected)
    assert all(torch.equal(p, w) for p, w in zip(model.parameters(), weights))
    assert not optimizer.state, "the check stepped the student's optimizer"


# --- Cause 1 of the hardening: nothing in the student's kernel is trusted ------------------------
# Each attack scored its point on the code before the hardening (the check cell passed helpers an
# answer cell could redefine, the reference optimizer came from the kernel's torch.optim, printed
# numbers were compared so that NaN passed, and the hidden test data gave the visible 60%); each
# pairs with a control: the reference answer passes the same check through the same runner.

def fake_probe_class():
    """The _Probe an answer cell can define: it records three evaluation-mode calls, always."""
    class _Probe(nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net, self.calls = net, []
            for _ in range(3):
                self.calls.append((False, False, torch.zeros(16, 10)))

        def forward(self, x):
            return self.net(x)
    return _Probe


def test_a_probe_redefined_by_an_answer_cell_earns_nothing(reference):
    def test(model, test_loader, loss_fn, epoch=-1):   # does nothing
        pass
    with pytest.raises(CheckFailed, match="once per batch"):
        loopback.check(SLUG, "test_evaluation", test, fake_probe_class(), lambda f, *a, **k: "")
    loopback.check(SLUG, "test_evaluation", reference.test)   # control


@contextlib.contextmanager
def client_patched(**helpers):
    """An answer cell that replaces the grader's own kernel-side helpers (``import
    autograder.hidden; autograder.hidden.probe = ...``): the kernel's copy of the client is the
    student's to change, like anything else in the kernel. In loopback the 'kernel' is this
    process, so the patch is undone afterwards."""
    import autograder.hidden as client
    saved = {name: getattr(client, name) for name in helpers}
    for name, helper in helpers.items():
        setattr(client, name, helper)
    try:
        yield
    finally:
        for name, helper in saved.items():
            setattr(client, name, helper)


def forged_probe(sizes):
    """A probe whose recordings claim evaluation-mode calls on batches of these sizes (zeros as
    outputs) and that runs nothing."""
    def probe(net):
        class Forged(nn.Module):
            def __init__(self):
                super().__init__()
                self.net = net
                self.calls = [(False, False, torch.zeros(size, 10)) for size in sizes]

            def forward(self, x):
                return self.net(x)
        return Forged()
    return probe


def test_a_probe_patched_into_the_kernels_client_earns_nothing(reference):
    def test(model, test_loader, loss_fn, epoch=-1):   # does nothing
        pass
    with client_patched(probe=forged_probe([16, 16, 8])):
        with pytest.raises(CheckFailed, match="test\\(\\) should give the model each batch"):
            loopback.check(SLUG, "test_evaluation", test)
    loopback.check(SLUG, "test_evaluation", reference.test)   # control


def test_fit_with_forged_recordings_and_printed_lines_earns_nothing(reference):
    lines = "".join(f"Epoch {e} done. Average train loss = 1.00\nEpoch {e} done. Average test loss = 1.00\n"
                    for e in (1, 2, 3))

    def printed(function, *args, **kwargs):   # the capture of what fit printed, forged
        function(*args, **kwargs)
        return lines

    def fit(model, train_loader, test_loader, loss_fn, optimizer, epochs=5):   # does nothing
        pass
    with client_patched(probe=forged_probe([8, 8, 5] * 3), printed=printed):
        with pytest.raises(CheckFailed, match="fit"):
            loopback.check(SLUG, "fit_epochs", fit)
    loopback.check(SLUG, "fit_epochs", reference.fit)   # control


def probe_claiming_evaluation(net):
    """A probe that runs the network and records every call as made in evaluation mode without
    gradients, whatever the mode and gradients were."""
    class Claims(nn.Module):
        def __init__(self):
            super().__init__()
            self.net, self.calls = net, []

        def forward(self, x):
            out = self.net(x)
            self.calls.append((False, False, out.detach().clone()))
            return out
    return Claims()


TEST_WITHOUT_EVAL_OR_NO_GRAD = """
def test(model, test_loader, loss_fn, epoch=-1):
    for images, targets in test_loader:
        model(images)
"""


def test_forged_mode_and_gradient_flags_do_not_stand_for_eval_and_no_grad(reference):
    import inspect
    namespace = {}
    exec(TEST_WITHOUT_EVAL_OR_NO_GRAD, namespace)   # runs the model on every batch, as it should
    with client_patched(probe=probe_claiming_evaluation):
        with pytest.raises(CheckFailed, match="evaluation mode"):
            loopback.check(SLUG, "test_evaluation", namespace["test"],
                           source=TEST_WITHOUT_EVAL_OR_NO_GRAD)
        loopback.check(SLUG, "test_evaluation", reference.test,   # control: the same probe
                       source=inspect.getsource(reference.test))


def test_the_optimizer_check_never_uses_the_kernels_adam(reference):
    """The answer cell replaced torch.optim.Adam with an optimizer that does nothing, and used it:
    before, the check's own reference step used the (replaced) kernel Adam and both moved 0."""
    import torch.optim

    class Still(torch.optim.Optimizer):
        def __init__(self, params, lr=1e-3):
            super().__init__(params, {"lr": lr})

        def step(self, closure=None):
            return None
    model = reference.MultiLayerPerceptron()
    loopback._modules(SLUG)   # the oracle loads the checks before any student code runs
    saved = torch.optim.Adam
    torch.optim.Adam = Still   # here the kernel and the oracle share one torch
    try:
        with pytest.raises(CheckFailed, match="none moved"):
            loopback.check(SLUG, "optimizer_and_loss_step", model,
                           torch.optim.Adam(model.parameters(), lr=1e-2), nn.CrossEntropyLoss())
    finally:
        torch.optim.Adam = saved
    loopback.check(SLUG, "optimizer_and_loss_step", model,   # control
                   torch.optim.Adam(model.parameters(), lr=1e-2), nn.CrossEntropyLoss())


def printing_test(reference, line: str):
    """A test() that runs the reference's evaluation silently, then prints `line`."""
    import contextlib
    import io

    def test(model, test_loader, loss_fn, epoch=-1):
        with contextlib.redirect_stdout(io.StringIO()):
            reference.test(model, test_loader, loss_fn, epoch)
        print(line)
    return test


@pytest.mark.parametrize("line", [
    "Epoch 1 done. Average test loss = nan, average test accuracy = nan%",
    "Epoch 1 done. Average test loss = {loss}, average test accuracy = 60.000%",
])
def test_printed_nan_or_the_visible_checks_constant_earn_nothing(reference, line):
    import contextlib
    import io
    text = io.StringIO()
    with contextlib.redirect_stdout(text):    # the true loss line, to print the same loss
        loopback.check(SLUG, "test_statistics", reference.test)   # control: passes
    loss = text.getvalue().split("loss = ")[-1].split(",")[0] if "loss = " in text.getvalue() else "0.00"
    with pytest.raises(CheckFailed, match="should print"):
        loopback.check(SLUG, "test_statistics", printing_test(reference, line.format(loss=loss)))
