"""Student answers for the backpropagation chapter, as the full source of each answer cell.

``CORRECT[exercise][variant]`` must get full marks, ``WRONG[exercise][variant]`` must lose points
with feedback that names ``MISTAKES[exercise][variant]`` (a regular expression) and no other
mistake of its exercise. `backward`: the hand-written backward pass of the given MLP (attached with
MLP.backward = backward, or a method of a redefined MLP); `value`: the scalar autograd engine (the
whole answer cell: _no_backward and the Value class). The code runs in the notebook's namespace
(torch, nn, F, math, the chapter's MLP). Variants of the reference build on
``solutions/backprop.py``.
"""
from tests.helpers import run_answer, solution_source, variant

SLUG = "backprop"
CHAPTER = "05_backprop.ipynb"
CHECKS = {"backward": {"backward_update": 3.0},
          "value": {"value_local_gradients": 2.0, "value_backward": 3.0}}
OBJECT = {"backward": "MLP", "value": "Value"}  # what the hidden blocks pass


# --------------------------------------------------------------------------------------------
# Exercise 1: backward(self, x, y, learning_rate)
# --------------------------------------------------------------------------------------------

# The original tutorial's code, as a student who copied it would hand it in.
BACKWARD_TUTORIAL = '''
def backward(self, x: torch.Tensor, y: torch.Tensor, learning_rate: float) -> None:
    # compute the loss (Mean Squared Error - MSE)
    loss = torch.mean((self.z3 - y) ** 2)
    loss_grad = 2 * (self.z3 - y) / y.size(0)
    grad_W3 = torch.matmul(loss_grad.T, self.a2)
    grad_b3 = torch.sum(loss_grad, dim=0)
    grad_a2 = torch.matmul(loss_grad, self.W3)
    grad_z2 = grad_a2 * (self.a2 > 0).float()
    grad_W2 = torch.matmul(grad_z2.T, self.a1)
    grad_b2 = torch.sum(grad_z2, dim=0)
    grad_a1 = torch.matmul(grad_z2, self.W2)
    grad_z1 = grad_a1 * (self.a1 > 0).float()
    grad_W1 = torch.matmul(grad_z1.T, x)
    grad_b1 = torch.sum(grad_z1, dim=0)
    with torch.no_grad():
        self.W1 -= learning_rate * grad_W1
        self.b1 -= learning_rate * grad_b1
        self.W2 -= learning_rate * grad_W2
        self.b2 -= learning_rate * grad_b2
        self.W3 -= learning_rate * grad_W3
        self.b3 -= learning_rate * grad_b3


MLP.backward = backward
'''

# The chapter's skeleton, filled in (the reference of solutions/backprop.py).
BACKWARD_REFERENCE = solution_source(SLUG, "backward", after="MLP.backward = backward")

BACKWARD_CORRECT = {
    "tutorial_a_mask": BACKWARD_TUTORIAL,
    "z_mask_operators": BACKWARD_REFERENCE,
    "loop_over_layers_where_data": '''
def backward(self, x, y, learning_rate):
    delta = 2.0 * (self.z3 - y) / len(y)                      # dL/dz3
    inputs = {3: self.a2, 2: self.a1, 1: x}
    pre_activations = {2: self.z2, 1: self.z1}
    grads = {}
    for layer in (3, 2, 1):
        W = getattr(self, f"W{layer}")
        grads[f"W{layer}"] = (inputs[layer].T @ delta).T       # the same as delta.T @ input
        grads[f"b{layer}"] = delta.sum(0)
        if layer > 1:
            upstream = delta @ W
            delta = torch.where(pre_activations[layer - 1] > 0, upstream, torch.zeros_like(upstream))
    for name, grad in grads.items():
        getattr(self, name).data -= learning_rate * grad.detach()


MLP.backward = backward
''',
}

# The whole MLP class redefined in the answer cell, with backward as a method (no assignment):
# graded on what the answer defines (before: 0/3, "NameError: name 'backward' is not defined"
# right after the visible test printed "backward matches autograd on every parameter.").
BACKWARD_CORRECT["method_in_redefined_class"] = solution_source(SLUG, "MLP").rstrip() + "\n\n" + "\n".join("    " + line if line.strip() else line
                for line in BACKWARD_REFERENCE.split("MLP.backward = backward")[0].strip("\n").splitlines()) + "\n"


