"""Student answers for the general-MLP chapter, as the full source of each answer cell.

``CORRECT[exercise][variant]`` must get full marks, ``WRONG[exercise][variant]`` must lose points.
The code runs in the notebook's namespace: torch, nn, F and the chapter's make_activation. Every
wrong answer's feedback must name ``MISTAKES[exercise][variant]`` (a regular expression) and no
other mistake of its exercise. Variants of the reference build on ``solutions/general_mlp.py``.
"""
from tests.helpers import run_answer, solution_source, variant

SLUG = "general_mlp"
CHAPTER = "02_general_mlp.ipynb"

# --- Exercise 1: MLP with explicit weights ------------------------------------------------------

MLP_SEED = '''
class MLP(torch.nn.Module):
    def __init__(self, input_size: int, hidden_size1: int, hidden_size2: int, output_size: int):
        super().__init__()
        self.W1 = nn.Parameter(torch.randn(hidden_size1, input_size))
        self.b1 = nn.Parameter(torch.randn(hidden_size1))
        self.W2 = nn.Parameter(torch.randn(hidden_size2, hidden_size1))
        self.b2 = nn.Parameter(torch.randn(hidden_size2))
        self.W3 = nn.Parameter(torch.randn(output_size, hidden_size2))
        self.b3 = nn.Parameter(torch.randn(output_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.z1 = x @ self.W1.T + self.b1
        self.a1 = F.relu(self.z1)

        self.z2 = self.a1 @ self.W2.T + self.b2
        self.a2 = F.relu(self.z2)

        self.z3 = self.a2 @ self.W3.T + self.b3
        return self.z3
'''


MLP_REFERENCE = solution_source(SLUG, "MLP")


def mlp_variant(*replacements: tuple[str, str]) -> str:
    return variant(MLP_REFERENCE, *replacements)


MLP_CORRECT = {
    # The 002 tutorial's own class, verbatim.
    "seed_tutorial": MLP_SEED,
    "reference": MLP_REFERENCE,
    # torch.matmul and torch.where, biases added with a broadcast row
    "matmul_and_where": '''
class MLP(nn.Module):
    def __init__(self, input_size, hidden_size1, hidden_size2, output_size):
        super(MLP, self).__init__()
        self.W1 = nn.Parameter(torch.randn((hidden_size1, input_size)))
        self.b1 = nn.Parameter(torch.randn((hidden_size1,)))
        self.W2 = nn.Parameter(torch.randn((hidden_size2, hidden_size1)))
        self.b2 = nn.Parameter(torch.randn((hidden_size2,)))
        self.W3 = nn.Parameter(torch.randn((output_size, hidden_size2)))
        self.b3 = nn.Parameter(torch.randn((output_size,)))

    def forward(self, x):
        self.z1 = torch.matmul(x, self.W1.t()) + self.b1[None, :]
        self.a1 = torch.where(self.z1 > 0, self.z1, torch.zeros_like(self.z1))
        self.z2 = torch.matmul(self.a1, self.W2.t()) + self.b2[None, :]
        self.a2 = torch.where(self.z2 > 0, self.z2, torch.zeros_like(self.z2))
        self.z3 = torch.matmul(self.a2, self.W3.t()) + self.b3[None, :]
        return self.z3
''',
    "f_linear_and_torch_relu": '''
class MLP(nn.Module):
    def __init__(self, input_size, hidden_size1, hidden_size2, output_size):
        super().__init__()
        sizes = [input_size, hidden_size1, hidden_size2, output_size]
        for i in range(1, 4):
            setattr(self, f"W{i}", nn.Parameter(torch.randn(sizes[i], sizes[i - 1])))
            setattr(self, f"b{i}", nn.Parameter(torch.randn(sizes[i])))

    def forward(self, x):
        self.z1 = F.linear(x, self.W1, self.b1)
        self.a1 = torch.relu(self.z1)
        self.z2 = F.linear(self.a1, self.W2, self.b2)
        self.a2 = torch.relu(self.z2)
        self.z3 = F.linear(self.a2, self.W3, self.b3)
        return self.z3
''',
    "column_convention_and_clamp": '''
class MLP(nn.Module):
    def __init__(self, input_size, hidden_size1, hidden_size2, output_size):
        super().__init__()
        self.W1 = nn.Parameter(torch.randn(hidden_size1, input_size) / input_size ** 0.5)
        self.b1 = nn.Parameter(torch.zeros(hidden_size1))
        self.W2 = nn.Parameter(torch.randn(hidden_size2, hidden_size1) / hidden_size1 ** 0.5)
        self.b2 = nn.Parameter(torch.zeros(hidden_size2))
        self.W3 = nn.Parameter(torch.randn(output_size, hidden_size2) / hidden_size2 ** 0.5)
        self.b3 = nn.Parameter(torch.zeros(output_size))

    def forward(self, x):
        self.z1 = (self.W1 @ x.T).T + self.b1
        self.a1 = self.z1.clamp(min=0)
        self.z2 = torch.addmm(self.b2, self.a1, self.W2.T)
        self.a2 = self.z2.clamp(min=0)
        self.z3 = torch.addmm(self.b3, self.a2, self.W3.t())
        return self.z3
''',
}

