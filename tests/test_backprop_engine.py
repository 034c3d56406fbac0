"""The backprop chapter's given code: graph drawing (with and without Graphviz's `dot`), the
speed helpers, the gradient check, and the moons training the chapter promises."""
import gc
import shutil

import pytest
import torch

from autograder.hidden import reference_module


@pytest.fixture(scope="module")
def chapter():
    return reference_module("backprop")


def small_graph(chapter):
    x = chapter.Value(15.0, label="x")
    f = x**2 - 4 * x + 3
    f.label = "f"
    f.backward()
    return x, f


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_draw_graph_renders_an_svg(chapter):
    _, f = small_graph(chapter)
    dot = chapter.draw_graph(f)
    svg = dot.pipe(format="svg").decode()
    assert "<svg" in svg and "grad 26.0000" in svg and "grad 1.0000" in svg


def test_draw_graph_without_dot_says_what_to_install(chapter, monkeypatch, capsys):
    _, f = small_graph(chapter)
    monkeypatch.setenv("PATH", "")  # no `dot` to be found
    assert chapter.draw_graph(f) is None
    out = capsys.readouterr().out
    assert "apt-get install graphviz" in out and "brew install graphviz" in out and "Colab" in out


def test_draw_graph_refuses_huge_graphs(chapter, capsys):
    total = chapter.Value(0.0)
    for i in range(200):
        total = total + chapter.Value(float(i))
    assert chapter.draw_graph(total) is None
    assert "at most 150" in capsys.readouterr().out


def test_backward_handles_graphs_deeper_than_the_recursion_limit(chapter):
    a = chapter.Value(0.5)
    h = chapter.Value(0.0)
    for _ in range(5000):  # 10,000 levels
        h = h * 1.0 + a
    h.backward()
    assert a.grad == pytest.approx(5000.0)
    assert len(chapter.trace(h)[0]) > 10000


def test_gc_paused_restores_the_collector_even_after_an_error(chapter):
    assert gc.isenabled()
    with pytest.raises(ValueError):
        with chapter.gc_paused():
            assert not gc.isenabled()
            raise ValueError
    assert gc.isenabled()


def test_a_training_step_leaves_nothing_for_the_cycle_collector(chapter):
    chapter.np.random.seed(0)
    model = chapter.ValueMLP(2, [4, 4, 1], ["ReLU", "ReLU", "Linear"])
    X, y = [[0.1, 0.2], [-0.5, 0.3], [1.0, -1.0]], [1.0, -1.0, 1.0]
    gc.collect()
    chapter.train_step(model, X, y, 0.1)
    assert gc.collect() < 50, "release_graph should leave no reference cycles behind"
    loss, _, _ = chapter.compute_loss(model, X, y)
    loss.backward()
    chapter.release_graph(loss)
    assert loss._prev == () and all(p.grad != 0 for p in model.parameters()[:2])


def test_release_graph_works_on_the_tutorial_style_class(chapter):
    """release_graph needs only _prev and _backward, as in the tutorial (a set per node)."""
    from tests.catalog.backprop import VALUE_TUTORIAL
    from tests.helpers import run_answer
    import math
    Value = run_answer(VALUE_TUTORIAL, {"math": math})["Value"]
    a = Value(2.0)
    out = (a * a + a).relu()
    out.backward()
    chapter.release_graph(out)
    assert out._prev == () and a.grad == 5.0


def test_gradient_check_passes_the_reference_and_catches_a_bug(chapter, capsys):
    torch.manual_seed(0)
    model = chapter.MLP(10, 5, 3, 2)
    x, y = torch.randn(3, 10), torch.randn(3, 2)
    assert chapter.gradient_check(model, x, y) < 1e-6
    assert "W1" in capsys.readouterr().out

    def no_relu_derivative(self, x, y, learning_rate):
        loss_grad = 2 * (self.z3 - y) / y.shape[0]
        grads = {"W3": loss_grad.T @ self.a2, "b3": loss_grad.sum(0)}
        d2 = loss_grad @ self.W3
        grads.update(W2=d2.T @ self.a1, b2=d2.sum(0))
        d1 = d2 @ self.W2
        grads.update(W1=d1.T @ x, b1=d1.sum(0))
        with torch.no_grad():
            for name, grad in grads.items():
                getattr(self, name).sub_(learning_rate * grad)

    broken = type("MLP", (chapter.MLP,), {"backward": no_relu_derivative})
    model = broken(10, 5, 3, 2)
    assert chapter.gradient_check(model, x, y) > 1e-3


@pytest.mark.slow
def test_moons_training_reaches_98_percent_as_in_the_chapter(chapter):
    """The master's configuration: 100 points, SEED 2021, 40 steps of the tutorial's schedule."""
    X, labels = chapter.make_moons(n_samples=100, noise=0.1, random_state=2021)
    X, y = X.tolist(), [2.0 * label - 1.0 for label in labels]
    chapter.np.random.seed(2021)
    model = chapter.ValueMLP(2, [16, 16, 1], ["ReLU", "ReLU", "Linear"])
    for step in range(40):
        chapter.train_step(model, X, y, 1.0 - 0.9 * (step + 1) / 40)
    _, _, accuracy = chapter.compute_loss(model, X, y)
    assert accuracy >= 0.98
