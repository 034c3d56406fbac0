"""Reference solutions for the chapter 'backprop'.

GENERATED from book/05_backprop.ipynb by `make generate`: edit the master, never this file.
The hidden checks in autograder/ compare student code with these definitions.
"""



import os
import random

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm.auto import tqdm


# Imports of this chapter (all preinstalled in Colab)
import contextlib
import copy
import gc
import math
import time

import graphviz
from sklearn.datasets import make_moons


# Given: a from-scratch three-layer MLP. It computes what chapter 2's MLP computes (same weights,
# same random initialisation, same stored z1, a1, z2, a2, z3) but is written differently, so
# that this chapter does not hand out chapter 2's answer.
class MLP(nn.Module):
    """Three fully connected layers with ReLU between them, with the weights as plain tensors.

    Layer k (k = 1, 2, 3) has the weight matrix Wk of shape (units out, units in) and the bias bk.
    """

    def __init__(self, input_size: int, hidden_size1: int, hidden_size2: int, output_size: int):
        super().__init__()
        widths = [input_size, hidden_size1, hidden_size2, output_size]
        for k in (1, 2, 3):
            setattr(self, f"W{k}", nn.Parameter(torch.randn(widths[k], widths[k - 1])))
            setattr(self, f"b{k}", nn.Parameter(torch.randn(widths[k])))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # torch.addmm(b, A, M) computes b + A @ M: one pre-activation per layer
        self.z1 = torch.addmm(self.b1, x, self.W1.T)
        self.a1 = self.z1.clamp(min=0)  # ReLU
        self.z2 = torch.addmm(self.b2, self.a1, self.W2.T)
        self.a2 = self.z2.clamp(min=0)
        self.z3 = torch.addmm(self.b3, self.a2, self.W3.T)
        return self.z3


def backward(self, x: torch.Tensor, y: torch.Tensor, learning_rate: float) -> None:
    """One gradient-descent step on L = mean over the batch of the squared error summed over outputs.

    Call it right after self.forward(x). Shapes: x (N, d), y (N, K); z1, a1 (N, h1); z2, a2 (N, h2);
    z3 (N, K); W1 (h1, d), W2 (h2, h1), W3 (K, h2); every gradient has the shape of its parameter.
    """
    # 1. Gradient of the loss with respect to the output z3: loss_grad, shape (N, K)
    loss_grad = 2 * (self.z3 - y) / y.shape[0]

    # 2. Output layer: grad_W3 (K, h2) and grad_b3 (K,)
    grad_W3 = loss_grad.T @ self.a2
    grad_b3 = loss_grad.sum(dim=0)

    # 3. Back through W3 and the second ReLU: grad_a2 (N, h2), then grad_z2 (N, h2)
    grad_a2 = loss_grad @ self.W3
    grad_z2 = grad_a2 * (self.z2 > 0).float()

    # 4. Second hidden layer: grad_W2 (h2, h1) and grad_b2 (h2,)
    grad_W2 = grad_z2.T @ self.a1
    grad_b2 = grad_z2.sum(dim=0)

    # 5. Back through W2 and the first ReLU: grad_a1 (N, h1), then grad_z1 (N, h1)
    grad_a1 = grad_z2 @ self.W2
    grad_z1 = grad_a1 * (self.z1 > 0).float()

    # 6. First hidden layer: grad_W1 (h1, d) and grad_b1 (h1,)
    grad_W1 = grad_z1.T @ x
    grad_b1 = grad_z1.sum(dim=0)

    # 7. Gradient-descent step on all six parameters, in place: W <- W - learning_rate * dL/dW
    with torch.no_grad():
        self.W1 -= learning_rate * grad_W1
        self.b1 -= learning_rate * grad_b1
        self.W2 -= learning_rate * grad_W2
        self.b2 -= learning_rate * grad_b2
        self.W3 -= learning_rate * grad_W3
        self.b3 -= learning_rate * grad_b3


