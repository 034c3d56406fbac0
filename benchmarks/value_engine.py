"""Time the backprop chapter's scalar autograd engine against the source tutorial's, in one run.

    .venv/bin/python benchmarks/value_engine.py [--steps 5] [--no-paused-row]

Both engines train the same network (2 inputs, 16 ReLU, 16 ReLU, 1 linear output: 337
parameters, the same initial weights) on the same 100 two-moons points with the max-margin loss
plus L2 penalty and full-batch gradient descent, the learning rate decaying as in the tutorial:

- tutorial: the tutorial's Value, Module, Neuron, Layer, MLP and compute_loss, copied below
  verbatim (recursive topological sort, a set per node, NumPy scalars as data) and its training
  step (zero_grad, compute_loss, backward, update);
- chapter: the chapter's engine from solutions/backprop.py (generated from
  book/05_backprop.ipynb): the same structure with __slots__, an iterative topological sort,
  Python floats, and train_step (the cycle collector paused during the step, the graph
  released after the update);
- tutorial, collector paused (skip with --no-paused-row): the tutorial's step inside the
  chapter's gc_paused(), to show how much of the tutorial's time is the cycle collector.

The chapter's module is imported first, so both run with PyTorch, NumPy, matplotlib and
scikit-learn in memory, as in the notebook. The script checks that both engines compute the same
losses, then prints seconds per step, the speed-up (target: at least 6x) and whether the chapter's
engine meets its goal of at most 0.2 s per step. Timings are noisy on a shared machine.
"""
from __future__ import annotations

import argparse
import gc
import importlib.util
import math
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parents[1]
SEED = 2021
N_POINTS = 100
TARGET_SPEEDUP = 6.0
TARGET_SECONDS = 0.2