# Without the skeleton's comments and docstring, as a student who deletes them hands it in.
BACKWARD_CORRECT["bare_reference"] = solution_source(SLUG, "backward", after="MLP.backward = backward", bare=True)
# The update through .data, one parameter at a time in a loop (no torch.no_grad needed).
BACKWARD_CORRECT["data_sub_in_a_loop"] = variant(BACKWARD_REFERENCE, (
    "    with torch.no_grad():\n"
    "        self.W1 -= learning_rate * grad_W1\n"
    "        self.b1 -= learning_rate * grad_b1\n"
    "        self.W2 -= learning_rate * grad_W2\n"
    "        self.b2 -= learning_rate * grad_b2\n"
    "        self.W3 -= learning_rate * grad_W3\n"
    "        self.b3 -= learning_rate * grad_b3\n",
    "    grads = (grad_W1, grad_b1, grad_W2, grad_b2, grad_W3, grad_b3)\n"
    "    for name, grad in zip((\"W1\", \"b1\", \"W2\", \"b2\", \"W3\", \"b3\"), grads):\n"
    "        getattr(self, name).data.sub_(learning_rate * grad)\n"))


BACKWARD_WRONG = {
    # the list: forgotten bias gradient, transposed weight gradient, mean vs sum mismatch
    "forgot_bias_gradients": variant(
        BACKWARD_REFERENCE,
        ("        self.b1 -= learning_rate * grad_b1\n", ""),
        ("        self.b2 -= learning_rate * grad_b2\n", ""),
        ("        self.b3 -= learning_rate * grad_b3\n", "")),
    "transposed_weight_gradient": variant(
        BACKWARD_REFERENCE, ("grad_W2 = grad_z2.T @ self.a1", "grad_W2 = self.a1.T @ grad_z2")),
    "transposed_then_reshaped": variant(
        BACKWARD_REFERENCE, ("grad_W2 = grad_z2.T @ self.a1", "grad_W2 = self.a1.T @ grad_z2"),
        ("self.W2 -= learning_rate * grad_W2", "self.W2 -= learning_rate * grad_W2.reshape(self.W2.shape)")),
    "mean_over_all_elements": variant(
        BACKWARD_REFERENCE, ("loss_grad = 2 * (self.z3 - y) / y.shape[0]",
                             "loss_grad = 2 * (self.z3 - y) / y.numel()")),
    "sum_not_mean": variant(
        BACKWARD_REFERENCE, ("loss_grad = 2 * (self.z3 - y) / y.shape[0]", "loss_grad = 2 * (self.z3 - y)")),
    "relu_derivative_missing": variant(
        BACKWARD_REFERENCE, ("grad_z2 = grad_a2 * (self.z2 > 0).float()", "grad_z2 = grad_a2"),
        ("grad_z1 = grad_a1 * (self.z1 > 0).float()", "grad_z1 = grad_a1")),
    "relu_derivative_is_activation": variant(
        BACKWARD_REFERENCE, ("grad_z2 = grad_a2 * (self.z2 > 0).float()", "grad_z2 = grad_a2 * self.a2"),
        ("grad_z1 = grad_a1 * (self.z1 > 0).float()", "grad_z1 = grad_a1 * self.a1")),
    "update_before_backprop": '''
def backward(self, x, y, learning_rate):
    loss_grad = 2 * (self.z3 - y) / y.shape[0]
    with torch.no_grad():
        self.W3 -= learning_rate * (loss_grad.T @ self.a2)
        self.b3 -= learning_rate * loss_grad.sum(dim=0)
    grad_z2 = (loss_grad @ self.W3) * (self.z2 > 0)         # uses the W3 just updated
    with torch.no_grad():
        self.W2 -= learning_rate * (grad_z2.T @ self.a1)
        self.b2 -= learning_rate * grad_z2.sum(dim=0)
    grad_z1 = (grad_z2 @ self.W2) * (self.z1 > 0)
    with torch.no_grad():
        self.W1 -= learning_rate * (grad_z1.T @ x)
        self.b1 -= learning_rate * grad_z1.sum(dim=0)


MLP.backward = backward
''',
    "gradient_ascent": variant(
        BACKWARD_REFERENCE, *[(f"self.{p} -= learning_rate", f"self.{p} += learning_rate")
                              for p in ("W1", "b1", "W2", "b2", "W3", "b3")]),
    "update_outside_no_grad": variant(
        BACKWARD_REFERENCE, ("    with torch.no_grad():\n", "    if True:\n")),
    "bias_gradient_mean": variant(
        BACKWARD_REFERENCE, ("grad_b1 = grad_z1.sum(dim=0)", "grad_b1 = grad_z1.mean(dim=0)"),
        ("grad_b2 = grad_z2.sum(dim=0)", "grad_b2 = grad_z2.mean(dim=0)"),
        ("grad_b3 = loss_grad.sum(dim=0)", "grad_b3 = loss_grad.mean(dim=0)")),
    "factor_two_missing": variant(
        BACKWARD_REFERENCE, ("loss_grad = 2 * (self.z3 - y) / y.shape[0]",
                             "loss_grad = (self.z3 - y) / y.shape[0]")),
}