MLP_WRONG = {
    "relu_on_output": mlp_variant(("        return self.z3", "        return F.relu(self.z3)")),
    "first_layer_not_activated": mlp_variant(("self.a1 = F.relu(self.z1)", "self.a1 = self.z1")),
    "weights_stored_transposed": mlp_variant(
        ("torch.randn(hidden_size1, input_size)", "torch.randn(input_size, hidden_size1)"),
        ("torch.randn(hidden_size2, hidden_size1)", "torch.randn(hidden_size1, hidden_size2)"),
        ("torch.randn(output_size, hidden_size2)", "torch.randn(hidden_size2, output_size)"),
        ("x @ self.W1.T", "x @ self.W1"), ("self.a1 @ self.W2.T", "self.a1 @ self.W2"),
        ("self.a2 @ self.W3.T", "self.a2 @ self.W3")),
    "plain_tensors_not_parameters": mlp_variant(
        *[(f"self.{n} = nn.Parameter(torch.randn(", f"self.{n} = (torch.randn(")
          for n in ("W1", "b1", "W2", "b2", "W3", "b3")]),
    "bias_missing_in_layer_2": mlp_variant(("self.a1 @ self.W2.T + self.b2", "self.a1 @ self.W2.T")),
    "intermediates_not_stored": '''
class MLP(nn.Module):
    def __init__(self, input_size, hidden_size1, hidden_size2, output_size):
        super().__init__()
        self.W1 = nn.Parameter(torch.randn(hidden_size1, input_size))
        self.b1 = nn.Parameter(torch.randn(hidden_size1))
        self.W2 = nn.Parameter(torch.randn(hidden_size2, hidden_size1))
        self.b2 = nn.Parameter(torch.randn(hidden_size2))
        self.W3 = nn.Parameter(torch.randn(output_size, hidden_size2))
        self.b3 = nn.Parameter(torch.randn(output_size))

    def forward(self, x):
        z1 = x @ self.W1.T + self.b1
        a1 = F.relu(z1)
        z2 = a1 @ self.W2.T + self.b2
        a2 = F.relu(z2)
        return a2 @ self.W3.T + self.b3
''',
    "sigmoid_instead_of_relu": mlp_variant(("self.a1 = F.relu(self.z1)", "self.a1 = torch.sigmoid(self.z1)"),
                                           ("self.a2 = F.relu(self.z2)", "self.a2 = torch.sigmoid(self.z2)")),
    "weights_start_at_zero": mlp_variant(
        *[(f"self.{n} = nn.Parameter(torch.randn(", f"self.{n} = nn.Parameter(torch.zeros(")
          for n in ("W1", "W2", "W3")]),
}

