"""The oracle protocol without a notebook: checks run on proxies of objects that live on the other
end of a socket, verdicts are the oracle's, and what a kernel sends is never unpickled. Fast."""
import math
import socket
import struct
import threading
import types

import pytest
import torch
import torch.nn as nn

from autograder.checks.compare import CheckFailed
from autograder.sandbox import kernel_client, loopback
from autograder.sandbox.kernel_client import Codec, ProtocolError, recv_frame, send_frame
from autograder.sandbox.oracle import Oracle, load_module

CHECKS = '''
import copy, inspect
import torch
from autograder.checks.compare import (call, call_ref, expect_close, fail, fetch, in_student_kernel,
    in_student_kernel_ref, is_instance, is_remote, seed_student_kernel, type_name)

def check_double(f, *, reference):
    expect_close("f(x)", call(f, torch.arange(4.0), what="f(x)"), reference.double(torch.arange(4.0)))

def check_value(Value, *, reference):
    a, b = Value(2.0), Value(-3.0)
    c = a * b + a
    d = 2 * c - 1 + c ** 2
    d.backward()
    want = (2 + 2 * c.data) * (b.data + 1)
    if abs(a.grad - want) > 1e-9:
        fail(f"a.grad should be {want}, got {a.grad}")

def check_net(Net, *, reference):
    seed_student_kernel(0)
    net = Net(3, 2)
    if not isinstance(net, torch.nn.Module) or not issubclass(Net, torch.nn.Module):
        fail(f"Net should be an nn.Module, got {type_name(net)}")
    assert is_instance(net, "torch.nn.Module") and is_remote(net)
    params = {id(p) for p in net.parameters()}
    if {id(p) for p in net.parameters()} != params or len(params) != 2:
        fail("parameters are not stable")
    state = {k: torch.ones_like(v) for k, v in net.state_dict().items()}
    net.load_state_dict(state)
    expect_close("net(x)", net(torch.ones(4, 3)), torch.full((4, 2), 4.0))
    twin = copy.deepcopy(net)
    twin.load_state_dict({k: torch.zeros_like(v) for k, v in state.items()})
    expect_close("original after changing the copy", net(torch.ones(1, 3)), torch.full((1, 2), 4.0))
    if list(inspect.signature(Net).parameters) != ["n_in", "n_out"]:
        fail(str(inspect.signature(Net)))

def check_train(train, Net, *, reference):
    seed_student_kernel(1)
    X, y = torch.randn(32, 3), torch.randint(0, 2, (32,))
    loader = in_student_kernel("torch.utils.data.DataLoader",
                               in_student_kernel("torch.utils.data.TensorDataset", X, y), batch_size=8)
    model = Net(3, 2)
    optimizer = in_student_kernel("torch.optim.SGD", model.parameters(), lr=0.5)
    before = model.state_dict()
    loss = call(train, model, loader, in_student_kernel("torch.nn.CrossEntropyLoss"), optimizer,
                what="train(...)")
    if torch.equal(before["fc.weight"], model.state_dict()["fc.weight"]) or not isinstance(loss, float):
        fail("train should update the model and return the loss")

def check_gradient(loss_fn, *, reference):
    x = in_student_kernel_ref("torch.tensor", [[1.0, 2.0], [0.5, -1.0]], requires_grad=True)
    loss = call_ref(loss_fn, x)
    loss.backward()
    expect_close("x.grad", fetch(x.grad), torch.tensor([[2.0, 4.0], [1.0, -2.0]]))

def check_in_place(shuffle, *, reference):
    data = in_student_kernel_ref("torch.arange", 6)
    shuffle(data)
    if torch.equal(fetch(data), torch.arange(6)):
        fail("shuffle should change its argument in place")

def check_raises(f, *, reference):
    call(f, 1, what="f(1)")

def check_leaks(f, *, reference):
    f(reference)

def check_equal(f, *, reference):
    if not torch.equal(call(f, torch.arange(4.0), what="f(x)"), reference.double(torch.arange(4.0))):
        fail("f(x) is wrong")
'''


def oracle_pair():
    checks = load_module("_demo_checks", CHECKS, "demo.py")
    reference = types.SimpleNamespace(double=lambda x: 2 * x)
    ours, theirs = socket.socketpair()
    return Oracle(ours, "demo", checks, reference, CheckFailed).start(), theirs


