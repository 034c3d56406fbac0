"""Reference solutions for the chapter 'spiral_split'.

GENERATED from book/04_spiral_split.ipynb by `make generate`: edit the master, never this file.
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


import ast
import math
import re
import time

from matplotlib.colors import ListedColormap
from torch.utils.data import DataLoader, TensorDataset


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


from collections import OrderedDict


class Net(nn.Module):
    """A multi-layer perceptron: (Linear, activation) per hidden layer, then a Linear output.

    It computes what chapter 2's Net computes, with the same layer names and the same random
    initialisation, but is written differently (the layers are listed first, then wrapped).
    """

    def __init__(self, actv, input_feature_num, hidden_unit_nums, output_feature_num):
        super().__init__()
        self.input_feature_num = input_feature_num  # kept to flatten inputs in forward
        widths = [input_feature_num, *hidden_unit_nums]
        named_layers = []
        for i, (n_in, n_out) in enumerate(zip(widths, widths[1:])):
            named_layers.append((f"Linear_{i}", nn.Linear(n_in, n_out)))
            named_layers.append((f"Activation_{i}", make_activation(actv)))
        named_layers.append(("Output_Linear", nn.Linear(widths[-1], output_feature_num)))
        self.mlp = nn.Sequential(OrderedDict(named_layers))

    def forward(self, x):
        """x of shape (batch, ...) -> logits of shape (batch, output_feature_num)."""
        rows = torch.reshape(x, (-1, self.input_feature_num))  # images become rows of features
        return self.mlp(rows)


def create_spiral_dataset(K, sigma, N):
    """K noisy spiral arms of N points each.

    Args:
        K: int, the number of classes (arms).
        sigma: float, the standard deviation of the noise.
        N: int, the number of points per arm.

    Returns:
        X: tensor of shape (K*N, 2), the points, arm by arm.
        y: tensor of shape (K*N,), the class of each point as a float (0., 1., ..., K-1.).
    """
    t = torch.linspace(0, 1, N)
    X = torch.zeros(K * N, 2)
    y = torch.zeros(K * N)
    for k in range(K):
        angle = 2 * np.pi / K * (2 * t + k)
        X[k * N:(k + 1) * N, 0] = t * (torch.sin(angle) + sigma * torch.randn(N))
        X[k * N:(k + 1) * N, 1] = t * (torch.cos(angle) + sigma * torch.randn(N))
        y[k * N:(k + 1) * N] = k
    return X, y


def shuffle_and_split_data(X, y, seed):
    """Shuffle the samples reproducibly, then split off the first 20% as the test set.

    Args:
        X: tensor of shape (N, ...), one sample per row.
        y: tensor of shape (N,), y[i] is the label of X[i].
        seed: int, the seed of the shuffle: the same seed gives the same split.

    Returns:
        X_test: tensor of shape (N_test, ...), with N_test = int(0.2 * N).
        y_test: tensor of shape (N_test,), the labels of X_test.
        X_train: tensor of shape (N - N_test, ...), the other samples.
        y_train: tensor of shape (N - N_test,), the labels of X_train.
    """
    torch.manual_seed(seed)
    # Number of samples
    N = X.shape[0]

    # 1. A random order of the N samples: a tensor holding 0, ..., N-1 shuffled, shape (N,)
    shuffled_indices = torch.randperm(N)
    X = X[shuffled_indices]
    y = y[shuffled_indices]

    # 2. The size of the test set: 20% of the samples, rounded down to an int
    test_size = int(0.2 * N)
    X_test = X[:test_size]
    y_test = y[:test_size]
    X_train = X[test_size:]
    y_train = y[test_size:]

    return X_test, y_test, X_train, y_train


def train_test_classification(net, criterion, optimizer, train_loader, test_loader,
                              num_epochs=1, verbose=True, training_plot=False, device="cpu"):
    """Train net for num_epochs on train_loader, then measure its accuracy on both loaders.

    Args:
        net: the model, an nn.Module already on `device`.
        criterion: the loss, criterion(logits, labels) -> scalar, e.g. nn.CrossEntropyLoss().
        optimizer: updates the parameters of net, e.g. torch.optim.Adam(net.parameters()).
        train_loader, test_loader: iterables of (inputs, labels) batches, e.g. a DataLoader:
            inputs of shape (B, features), labels of shape (B,) holding class numbers.
        num_epochs: int, passes over the training data.
        verbose: if True, print the accuracies.
        training_plot: if True, plot the loss of every training batch.
        device: where the batches go before they meet the model.

    Returns:
        train_acc, test_acc: the accuracies on the two loaders in percent (0 to 100).
    """
    # 1. Put the network in training mode
    net.train()
    training_losses = []
    for epoch in tqdm(range(num_epochs), desc="epochs"):
        for inputs, labels in train_loader:
            inputs = inputs.to(device).float()  # (B, features)
            labels = labels.to(device).long()   # (B,) class numbers
            # 2. One optimisation step on this batch: clear the gradients, forward pass,
            #    the loss of the outputs against the labels (criterion), backward pass, update
            optimizer.zero_grad()
            outputs = net(inputs)                # (B, classes)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            if verbose or training_plot:
                training_losses.append(loss.item())

    # 3. Put the network in evaluation mode
    net.eval()

    def test(data_loader):
        """(accuracy in percent, number of samples) of net on every batch of data_loader."""
        correct = 0
        total = 0
        with torch.no_grad():  # no gradients are needed to evaluate
            for inputs, labels in data_loader:
                inputs = inputs.to(device).float()
                labels = labels.to(device).long()
                # 4. Predict the class with the largest output, shape (B,); add the batch's
                #    number of samples to total and its number of correct predictions to correct
                predicted = net(inputs).argmax(dim=1)
                total += labels.size(0)
                correct += (predicted == labels).sum().item()
        return 100 * correct / total, total

    train_acc, train_total = test(train_loader)
    test_acc, test_total = test(test_loader)

    if verbose:
        print(f"Accuracy on the {train_total} training samples: {train_acc:0.2f}")
        print(f"Accuracy on the {test_total} test samples: {test_acc:0.2f}")
    if training_plot:
        per_epoch = len(training_losses) // max(num_epochs, 1)  # batches per epoch
        fig, ax = plt.subplots()
        ax.plot(training_losses, alpha=0.5, label="one mini-batch")
        if per_epoch:
            means = np.reshape(training_losses[:per_epoch * num_epochs], (num_epochs, per_epoch))
            ax.plot((np.arange(num_epochs) + 0.5) * per_epoch, means.mean(axis=1), label="epoch mean")
        ax.set_yscale("log")
        ax.set(xlabel=f"mini-batch ({per_epoch} per epoch)", ylabel="training loss (log scale)",
               title="Training loss")
        ax.legend()
        plt.show()
    return train_acc, test_acc


class InMemoryLoader:
    """Mini-batches of tensors already in memory, cut out by index: a fast stand-in for
    DataLoader(TensorDataset(X, y), batch_size, shuffle) when the data fit in memory.

    Iterating gives (inputs, labels) batches: inputs (B, ...), labels (B,), with B = batch_size
    except maybe for the last batch; len() is the number of batches per epoch.
    """

    def __init__(self, X, y, batch_size=128, shuffle=False, generator=None):
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
        self.X, self.y = X, y
        self.dataset = TensorDataset(X, y)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator  # a torch.Generator makes the order repeatable

    def __len__(self):
        return math.ceil(len(self.X) / self.batch_size)

    def __iter__(self):
        n = len(self.X)
        if self.shuffle:  # one permutation per epoch, then one indexing per batch
            order = torch.randperm(n, generator=self.generator).to(self.X.device)
            for start in range(0, n, self.batch_size):
                batch = order[start:start + self.batch_size]
                yield self.X[batch], self.y[batch]
        else:  # in order: slices are views, nothing is copied
            for start in range(0, n, self.batch_size):
                yield self.X[start:start + self.batch_size], self.y[start:start + self.batch_size]