# --- Exercise 2: Net ----------------------------------------------------------------------------

NET_REFERENCE = solution_source(SLUG, "Net")


def net_variant(*replacements: tuple[str, str]) -> str:
    return variant(NET_REFERENCE, *replacements)


NET_CORRECT = {
    "reference_safe_parser": NET_REFERENCE,
    # The 000 tutorial's answer: eval of the activation text and x.view; it must grade full.
    "seed_tutorial_eval": '''
class Net(nn.Module):
    def __init__(self, actv, input_feature_num, hidden_unit_nums, output_feature_num):
        super(Net, self).__init__()
        self.input_feature_num = input_feature_num
        self.mlp = nn.Sequential()
        in_num = input_feature_num
        for i in range(len(hidden_unit_nums)):
            out_num = hidden_unit_nums[i]
            layer = nn.Linear(in_num, out_num)
            in_num = out_num
            self.mlp.add_module('Linear_%d' % i, layer)
            actv_layer = eval('nn.%s' % actv)
            self.mlp.add_module('Activation_%d' % i, actv_layer)
        out_layer = nn.Linear(in_num, output_feature_num)
        self.mlp.add_module('Output_Linear', out_layer)

    def forward(self, x):
        x = x.view(-1, self.input_feature_num)
        logits = self.mlp(x)
        return logits
''',
    "sequential_from_list": '''
class Net(nn.Module):
    def __init__(self, actv, input_feature_num, hidden_unit_nums, output_feature_num):
        super().__init__()
        self.input_feature_num = input_feature_num
        widths = [input_feature_num] + list(hidden_unit_nums)
        layers = []
        for n_in, n_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(n_in, n_out), make_activation(actv)]
        layers.append(nn.Linear(widths[-1], output_feature_num))
        self.mlp = nn.Sequential(*layers)

    def forward(self, x):
        return self.mlp(torch.reshape(x, (-1, self.input_feature_num)))
''',
}

NET_CORRECT.update({
    # A parser of the student's own: the name, then numbers (all the exercise shows)
    "own_parser": '''
class Net(nn.Module):
    def __init__(self, actv, input_feature_num, hidden_unit_nums, output_feature_num):
        super().__init__()
        self.input_feature_num = input_feature_num
        layers = []
        in_num = input_feature_num
        name, _, arg = actv.partition("(")
        arg = arg.rstrip(")")
        for out_num in hidden_unit_nums:
            layers.append(nn.Linear(in_num, out_num))
            layers.append(getattr(nn, name)(*([float(arg)] if arg else [])))
            in_num = out_num
        layers.append(nn.Linear(in_num, output_feature_num))
        self.mlp = nn.Sequential(*layers)

    def forward(self, x):
        return self.mlp(x.reshape(-1, self.input_feature_num))
''',
    # nn.ModuleList and a loop in forward; the activation looked up with getattr
    "module_list": '''
class Net(nn.Module):
    def __init__(self, actv, input_feature_num, hidden_unit_nums, output_feature_num):
        super().__init__()
        self.n_in = input_feature_num
        sizes = [input_feature_num, *hidden_unit_nums, output_feature_num]
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.acts = nn.ModuleList(make_activation(actv) for _ in hidden_unit_nums)

    def forward(self, x):
        x = x.view(-1, self.n_in)
        for linear, act in zip(self.linears, self.acts):
            x = act(linear(x))
        return self.linears[-1](x)
''',
})

