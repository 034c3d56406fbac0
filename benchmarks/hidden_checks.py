"""How long the chapter 5 hidden checks take on the reference answers, against a baseline measured
in the same run: one training step of the chapter's moons network with the reference `Value`
engine (what a student's own cell costs). Grading budgets are per cell (60 s by default): a check
should cost a small multiple of the student's own cell, never seconds.

    .venv/bin/python benchmarks/hidden_checks.py [--repeats 5]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from autograder.hidden import check, reference_module  # noqa: E402
from benchmarks.timing import best_of  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    ref = reference_module("backprop")
    from sklearn.datasets import make_moons
    points, labels = make_moons(n_samples=100, noise=0.1, random_state=0)
    X = points.tolist()
    y = [2 * int(label) - 1 for label in labels]
    model = ref.ValueMLP(2, [16, 16, 1], ["ReLU", "ReLU", "Linear"])
    baseline = best_of(lambda: ref.train_step(model, X, y, 0.1), args.repeats)
    print(f"baseline: one moons training step with the Value engine: {1000 * baseline:.1f} ms")
    for name, obj in [("backward_update", ref.backward), ("value_backward", ref.Value),
                      ("value_local_gradients", ref.Value)]:
        seconds = best_of(lambda: check("backprop", name, obj), args.repeats)
        print(f"{name:24s} {1000 * seconds:8.1f} ms   {seconds / baseline:6.2f}x the baseline")


if __name__ == "__main__":
    main()