MLP.backward = backward


PARAMETER_NAMES = ("W1", "b1", "W2", "b2", "W3", "b3")


def mse_loss(y_hat, y):
    """The loss of this chapter: squared error summed over the outputs, averaged over the batch."""
    return ((y_hat - y) ** 2).sum(dim=1).mean()


def clone_mlp(model, dtype=None):
    """An independent copy of the model's parameters (optionally in another dtype), no stored activations."""
    sizes = (model.W1.shape[1], model.W1.shape[0], model.W2.shape[0], model.W3.shape[0])
    with torch.random.fork_rng(devices=[]):  # building a model draws random numbers; leave the global RNG alone
        twin = type(model)(*sizes)
    twin = twin.to(device=model.W1.device, dtype=dtype or model.W1.dtype)
    twin.load_state_dict(model.state_dict())
    return twin


def hand_gradients(model, x, y):
    """The gradients model.backward computes, read from the update it makes with learning_rate=1."""
    probe = clone_mlp(model)
    with torch.no_grad():
        probe.forward(x)
    before = {name: getattr(probe, name).detach().clone() for name in PARAMETER_NAMES}
    probe.backward(x, y, 1.0)
    return {name: before[name] - getattr(probe, name).detach() for name in PARAMETER_NAMES}


def autograd_gradients(model, x, y):
    """The same gradients from PyTorch's autograd."""
    probe = clone_mlp(model)
    loss = mse_loss(probe.forward(x), y)
    grads = torch.autograd.grad(loss, [getattr(probe, name) for name in PARAMETER_NAMES])
    return dict(zip(PARAMETER_NAMES, grads))


def numerical_gradients(model, x, y, eps=1e-6):
    """The same gradients by central finite differences: two forward passes per parameter entry."""
    probe = clone_mlp(model)
    grads = {}
    with torch.no_grad():
        for name in PARAMETER_NAMES:
            param = getattr(probe, name)
            grad = torch.zeros_like(param)
            for index in np.ndindex(*param.shape):
                saved = param[index].item()
                param[index] = saved + eps
                loss_plus = mse_loss(probe.forward(x), y).item()
                param[index] = saved - eps
                loss_minus = mse_loss(probe.forward(x), y).item()
                param[index] = saved
                grad[index] = (loss_plus - loss_minus) / (2 * eps)
            grads[name] = grad
    return grads


def relative_error(a, b):
    """Largest difference, relative to the size of the gradients."""
    return ((a - b).abs().max() / max(a.abs().max(), b.abs().max(), 1e-12)).item()


def gradient_check(model, x, y):
    """Compare model.backward's gradients with autograd and finite differences, in float64.

    Prints one line per parameter and returns the largest relative error of the two comparisons.
    """
    model64, x64, y64 = clone_mlp(model, torch.float64), x.double(), y.double()
    hand = hand_gradients(model64, x64, y64)
    auto = autograd_gradients(model64, x64, y64)
    numeric = numerical_gradients(model64, x64, y64)
    print(f"{'parameter':<10}{'shape':<10}{'hand vs autograd':>18}{'hand vs finite diff.':>22}")
    worst = 0.0
    for name in PARAMETER_NAMES:
        if hand[name].shape != auto[name].shape:
            raise ValueError(f"the gradient of {name} has shape {tuple(hand[name].shape)}, "
                             f"but {name} has shape {tuple(auto[name].shape)}")
        vs_auto, vs_numeric = relative_error(hand[name], auto[name]), relative_error(hand[name], numeric[name])
        worst = max(worst, vs_auto, vs_numeric)
        print(f"{name:<10}{str(tuple(auto[name].shape)):<10}{vs_auto:>18.1e}{vs_numeric:>22.1e}")
    return worst


def _no_backward():
    """The _backward of a leaf (a value not computed from others): nothing to pass on."""


