"""The given code of the spiral-split chapter: Net (equivalent to chapter 2's answer, written
differently), chapter 2's safe activation parser (the one make_activation of the course), the
spiral data set and InMemoryLoader, checked against the source tutorial's behaviour."""
import numpy as np
import pytest
import torch
from torch import nn

from autograder.hidden import reference_module

chapter = reference_module("spiral_split")


@pytest.mark.parametrize("text, kind, attributes", [
    ("ReLU()", nn.ReLU, {}),
    ("LeakyReLU(0.1)", nn.LeakyReLU, {"negative_slope": 0.1}),
    ("ELU(alpha=0.5)", nn.ELU, {"alpha": 0.5}),
    ("  Tanh ( )  ", nn.Tanh, {}),
    ("Softplus(beta=2, threshold=10)", nn.Softplus, {"beta": 2, "threshold": 10}),
])
def test_activations_are_built_from_their_text(text, kind, attributes):
    layer = chapter.make_activation(text)
    assert type(layer) is kind
    for name, value in attributes.items():
        assert getattr(layer, name) == value


@pytest.mark.parametrize("text, message", [
    ("Relu()", "unknown activation 'Relu'"),
    ("relu", "unknown activation 'relu'"),
    ("ReLU(); import os", "should look like"),
    ('__import__("os").system("true")', "unknown activation '__import__'"),
    ('__import__("os")', "unknown activation '__import__'"),
    ("functional()", "unknown activation 'functional'"),
    ("Tensor()", "unknown activation 'Tensor'"),
    ('LeakyReLU(__import__("os").getpid())', "plain numbers"),
    ("LeakyReLU(*[0.1])", "plain numbers"),
    ("LeakyReLU(0.1) + ReLU()", "plain numbers"),
    (None, "should look like"),
])
def test_anything_else_is_a_clear_error_and_never_runs(text, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        chapter.make_activation(text)


def tutorial_net(hidden, seed):
    """The tutorial's Net, built by hand in the same order (Linear, activation, ..., output)."""
    torch.manual_seed(seed)
    layers, width = [], 2
    for units in hidden:
        layers += [nn.Linear(width, units), nn.ReLU()]
        width = units
    return nn.Sequential(*layers, nn.Linear(width, 4))


@pytest.mark.parametrize("hidden", [[128], [100, 10, 5], []])
def test_net_has_the_tutorials_layers_and_initial_weights(hidden):
    torch.manual_seed(2021)
    net = chapter.Net("ReLU()", 2, hidden, 4)
    names = [name for name, _ in net.mlp.named_children()]
    expected = [f"{kind}_{i}" for i in range(len(hidden)) for kind in ("Linear", "Activation")]
    assert names == expected + ["Output_Linear"]
    reference = tutorial_net(hidden, 2021)
    for mine, theirs in zip(net.parameters(), reference.parameters(), strict=True):
        assert torch.equal(mine, theirs)
    x = torch.randn(7, 2)
    assert torch.allclose(net(x), reference(x))


def test_net_flattens_its_input():
    net = chapter.Net("Tanh()", 6, [5], 3)
    images = torch.randn(4, 1, 2, 3)
    assert net(images).shape == (4, 3)
    assert torch.equal(net(images), net(images.reshape(4, 6)))
    assert net(images.transpose(2, 3)).shape == (4, 3)  # non-contiguous input too


def tutorial_spirals(K, sigma, N):
    """The tutorial's create_spiral_dataset, verbatim but for the layout."""
    t = torch.linspace(0, 1, N)
    X = torch.zeros(K * N, 2)
    y = torch.zeros(K * N)
    for k in range(K):
        X[k * N:(k + 1) * N, 0] = t * (torch.sin(2 * np.pi / K * (2 * t + k)) + sigma * torch.randn(N))
        X[k * N:(k + 1) * N, 1] = t * (torch.cos(2 * np.pi / K * (2 * t + k)) + sigma * torch.randn(N))
        y[k * N:(k + 1) * N] = k
    return X, y


def test_spirals_equal_the_tutorials_for_the_same_seed():
    torch.manual_seed(2021)
    X, y = chapter.create_spiral_dataset(4, 0.16, 1000)
    torch.manual_seed(2021)
    X_ref, y_ref = tutorial_spirals(4, 0.16, 1000)
    assert torch.equal(X, X_ref) and torch.equal(y, y_ref)
    assert X.shape == (4000, 2) and y.dtype == torch.float32


def test_in_memory_loader_gives_every_sample_once_per_epoch():
    X, y = torch.arange(50.0).view(25, 2), torch.arange(25)
    loader = chapter.InMemoryLoader(X, y, batch_size=8, shuffle=True,
                                    generator=torch.Generator().manual_seed(0))
    assert len(loader) == 4 and len(loader.dataset) == 25
    epochs = [list(loader) for _ in range(2)]
    for batches in epochs:
        assert [len(labels) for _, labels in batches] == [8, 8, 8, 1]
        labels = torch.cat([labels for _, labels in batches])
        assert sorted(labels.tolist()) == list(range(25))
        inputs = torch.cat([inputs for inputs, _ in batches])
        assert torch.equal(inputs, X[labels])  # every input keeps its label
    assert not torch.equal(torch.cat([b[1] for b in epochs[0]]), torch.cat([b[1] for b in epochs[1]]))
    again = chapter.InMemoryLoader(X, y, batch_size=8, shuffle=True,
                                   generator=torch.Generator().manual_seed(0))
    assert torch.equal(torch.cat([b[1] for b in again]), torch.cat([b[1] for b in epochs[0]]))


def test_in_memory_loader_in_order_and_errors():
    X, y = torch.randn(10, 3), torch.arange(10)
    batches = list(chapter.InMemoryLoader(X, y, batch_size=4))
    assert torch.equal(torch.cat([b[0] for b in batches]), X)
    assert list(chapter.InMemoryLoader(X[:0], y[:0], batch_size=4)) == []
    with pytest.raises(ValueError, match="10 samples but y has 9"):
        chapter.InMemoryLoader(X, y[:9])


def test_the_course_has_one_make_activation():
    """Chapter 4 hands out chapter 2's make_activation, unchanged."""
    import inspect
    general = reference_module("general_mlp")
    assert inspect.getsource(chapter.make_activation) == inspect.getsource(general.make_activation)