# --------------------------------------------------------------------------------------------
# Exercise 2: the Value class
# --------------------------------------------------------------------------------------------

VALUE_REFERENCE = solution_source(SLUG, "_no_backward", "Value")

ITERATIVE_TOPO = '''        stack = [(self, False)]  # (node, are its children already in topo?)
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
'''

SEED_AND_REVERSE = '''        self.grad = 1.0
        for node in reversed(topo):
            node._backward()
'''

RECURSIVE_TOPO = '''        def build_topo(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build_topo(child)
                topo.append(v)
        build_topo(self)
'''

# The original tutorial's class, verbatim apart from comments: label as the second argument,
# _prev a set, a lambda per value, a recursive topological sort.
VALUE_TUTORIAL = '''
class Value:
    def __init__(self, data, label='', _children=(), _op=''):
        self.data  = data
        self.grad  = 0.0
        self.label = label
        self._backward = lambda: None
        self._prev     = set(_children)
        self._op       = _op

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

    def __repr__(self):
        if self.label:
            return f"Value(node={self.label}, data={self.data}, grad={self.grad})"
        else:
            return f"Value(data={self.data}, grad={self.grad})"

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
'''

VALUE_CORRECT = {
    "iterative_stack": VALUE_REFERENCE,
    "tutorial_recursive": VALUE_TUTORIAL,
    "recursive_in_skeleton": variant(VALUE_REFERENCE, (ITERATIVE_TOPO, RECURSIVE_TOPO)),
    "kahn_in_degrees": variant(VALUE_REFERENCE, (ITERATIVE_TOPO, '''        # count, for every node, how many nodes use it; a node is ready once all its users are done
        users, stack = {}, [self]
        while stack:
            node = stack.pop()
            if node in visited:
                continue
            visited.add(node)
            for child in node._prev:
                users[child] = users.get(child, 0) + 1
                stack.append(child)
'''), (SEED_AND_REVERSE, '''        self.grad = 1.0
        ready = [self]
        while ready:
            node = ready.pop()
            node._backward()
            for child in set(node._prev):
                users[child] -= node._prev.count(child)
                if users[child] == 0:
                    ready.append(child)
''')),
}

# tanh' and exp' from the input (math.tanh(self.data), math.exp(self.data)) instead of out.data.
VALUE_CORRECT["derivatives_from_the_input"] = variant(
    VALUE_REFERENCE, ("self.grad += (1 - out.data**2) * out.grad", "self.grad += (1 - math.tanh(self.data) ** 2) * out.grad"),
    ("self.grad += out.data * out.grad", "self.grad += math.exp(self.data) * out.grad"))