NET_WRONG = {
    "activation_after_output": net_variant(
        ('        self.mlp.add_module("Output_Linear", out_layer)\n',
         '        self.mlp.add_module("Output_Linear", out_layer)\n'
         '        self.mlp.add_module("Output_Activation", make_activation(actv))\n')),
    "layers_in_a_python_list": '''
class Net(nn.Module):
    def __init__(self, actv, input_feature_num, hidden_unit_nums, output_feature_num):
        super().__init__()
        self.input_feature_num = input_feature_num
        self.layers = []
        in_num = input_feature_num
        for out_num in hidden_unit_nums:
            self.layers.append(nn.Linear(in_num, out_num))
            self.layers.append(make_activation(actv))
            in_num = out_num
        self.layers.append(nn.Linear(in_num, output_feature_num))

    def forward(self, x):
        x = x.reshape(-1, self.input_feature_num)
        for layer in self.layers:
            x = layer(x)
        return x
''',
    "in_num_never_updated": net_variant(("            in_num = out_num\n", "")),
    "forward_does_not_flatten": net_variant(("        x = x.reshape(-1, self.input_feature_num)\n", "")),
    "flatten_keeps_first_dim": net_variant(("x.reshape(-1, self.input_feature_num)", "x.view(x.shape[0], -1)")),
    "activation_text_ignored": net_variant(("actv_layer = make_activation(actv)", "actv_layer = nn.ReLU()")),
    "output_layer_from_input_width": net_variant(("nn.Linear(in_num, output_feature_num)",
                                                  "nn.Linear(input_feature_num, output_feature_num)")),
    "forward_casts_to_float32": net_variant(("x = x.reshape(-1, self.input_feature_num)",
                                             "x = x.float().reshape(-1, self.input_feature_num)")),
}

NET_WRONG["no_super_init"] = net_variant(("        super().__init__()\n", ""))

CORRECT = {"MLP": MLP_CORRECT, "Net": NET_CORRECT}
WRONG = {"MLP": MLP_WRONG, "Net": NET_WRONG}
# The check cells of each exercise (grade id -> points).
CHECKS = {"MLP": {"mlp_parameters": 1.0, "mlp_forward": 2.0},
          "Net": {"net_layers": 2.0, "net_any_input": 1.0}}

# The mistake each wrong answer makes, as a phrase its feedback must contain (and no other's).
MISTAKES = {
    "MLP": {
        "relu_on_output": r"no activation on the output",
        "first_layer_not_activated": r"ReLU\(z1\)",
        "weights_stored_transposed": r"looks transposed",
        "plain_tensors_not_parameters": r"registered as a parameter",
        "bias_missing_in_layer_2": r"z2 = a1 @ W2\.T \+ b2",
        "intermediates_not_stored": r"store it on self",
        "sigmoid_instead_of_relu": r"ReLU\(z1\)",
        "weights_start_at_zero": r"start at random values",
    },
    "Net": {
        "activation_after_output": r"no activation after the output layer",
        "layers_in_a_python_list": r"invisible to PyTorch",
        "in_num_never_updated": r"update in_num",
        "forward_does_not_flatten": r"reshape x to \(-1, input_feature_num\)",
        "flatten_keeps_first_dim": r"reshape x to \(-1, input_feature_num\)",
        "activation_text_ignored": r"the one named in actv",
        "output_layer_from_input_width": r"output layer goes from the last hidden width",
        "forward_casts_to_float32": r"do not convert or move the input",
        "no_super_init": r"super\(\)\.__init__\(\) first",
    },
}


def objects(exercise: str, code: str) -> list:
    """The objects the hidden block hands to the checks, from an answer cell run in the
    notebook's namespace."""
    from autograder.hidden import reference_module
    import torch.nn as nn
    import torch.nn.functional as F
    namespace = {"nn": nn, "F": F, "make_activation": reference_module(SLUG).make_activation}
    return [run_answer(code, namespace)[exercise]]


# One correct answer per exercise: fills the student notebook in tests/test_student_notebooks.py.
SOLVED = {"MLP": MLP_CORRECT["seed_tutorial"], "Net": NET_CORRECT["reference_safe_parser"]}
# What the visible self-checks print when they pass.
SELF_CHECK_OUTPUT = [
    "MLP holds W1..W3 and b1..b3 with the right shapes.",
    "The forward pass computes and stores z1, a1, z2, a2 and z3 correctly.",
    "Net builds the right layers and computes the right outputs.",
    "Net accepts inputs of any shape.",
]