# The tutorial's engine and network, verbatim from the source tutorial (only the drawing labels
# and comments shortened); compute_loss reads the globals X, y and model as in the tutorial.
TUTORIAL_CODE = r'''
class Value:
    def __init__(self, data, label='', _children=(), _op=''):

        # Information about value, gradient and its name
        self.data  = data
        self.grad  = 0.0
        self.label = label

        # Utility attributes for the calculating and passing gradients (Backprop)
        self._backward = lambda: None
        self._prev     = set(_children)
        self._op       = _op

    # Simple arithemtic operations on value and computing corresponding gradients
    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, label='+', _children=(self, other), _op='+')

        def _backward():
            self.grad  += out.grad
            other.grad += out.grad
        out._backward = _backward

        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, label='*', _children=(self, other), _op='*')

        def _backward():
            self.grad  += other.data * out.grad
            other.grad += self.data  * out.grad
        out._backward = _backward

        return out

    def __pow__(self, other):
        assert isinstance(other, (int, float)), "only supporting int/float powers for now"
        out = Value(self.data**other, label=f'**{other}', _children=(self,), _op='**')

        def _backward():
            self.grad += (other * self.data**(other-1)) * out.grad
        out._backward = _backward

        return out

    def __neg__(self): # -self
        return self * -1

    def __radd__(self, other): # other + self
        return self + other

    def __sub__(self, other): # self - other
        return self + (-other)

    def __rsub__(self, other): # other - self
        return other + (-self)

    def __rmul__(self, other): # other * self
        return self * other

    def __truediv__(self, other): # self / other
        return self * other**-1

    def __rtruediv__(self, other): # other / self
        return other * self**-1

    # Simple transformations on Value and computing corresponding gradients
    def relu(self):
        out = Value(0 if self.data < 0 else self.data, label='ReLU', _children=(self,), _op='ReLU')

        def _backward():
            self.grad += (out.data > 0) * out.grad
        out._backward = _backward

        return out

    def tanh(self):
        x = self.data
        t = (math.exp(2*x) - 1)/(math.exp(2*x) + 1)
        out = Value(t, label='Tanh', _children=(self, ), _op='Tanh')

        def _backward():
            self.grad += (1 - t**2) * out.grad
        out._backward = _backward

        return out

    def exp(self):
        x = self.data
        out = Value(math.exp(x), label='Exp',  _children=(self, ), _op='Exp')

        def _backward():
            self.grad += out.data * out.grad
        out._backward = _backward

        return out

    # Information when printing instance
    def __repr__(self):
        if self.label:
            return f"Value(node={self.label}, data={self.data}, grad={self.grad})"
        else:
            return f"Value(data={self.data}, grad={self.grad})"

    # Recurisvely call backward -> Backprop
    def backward(self):

        topo = []
        visited = set()
        def build_topo(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build_topo(child)
                topo.append(v)
        build_topo(self)
        self.grad = 1
        for v in reversed(topo):
            v._backward()


class Module:

    # Explictly make gradients 0.0
    def zero_grad(self):
        for p in self.parameters():
            p.grad = 0.0

    # List of Parameters
    def parameters(self):
        return []

class Neuron(Module):

    def __init__(self, nin, activation='ReLU', layer_name='', neuron_name=''):

        # Sets, weights, bias and activations for the neuron
        self.w = [Value(np.random.uniform(-1,1), label=f"Weight of {layer_name} {neuron_name} for Input {i+1}") for i in range(nin)]
        self.b = Value(0, label=f"Bias of {layer_name} {neuron_name}")
        self.activation = activation

    # Sets the list of parameters in the neuron
    def parameters(self):
        return self.w + [self.b]

    # Information when printing neuron
    def __repr__(self):
        return f"{self.activation}Neuron(nin={len(self.w)})"

    # Forward Pass -> Compute the output of the neuron
    def __call__(self, x):

        w = sum((wi*xi for wi,xi in zip(self.w, x)))
        out = w + self.b

        if self.activation == 'ReLU':
            out = out.relu()
        elif self.activation == 'Tanh':
            out = out.tanh()
        elif self.activation == 'Linear':
            out = out

        return out

class Layer(Module):

    def __init__(self, nin, nout, **kwargs):
        # Define neurons of a layer
        self.neurons = [Neuron(nin, neuron_name=f"Neuron {i+1}", **kwargs) for i in range(nout)]

    # Sets the list of parameters in the layer
    def parameters(self):
        return [p for n in self.neurons for p in n.parameters()]

    # Information when printing layer
    def __repr__(self):
        return f"Layer of [ {', '.join(str(n) for n in self.neurons)} ]"

    # Forward Pass -> Compute the output of the layer
    def __call__(self, x):
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

class MLP(Module):

    def __init__(self, nin, nouts, activations=None):
        if activations is not None:
            assert len(nouts) == len(activations), 'Activations not defined for some layers'
        else:
            activations = ['Linear'] * len(nouts)

        sz = [nin] + nouts

        # Define layers of a MLP
        self.layers = [Layer(sz[i], sz[i+1], activation=activations[i], layer_name=f"Layer {i+1}") for i in range(len(nouts))]

    # Sets the list of parameters in the MLP
    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    # Information when printing MLP
    def __repr__(self):
        new_line = f"\n{'-'*8}> "
        return f"MLP of [{new_line}{new_line.join(str(layer) for layer in self.layers)}\n]"

    # Forward Pass -> Compute the output of the MLP
    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


def compute_loss(batch_size=None):

    # Process Data in batches, in case data is too big to handle
    if batch_size is None:
        Xb, yb = X, y
    else:
        ri = np.random.permutation(X.shape[0])[:batch_size]
        Xb, yb = X[ri], y[ri]

    # Format Data to our Datatype
    inputs = [ [Value(xrow[0], label='X'), Value(xrow[1], label='Y')] for xrow in Xb]

    # Forward Pass to get the scores
    scores = list(map(model, inputs))

    # Max-Margin Loss to calculate fitness based on scores and y
    losses = [(1 + -yi*scorei).relu() for yi, scorei in zip(yb, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))

    # L2 Regularization (Optional)
    ## To improve performance, we also regularise the parameters.
    alpha = 1e-4
    reg_loss = alpha * sum((p*p for p in model.parameters()))

    # Compute Final Loss -> Max-Margin Loss + L2 Regularization Loss
    data_loss = data_loss + reg_loss

    # Compute Accuracy
    accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(yb, scores)]

    # Return everything required
    return data_loss, scores, sum(accuracy) / len(accuracy)


def tutorial_step(k, n_iter, learning_rate=1.0):
    """The body of the tutorial's training loop, for step k of n_iter."""
    # Zero-Grad
    model.zero_grad()

    # Forward Pass -> Compute Loss
    loss, scores, acc = compute_loss()

    # Backward Pass
    loss.backward()

    # Update Weights using SGD
    lr = learning_rate - 0.9*(k+1)/n_iter
    for p in model.parameters():
        p.data -= lr * p.grad
    return loss.data, acc
'''