def run(name, *objects):
    oracle, sock = oracle_pair()
    try:
        kernel_client.run_check(sock, "demo", name, objects)
        return oracle, None
    except kernel_client.CheckFailed as failure:
        return oracle, str(failure)
    finally:
        sock.close()
        oracle.stop()


class Value:
    def __init__(self, data, children=()):
        self.data, self.grad, self._prev, self._backward = data, 0.0, children, lambda: None

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other))

        def backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other))

        def backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = backward
        return out

    def __pow__(self, k):
        out = Value(self.data ** k, (self,))

        def backward():
            self.grad += k * self.data ** (k - 1) * out.grad
        out._backward = backward
        return out

    __radd__, __rmul__ = __add__, __mul__

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def backward(self):
        order, seen = [], set()

        def visit(v):
            if v not in seen:
                seen.add(v)
                for child in v._prev:
                    visit(child)
                order.append(v)
        visit(self)
        self.grad = 1.0
        for v in reversed(order):
            v._backward()


class Net(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.fc = nn.Linear(n_in, n_out)

    def forward(self, x):
        return self.fc(x)


def train(model, loader, loss_fn, optimizer):
    total = 0.0
    for x, y in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        total += loss.item()
    return total


def test_functions_classes_operators_modules_and_loaders_work_through_proxies():
    assert run("double", lambda x: x * 2)[1] is None
    assert run("value", Value)[1] is None
    assert run("net", Net)[1] is None
    assert run("train", train, Net)[1] is None
    assert run("gradient", lambda x: (x ** 2).sum())[1] is None
    assert run("in_place", lambda t: t.copy_(t.flip(0)))[1] is None


def test_failures_carry_the_checks_message_and_the_oracle_keeps_the_verdict():
    oracle, message = run("double", lambda x: x * 3)
    assert message.startswith("f(x) is wrong: at index (3,) it is 9 but should be 6")
    assert oracle.verdict(["double"]) == ("fail", message)
    assert oracle.verdict(["value"])[0] == "not run"
    _, message = run("raises", lambda x: (_ for _ in ()).throw(NotImplementedError()))
    assert "not implemented yet" in message
    _, message = run("in_place", lambda t: t.flip(0))
    assert message == "shuffle should change its argument in place"


def test_unknown_checks_other_chapters_and_oracle_objects_are_errors():
    assert "no hidden test named" in run("nope", len)[1]
    oracle, sock = oracle_pair()
    with pytest.raises(kernel_client.CheckFailed, match="belongs to chapter"):
        kernel_client.run_check(sock, "other", "double", [len])
    oracle.stop()
    message = run("leaks", lambda ref: None)[1]   # the reference never reaches the kernel
    assert "cannot be sent to the student's kernel" in message


def test_a_kernel_that_dies_mid_check_gets_no_pass():
    oracle, sock = oracle_pair()
    send_frame(sock, {"op": "check", "slug": "demo", "check": "double",
                      "args": [{"$": "ref", "id": 1, "type": "function", "repr": "f"}]}, [])
    request, _ = recv_frame(sock)
    assert request["op"] == "call"
    sock.close()
    oracle.stop()
    assert oracle.verdict(["double"])[0] == "gone"


def test_garbage_and_oversized_frames_stop_the_oracle_without_a_verdict():
    oracle, sock = oracle_pair()
    sock.sendall(b"GET / HTTP/1.1\r\n\r\n" * 10)
    oracle.thread.join(5)
    assert not oracle.thread.is_alive() and oracle.verdicts == {}
    oracle, sock = oracle_pair()
    sock.sendall(struct.pack("!4sII", b"MLPG", 2**31, 0))
    oracle.thread.join(5)
    assert not oracle.thread.is_alive() and oracle.verdicts == {}


def test_values_are_decoded_without_pickle_and_only_plain_dtypes():
    codec = Codec()
    blobs = []
    value = {"t": torch.arange(6.0).reshape(2, 3), "n": (1, 2.5, "s", None, [True]),
             "big": 2**80, "c": 1 + 2j, "nan": math.nan}
    decoded = codec.decode(codec.encode(value, blobs), blobs)
    assert torch.equal(decoded["t"], value["t"]) and decoded["n"] == value["n"]
    assert decoded["big"] == 2**80 and math.isnan(decoded["nan"])
    for bad in ({"$": "ndarray", "dtype": "|O", "shape": [1], "b": 0},
                {"$": "tensor", "dtype": "float32", "shape": [10**6], "b": 0},
                {"$": "pickle", "b": 0}):
        with pytest.raises((ProtocolError, TypeError, ValueError)):
            codec.decode(bad, [b"\x80\x04K\x01."])


def test_loopback_reports_like_the_grader():
    import numpy as np
    torch.manual_seed(3)
    expected = torch.rand(2)
    torch.manual_seed(3)
    np.random.seed(7)
    numpy_state = np.random.get_state()
    with pytest.raises(CheckFailed, match="relu_acts .* sign"):
        from tests.catalog.relu_approximation import WRONG
        from tests.helpers import run_answer
        fn = run_answer(WRONG["bias_sign_flipped"])["approximate_function"]
        loopback.check("relu_approximation", "approximate_function_values", fn)
    assert torch.equal(torch.rand(2), expected)  # the caller's random state is left alone
    after = np.random.get_state()
    assert after[0] == numpy_state[0] and np.array_equal(after[1], numpy_state[1])
    assert after[2:] == numpy_state[2:]


def test_a_check_cannot_be_nested_inside_the_code_it_checks():
    seen = []

    def sneaky(x):
        try:
            kernel_client.check("demo", "double", lambda y: 2 * y)
        except Exception as err:  # noqa: BLE001
            seen.append(type(err).__name__)
        return 2 * x
    kernel_client._BUSY = True
    try:
        assert run("double", sneaky)[1] is None
    finally:
        kernel_client._BUSY = False
    assert seen and set(seen) == {"RuntimeError"}


def test_the_kernel_side_serves_requests_concurrently_safe():
    results = []
    threads = [threading.Thread(target=lambda: results.append(run("double", lambda x: 2 * x)[1]))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [None] * 4


# --- Cause 2 of the hardening: only plain tensors rebuilt from bytes reach the checks ------------

class LyingTensor(torch.Tensor):
    """A tensor subclass that says it is sparse (so it never travels by value) and records every
    operand a check hands it: on the code before the fix, expect_close computed `got - expected`
    in the kernel, giving the student the reference's values for the hidden inputs."""
    seen: list = []

    @property
    def layout(self):
        return torch.sparse_coo

    def __sub__(self, other):
        LyingTensor.seen.append(other)
        return torch.zeros(4)


def test_a_sparse_answer_fails_with_a_clear_message_and_a_dense_one_passes():
    _, message = run("double", lambda x: (2 * x).to_sparse())
    assert "should be a plain dense tensor" in message and "sparse_coo" in message
    assert run("double", lambda x: 2 * x)[1] is None   # control


def test_a_lying_tensor_never_receives_the_references_values():
    LyingTensor.seen.clear()
    oracle, message = run("double", lambda x: (2 * x).as_subclass(LyingTensor))
    assert LyingTensor.seen == [] and oracle.verdict(["double"])[0] == "fail"
    assert "should be a plain dense tensor" in message
    # control: a plain subclass travels by value, rebuilt from its bytes, and is graded on them
    assert run("double", lambda x: (2 * x).as_subclass(type("T", (torch.Tensor,), {})))[1] is None


def test_values_that_cannot_travel_stay_handles_and_fail_the_check():
    """Before the fix a meta tensor's encoding error escaped the kernel's side of the protocol
    (the check's cell raised, the oracle waited); now the value stays a handle and fails."""
    _, message = run("double", lambda x: torch.empty(4, device="meta"))
    assert "should be a plain dense tensor" in message and "meta" in message


CRASH = """
import sys, torch
sys.path.insert(0, {root!r})
from tests.test_isolation_oracle import run, LyingTensor
oracle, message = run("equal", lambda x: (2 * x).to_sparse())
print("VERDICT", oracle.verdict(["equal"]))
"""


def test_a_proxy_claiming_to_be_a_tensor_never_reaches_torchs_c_code():
    """Before the fix the proxy of a sparse answer said its class was torch.Tensor and
    torch.equal read it as one: a segmentation fault of the oracle's process (the grading
    worker; rc -11 here). Run in a process of its own for that."""
    import subprocess
    import sys
    from pathlib import Path
    root = str(Path(__file__).resolve().parents[1])
    done = subprocess.run([sys.executable, "-c", CRASH.format(root=root)], capture_output=True,
                          text=True, timeout=120, cwd=root)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "VERDICT ('fail', " in done.stdout and "not a plain tensor" in done.stdout
    assert run("equal", lambda x: 2 * x)[1] is None   # control