class Value:
    """A scalar that remembers how it was computed, so that gradients can flow back through it."""

    __slots__ = ("data", "grad", "label", "_backward", "_prev", "_op")

    def __init__(self, data, label="", _children=(), _op=""):
        self.data = data              # the number
        self.grad = 0.0               # d(output) / d(this value), filled in by backward()
        self.label = label            # a name for drawings
        self._backward = _no_backward  # passes self.grad on to the children
        self._prev = _children        # the values this one was computed from
        self._op = _op                # the operation that produced it

    def __repr__(self):
        name = f"{self.label}: " if self.label else ""
        return f"Value({name}data={self.data:.4g}, grad={self.grad:.4g})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, "", (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, "", (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, other):
        assert isinstance(other, (int, float)), "only int and float powers are supported"
        out = Value(self.data**other, "", (self,), f"**{other}")

        def _backward():
            self.grad += other * self.data ** (other - 1) * out.grad

        out._backward = _backward
        return out

    def relu(self):
        out = Value(self.data if self.data > 0 else 0.0, "", (self,), "ReLU")

        def _backward():
            self.grad += (out.data > 0) * out.grad

        out._backward = _backward
        return out

    def tanh(self):
        out = Value(math.tanh(self.data), "", (self,), "tanh")

        def _backward():
            self.grad += (1 - out.data**2) * out.grad

        out._backward = _backward
        return out

    def exp(self):
        out = Value(math.exp(self.data), "", (self,), "exp")

        def _backward():
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    # Built from the operations above: no derivatives of their own
    def __neg__(self):  # -self
        return self * -1

    def __radd__(self, other):  # other + self
        return self + other

    def __sub__(self, other):  # self - other
        return self + (-other)

    def __rsub__(self, other):  # other - self
        return other + (-self)

    def __rmul__(self, other):  # other * self
        return self * other

    def __truediv__(self, other):  # self / other
        return self * other**-1

    def __rtruediv__(self, other):  # other / self
        return other * self**-1

    def backward(self):
        """Fill in .grad of every value this one was computed from (self.grad becomes 1)."""
        # 1. topo: every node of the graph once, each after all the nodes in its _prev
        topo = []
        visited = set()
        stack = [(self, False)]  # (node, are its children already in topo?)
        while stack:
            node, children_done = stack.pop()
            if children_done:
                topo.append(node)
            elif node not in visited:
                visited.add(node)
                stack.append((node, True))
                for child in node._prev:
                    if child not in visited:
                        stack.append((child, False))

        # 2. d(self)/d(self) = 1, then every node's _backward, from the output back to the leaves
        self.grad = 1.0
        for node in reversed(topo):
            node._backward()


GRAPHVIZ_MISSING = (
    "Cannot draw: Graphviz's `dot` program is not installed (the `graphviz` Python package needs it). "
    "Install it with `sudo apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS), "
    "`conda install -c conda-forge graphviz`, or from https://graphviz.org/download/ (Windows: add it "
    "to PATH), then restart the kernel. Colab has it already.")


def trace(root):
    """All values and edges (child, parent) of the graph that produced root."""
    nodes, edges, stack = set(), set(), [root]
    while stack:  # a loop, not recursion: deep graphs are fine
        node = stack.pop()
        if node not in nodes:
            nodes.add(node)
            for child in node._prev:
                edges.add((child, node))
                stack.append(child)
    return nodes, edges


