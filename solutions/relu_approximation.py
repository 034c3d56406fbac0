"""Reference solutions for the chapter 'relu_approximation'.

GENERATED from book/01_relu_approximation.ipynb by `make generate`: edit the master, never this file.
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


def approximate_function(x_train, y_train):
    """Fit training points with a weighted sum of shifted ReLUs of slope 1.

    Args:
        x_train: tensor of shape (N, 1) or (N,), sorted ascending: the training inputs.
        y_train: tensor of the same shape: the targets at x_train.

    Returns:
        y_hat: tensor of shape (1000,), the weighted sum of the ReLUs at every point of x.
        relu_acts: tensor of shape (N - 1, 1000), ReLU i evaluated at every point of x.
        x: tensor of shape (1000,), evenly spaced from min(x_train) to max(x_train).
    """
    # One ReLU per interval between consecutive training points
    n_relus = x_train.shape[0] - 1

    # The points where the approximation is evaluated (many more than the training points)
    x = torch.linspace(torch.min(x_train), torch.max(x_train), 1000)

    # 1. Biases, shape (n_relus, ...): ReLU i must bend exactly at x_train[i]
    b = -x_train[:-1]

    # Activations: row i holds relu(x + b[i]) at every point of x
    relu_acts = torch.zeros((n_relus, x.shape[0]))
    for i_relu in range(n_relus):
        relu_acts[i_relu, :] = torch.relu(x + b[i_relu])

    # 2. Weights: each ReLU adds the change of slope at its training point
    combination_weights = torch.zeros((n_relus,))
    prev_slope = 0
    for i in range(n_relus):
        delta_x = x_train[i + 1] - x_train[i]
        slope = (y_train[i + 1] - y_train[i]) / delta_x
        combination_weights[i] = slope - prev_slope
        prev_slope = slope

    # 3. The estimate: the weighted sum of the activations, shape (1000,)
    y_hat = combination_weights @ relu_acts

    return y_hat, relu_acts, x
