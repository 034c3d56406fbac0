"""Reference solutions for the chapter 'general_mlp'.

GENERATED from book/02_general_mlp.ipynb by `make generate`: edit the master, never this file.
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


class MLP(nn.Module):
    """A 3-layer perceptron written with explicit weight matrices.

    Args:
        input_size: number of input features d.
        hidden_size1: number of units h1 in the first hidden layer.
        hidden_size2: number of units h2 in the second hidden layer.
        output_size: number of outputs o.
    """

    def __init__(self, input_size: int, hidden_size1: int, hidden_size2: int, output_size: int):
        super().__init__()
        # Weights W1, W2, W3 of shape (units out, units in), biases b1, b2, b3
        # of shape (units out,): each an nn.Parameter filled with torch.randn
        self.W1 = nn.Parameter(torch.randn(hidden_size1, input_size))
        self.b1 = nn.Parameter(torch.randn(hidden_size1))
        self.W2 = nn.Parameter(torch.randn(hidden_size2, hidden_size1))
        self.b2 = nn.Parameter(torch.randn(hidden_size2))
        self.W3 = nn.Parameter(torch.randn(output_size, hidden_size2))
        self.b3 = nn.Parameter(torch.randn(output_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (batch, input_size) -> output of shape (batch, output_size)."""
        # Hidden layer 1: self.z1 and self.a1 = ReLU(self.z1),
        # both of shape (batch, hidden_size1)
        self.z1 = x @ self.W1.T + self.b1
        self.a1 = F.relu(self.z1)

        # Hidden layer 2: self.z2 and self.a2, both of shape (batch, hidden_size2)
        self.z2 = self.a1 @ self.W2.T + self.b2
        self.a2 = F.relu(self.z2)

        # Output layer: self.z3 of shape (batch, output_size), no activation
        self.z3 = self.a2 @ self.W3.T + self.b3
        return self.z3


import ast
import re

# 'Name' or 'Name(arguments)', with optional spaces around
_ACTIVATION_TEXT = re.compile(r"^\s*([A-Za-z_]\w*)\s*(?:\((.*)\))?\s*$", re.DOTALL)


def make_activation(actv: str) -> nn.Module:
    """Build a torch.nn module from text: 'ReLU()', 'LeakyReLU(0.1)', 'ELU(alpha=0.5)'...

    Only a class of torch.nn with literal arguments is accepted: nothing in the text
    is run. Raises ValueError, saying what is wrong, for anything else.
    """
    match = _ACTIVATION_TEXT.match(actv) if isinstance(actv, str) else None
    if match is None:
        raise ValueError(f"activation {actv!r} should look like 'Name(arguments)', "
                         "e.g. 'ReLU()' or 'LeakyReLU(0.1)'")
    name, arguments = match.group(1), match.group(2) or ""
    module_class = getattr(nn, name, None)
    if not (isinstance(module_class, type) and issubclass(module_class, nn.Module)):
        raise ValueError(f"unknown activation {name!r}: torch.nn has no module of that "
                         "name (names are case-sensitive, e.g. 'ReLU()', 'LeakyReLU(0.1)', "
                         "'Tanh()')")
    try:
        call = ast.parse(f"f({arguments})", mode="eval").body
        if not isinstance(call, ast.Call):  # e.g. 'LeakyReLU(0.1) + ReLU()'
            raise ValueError("one activation only")
        starred = any(isinstance(a, ast.Starred) for a in call.args)
        if starred or any(k.arg is None for k in call.keywords):
            raise ValueError("* and ** arguments are not allowed")
        args = [ast.literal_eval(a) for a in call.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
    except (SyntaxError, ValueError) as err:
        raise ValueError(f"the arguments of activation {actv!r} should be plain numbers, "
                         f"strings or booleans ({err})") from None
    return module_class(*args, **kwargs)


class Net(nn.Module):
    """A multi-layer perceptron of any depth and width.

    Args:
        actv: activation after every hidden layer, as text: 'ReLU()', 'Tanh()',
            'LeakyReLU(0.1)' (a name of torch.nn, then its arguments); a name
            that torch.nn does not have raises an error.
        input_feature_num: number of input features (inputs are flattened to this many).
        hidden_unit_nums: list with the number of units of each hidden layer.
        output_feature_num: number of outputs.
    """

    def __init__(self, actv, input_feature_num, hidden_unit_nums, output_feature_num):
        super().__init__()
        self.input_feature_num = input_feature_num  # kept for reshaping in forward
        self.mlp = nn.Sequential()  # the layers, in order

        in_num = input_feature_num  # the width of the input to the next layer
        for i in range(len(hidden_unit_nums)):
            out_num = hidden_unit_nums[i]
            # layer: a linear layer from in_num to out_num units
            layer = nn.Linear(in_num, out_num)
            in_num = out_num
            self.mlp.add_module(f"Linear_{i}", layer)

            # actv_layer: the activation module built from the text actv
            # (use make_activation)
            actv_layer = make_activation(actv)
            self.mlp.add_module(f"Activation_{i}", actv_layer)

        # out_layer: from the last width to output_feature_num (no activation after it)
        out_layer = nn.Linear(in_num, output_feature_num)
        self.mlp.add_module("Output_Linear", out_layer)

    def forward(self, x):
        """x: any shape holding whole samples of input_feature_num values.

        Returns the logits, of shape (batch, output_feature_num)."""
        # logits: reshape x to (batch, input_feature_num), then run it through self.mlp
        x = x.reshape(-1, self.input_feature_num)
        logits = self.mlp(x)
        return logits