def draw_graph(root, max_nodes=150):
    """The computation graph of root as a graphviz.Digraph (shown as a picture in a notebook).

    Returns None, with a message, when the graph is too big or Graphviz's `dot` is not installed.
    """
    nodes, edges = trace(root)
    if len(nodes) > max_nodes:
        print(f"The graph has {len(nodes)} values; draw_graph draws at most {max_nodes}.")
        return None
    dot = graphviz.Digraph(format="svg", graph_attr={"rankdir": "LR"})
    for node in nodes:
        uid = str(id(node))
        label = getattr(node, "label", "")
        dot.node(uid, f"{{ {label} | data {node.data:.4f} | grad {node.grad:.4f} }}", shape="record")
        if node._op:
            dot.node(uid + node._op, node._op)
            dot.edge(uid + node._op, uid)
    for child, parent in edges:
        dot.edge(str(id(child)), str(id(parent)) + parent._op)
    try:
        dot.pipe()  # run `dot` now, so that a missing program is reported here
    except graphviz.ExecutableNotFound:
        print(GRAPHVIZ_MISSING)
        return None
    return dot


class Module:
    """What neurons, layers and networks share: a list of parameters and zero_grad()."""

    def zero_grad(self):
        for p in self.parameters():
            p.grad = 0.0

    def parameters(self):
        return []


class Neuron(Module):
    """act(b + sum_i w_i x_i) with weights drawn uniformly in [-1, 1] and a zero bias."""

    def __init__(self, nin, activation="ReLU"):
        self.w = [Value(np.random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0.0)
        self.activation = activation

    def parameters(self):
        return self.w + [self.b]

    def __call__(self, x):
        out = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        if self.activation == "ReLU":
            return out.relu()
        if self.activation == "Tanh":
            return out.tanh()
        return out  # "Linear"

    def __repr__(self):
        return f"{self.activation}Neuron({len(self.w)})"


class Layer(Module):
    """nout neurons, each looking at the same nin inputs."""

    def __init__(self, nin, nout, activation="ReLU"):
        self.neurons = [Neuron(nin, activation) for _ in range(nout)]

    def parameters(self):
        return [p for neuron in self.neurons for p in neuron.parameters()]

    def __call__(self, x):
        out = [neuron(x) for neuron in self.neurons]
        return out[0] if len(out) == 1 else out

    def __repr__(self):
        return f"Layer of {len(self.neurons)} {self.neurons[0]}"


class ValueMLP(Module):
    """Layers of sizes nouts after nin inputs, e.g. ValueMLP(2, [16, 16, 1], ["ReLU", "ReLU", "Linear"])."""

    def __init__(self, nin, nouts, activations=None):
        activations = activations or ["Linear"] * len(nouts)
        assert len(activations) == len(nouts), "give one activation per layer"
        sizes = [nin] + nouts
        self.layers = [Layer(sizes[i], sizes[i + 1], activations[i]) for i in range(len(nouts))]

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def __repr__(self):
        return "ValueMLP of [" + ", ".join(map(str, self.layers)) + "]"


def compute_loss(model, X, y, alpha=1e-4):
    """Max-margin loss plus L2 penalty on all points; returns (loss Value, scores, accuracy)."""
    inputs = [[Value(feature) for feature in row] for row in X]
    scores = [model(row) for row in inputs]
    losses = [(1 + -label * score).relu() for label, score in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = alpha * sum(p * p for p in model.parameters())
    accuracy = sum((label > 0) == (score.data > 0) for label, score in zip(y, scores)) / len(y)
    return data_loss + reg_loss, scores, accuracy


def _nothing_to_pass_back():
    pass


@contextlib.contextmanager
def gc_paused():
    """Switch Python's cycle collector off inside a `with` block (and back on afterwards)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def release_graph(root):
    """Cut every link of root's graph, so that reference counting frees it at once."""
    stack = [root]
    while stack:
        node = stack.pop()
        stack.extend(node._prev)
        node._prev = ()
        node._backward = _nothing_to_pass_back


def train_step(model, X, y, learning_rate, alpha=1e-4):
    """One step of full-batch gradient descent; returns (loss, accuracy) as numbers."""
    with gc_paused():
        model.zero_grad()
        loss, scores, accuracy = compute_loss(model, X, y, alpha)
        loss.backward()
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        release_graph(loss)
    return loss.data, accuracy