VALUE_WRONG = {
    # the list: gradient overwritten instead of accumulated, wrong topological order
    "gradient_overwritten": variant(
        VALUE_REFERENCE,
        ("            self.grad += out.grad\n            other.grad += out.grad",
         "            self.grad = out.grad\n            other.grad = out.grad"),
        ("            self.grad += other.data * out.grad\n            other.grad += self.data * out.grad",
         "            self.grad = other.data * out.grad\n            other.grad = self.data * out.grad"),
        ("self.grad += other * self.data ** (other - 1) * out.grad",
         "self.grad = other * self.data ** (other - 1) * out.grad"),
        ("self.grad += (out.data > 0) * out.grad", "self.grad = (out.data > 0) * out.grad"),
        ("self.grad += (1 - out.data**2) * out.grad", "self.grad = (1 - out.data**2) * out.grad"),
        ("self.grad += out.data * out.grad", "self.grad = out.data * out.grad")),
    "topological_order_not_reversed": variant(
        VALUE_REFERENCE, ("for node in reversed(topo):", "for node in topo:")),
    "visited_kept_between_calls": variant(
        VALUE_REFERENCE, ("    def backward(self):\n", "    def backward(self, visited=set()):\n"),
        ("        topo = []\n        visited = set()\n", "        topo = []\n")),
    "breadth_first_order": variant(VALUE_REFERENCE, (ITERATIVE_TOPO, '''        queue = [self]
        visited.add(self)
        while queue:                      # level by level from the output
            node = queue.pop(0)
            topo.insert(0, node)          # so that reversed(topo) is the visiting order
            for child in node._prev:
                if child not in visited:
                    visited.add(child)
                    queue.append(child)
''')),
    "no_visited_set": variant(VALUE_REFERENCE, (ITERATIVE_TOPO, '''        def build_topo(v):
            for child in v._prev:
                build_topo(child)
            topo.append(v)
        build_topo(self)
''')),
    "chain_rule_forgets_out_grad": variant(
        VALUE_REFERENCE,
        ("            self.grad += other.data * out.grad\n            other.grad += self.data * out.grad",
         "            self.grad += other.data\n            other.grad += self.data"),
        ("self.grad += (1 - out.data**2) * out.grad", "self.grad += 1 - out.data**2"),
        ("self.grad += out.data * out.grad", "self.grad += out.data")),
    "tanh_derivative_of_input": variant(
        VALUE_REFERENCE, ("self.grad += (1 - out.data**2) * out.grad", "self.grad += (1 - self.data**2) * out.grad")),
    "pow_derivative_wrong_exponent": variant(
        VALUE_REFERENCE, ("self.grad += other * self.data ** (other - 1) * out.grad",
                          "self.grad += other * self.data ** other * out.grad")),
    "relu_passes_every_gradient": variant(
        VALUE_REFERENCE, ("self.grad += (out.data > 0) * out.grad", "self.grad += out.grad")),
    "output_grad_not_seeded": variant(VALUE_REFERENCE, (SEED_AND_REVERSE, SEED_AND_REVERSE.split("\n", 1)[1])),
}

CORRECT = {"backward": BACKWARD_CORRECT, "value": VALUE_CORRECT}
WRONG = {"backward": BACKWARD_WRONG, "value": VALUE_WRONG}

# The mistake each wrong answer makes, as a phrase its feedback must contain (and no other's).
TRANSPOSED = r"transpose"          # input.T @ delta: the weight gradient's transpose
WRONG_ORDER = r"reverse topological order"
MISTAKES = {
    "backward": {
        "forgot_bias_gradients": r"b3 was not updated",
        "transposed_weight_gradient": TRANSPOSED,   # PyTorch's broadcast error, translated
        "transposed_then_reshaped": TRANSPOSED,
        "mean_over_all_elements": r"divided by N\*K",
        "sum_not_mean": r"N times too large",
        "relu_derivative_missing": r"ignores the ReLU",
        "relu_derivative_is_activation": r"multiplied by the activation itself",
        "update_before_backprop": r"already been updated",
        "gradient_ascent": r"uphill",
        "update_outside_no_grad": r"inside `with torch\.no_grad\(\):`",
        "bias_gradient_mean": r"SUM of the rows of delta",
        "factor_two_missing": r"half the gradient",
    },
    "value": {
        "gradient_overwritten": r"overwritten|never assign",
        "topological_order_not_reversed": WRONG_ORDER,
        "breadth_first_order": WRONG_ORDER,
        "visited_kept_between_calls": r"from scratch",
        "no_visited_set": r"called more than once",
        "chain_rule_forgets_out_grad": r"by out\.grad \(the chain rule\)",
        "tanh_derivative_of_input": r"1 - tanh\(a\)\*\*2",
        "pow_derivative_wrong_exponent": r"derivative of a \*\* ",
        "relu_passes_every_gradient": r"derivative of a\.relu\(\)",
        "output_grad_not_seeded": r"output's own gradient to 1",
    },
}


def objects(exercise: str, code: str) -> list:
    """The object the hidden block hands to the checks (MLP or Value), from an answer cell run in
    the notebook's namespace; the answer gets its own subclass of the chapter's MLP, so that
    MLP.backward = ... touches nothing shared."""
    import math

    import torch.nn as nn
    import torch.nn.functional as F

    from autograder.hidden import reference_module
    mlp = type("MLP", (reference_module(SLUG).MLP,), {})
    namespace = {"MLP": mlp, "math": math, "nn": nn, "F": F}
    return [run_answer(code, namespace)[OBJECT[exercise]]]


# One correct answer per exercise: fills the student notebook in tests/test_student_notebooks.py.
SOLVED = {"backward": BACKWARD_REFERENCE, "value": VALUE_REFERENCE}
# What the visible self-checks print when they pass.
SELF_CHECK_OUTPUT = [
    "backward matches autograd on every parameter.",
    "Every operation passes its gradient back correctly.",
    "backward() handles reused values and graphs of several levels.",
]