def chapter_module():
    """The chapter's code (generated from book/05_backprop.ipynb), loaded by path."""
    path = ROOT / "solutions" / "backprop.py"
    spec = importlib.util.spec_from_file_location("backprop_chapter", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tutorial_namespace(np, X, labels):
    """A namespace holding the tutorial's code, its data (X, y = labels*2 - 1) and a fresh model."""
    namespace = {"np": np, "math": math, "__name__": "tutorial_engine"}
    exec(compile(TUTORIAL_CODE, "<tutorial engine>", "exec"), namespace)
    namespace["X"], namespace["y"] = X, labels * 2 - 1
    np.random.seed(SEED)
    namespace["model"] = namespace["MLP"](nin=2, nouts=[16, 16, 1], activations=["ReLU", "ReLU", "Linear"])
    return namespace


def timed(step, steps):
    """Run step(k) for k in range(steps); return (seconds per step, losses, accuracies)."""
    gc.collect()
    seconds, losses, accuracies = [], [], []
    for k in range(steps):
        start = time.perf_counter()
        loss, accuracy = step(k)
        seconds.append(time.perf_counter() - start)
        losses.append(float(loss))
        accuracies.append(float(accuracy))
    gc.collect()  # what a naive engine leaves behind is collected outside the timed region
    return seconds, losses, accuracies


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=5, help="training steps per engine (default 5)")
    parser.add_argument("--no-paused-row", action="store_true",
                        help="skip the tutorial engine with the cycle collector paused")
    args = parser.parse_args(argv)

    chapter = chapter_module()  # imports torch, numpy, matplotlib, scikit-learn like the notebook
    np = chapter.np
    X, labels = chapter.make_moons(n_samples=N_POINTS, noise=0.1, random_state=SEED)

    rows = {}
    tutorial = tutorial_namespace(np, X, labels)
    rows["tutorial engine"] = timed(lambda k: tutorial["tutorial_step"](k, args.steps), args.steps)

    if not args.no_paused_row:
        paused = tutorial_namespace(np, X, labels)

        def paused_step(k):
            with chapter.gc_paused():
                return paused["tutorial_step"](k, args.steps)

        rows["tutorial engine, collector paused"] = timed(paused_step, args.steps)

    np.random.seed(SEED)
    model = chapter.ValueMLP(2, [16, 16, 1], ["ReLU", "ReLU", "Linear"])
    same_start = [p.data for p in model.parameters()] == [p.data for p in tutorial_namespace(np, X, labels)["model"].parameters()]
    X_list, y_list = X.tolist(), [2.0 * label - 1.0 for label in labels]
    rows["chapter engine"] = timed(
        lambda k: chapter.train_step(model, X_list, y_list, 1.0 - 0.9 * (k + 1) / args.steps), args.steps)

    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, network 2-16-16-1 "
          f"({len(model.parameters())} parameters), {N_POINTS} points, {args.steps} steps per engine")
    print(f"same initial weights: {same_start}")
    reference_losses = rows["tutorial engine"][1]
    for name, (_, losses, _) in rows.items():
        gap = max(abs(a - b) / max(abs(b), 1e-12) for a, b in zip(losses, reference_losses))
        print(f"{name:<36} losses {', '.join(f'{v:.4f}' for v in losses)}  (largest relative gap "
              f"to the tutorial's: {gap:.1e})")
    print()
    print(f"{'engine':<36}{'mean s/step':>12}{'median':>10}{'min':>10}")
    for name, (seconds, _, _) in rows.items():
        print(f"{name:<36}{statistics.mean(seconds):>12.3f}{statistics.median(seconds):>10.3f}{min(seconds):>10.3f}")
    tutorial_mean = statistics.mean(rows["tutorial engine"][0])
    chapter_mean = statistics.mean(rows["chapter engine"][0])
    speedup = tutorial_mean / chapter_mean
    print()
    print(f"speed-up of the chapter's engine over the tutorial's: {speedup:.1f}x "
          f"(target at least {TARGET_SPEEDUP:.0f}x): {'met' if speedup >= TARGET_SPEEDUP else 'NOT met'}")
    print(f"chapter's engine: {chapter_mean:.3f} s per step (goal at most {TARGET_SECONDS} s): "
          f"{'met' if chapter_mean <= TARGET_SECONDS else 'NOT met'}")
    agree = all(abs(a - b) <= 1e-9 * max(1.0, abs(b))
                for a, b in zip(rows["chapter engine"][1], reference_losses))
    if not (same_start and agree):
        print("ERROR: the two engines did not compute the same training run", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
