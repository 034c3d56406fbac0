"""Time the spiral chapter's training loop against the source tutorial's, in one run.

    .venv/bin/python benchmarks/spiral_training.py [--epochs 100] [--repeats 1] [--breakdown]

Both loops train the same network (Net('ReLU()', 2, [128], 4), the same initial weights) on the
same split of the same spiral data, for the same number of epochs, with Adam(lr=1e-3) and
mini-batches of 128:

- tutorial: the tutorial's train/evaluate loop fed by DataLoader(TensorDataset(...),
  batch_size=128, num_workers=2, worker_init_fn=seed_worker, generator=g_seed), as in the
  tutorial, with PyTorch's default number of CPU threads;
- chapter: the chapter's train_test_classification fed by InMemoryLoader (batches cut out of the
  tensors by index, the data moved once to float32 / int64), on one CPU thread as the chapter
  trains (torch.set_num_threads(1): the matrix products of this small network are too small to
  share between threads).

Two more rows separate the causes (add them with --breakdown): the tutorial's loop with
num_workers=0 (no worker processes, still per-sample __getitem__ + collate), and the chapter's
loop with the default number of threads. It prints the wall-clock times, the speed-up of the
chapter's loop over the tutorial's (target: at least 5x) and the accuracies. Timings are noisy on
a shared machine: run it a few times, or pass --repeats.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")  # progress bars would only slow both loops down
os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SEED = 2021
K, SIGMA, N = 4, 0.16, 1000
BATCH_SIZE = 128
DEFAULT_THREADS = torch.get_num_threads()


def chapter_module():
    """The chapter's code (generated from book/04_spiral_split.ipynb), loaded by path."""
    path = ROOT / "solutions" / "spiral_split.py"
    spec = importlib.util.spec_from_file_location("spiral_split_chapter", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def set_seed(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def seed_worker(worker_id):
    worker_seed = torch.initial_seed() % 2**32
    np.random.seed(worker_seed)
    random.seed(worker_seed)


def tutorial_train_test_classification(net, criterion, optimizer, train_loader, test_loader,
                                       num_epochs=1, device="cpu"):
    """The source tutorial's loop (W1D3 tutorial 1, section 2.3), without printing or plotting."""
    net.train()
    training_losses = []
    for epoch in range(num_epochs):
        for i, data in enumerate(train_loader, 0):
            inputs, labels = data
            inputs = inputs.to(device).float()
            labels = labels.to(device).long()
            optimizer.zero_grad()
            outputs = net(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            training_losses += [loss.item()]
    net.eval()

    def test(data_loader):
        correct = 0
        total = 0
        for data in data_loader:
            inputs, labels = data
            inputs = inputs.to(device).float()
            labels = labels.to(device).long()
            outputs = net(inputs)
            _, predicted = torch.max(outputs, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
        return 100 * correct / total

    return test(train_loader), test(test_loader)


def data(chapter):
    set_seed(SEED)
    X, y = chapter.create_spiral_dataset(K, SIGMA, N)
    return chapter.shuffle_and_split_data(X, y, seed=SEED)


def run_tutorial(chapter, split, epochs, workers):
    X_test, y_test, X_train, y_train = split
    g_seed = torch.Generator()
    g_seed.manual_seed(SEED)
    test_loader = DataLoader(TensorDataset(X_test, y_test), batch_size=BATCH_SIZE, shuffle=False,
                             num_workers=workers, worker_init_fn=seed_worker, generator=g_seed)
    train_loader = DataLoader(TensorDataset(X_train, y_train), batch_size=BATCH_SIZE, shuffle=True,
                              num_workers=workers, worker_init_fn=seed_worker, generator=g_seed)
    set_seed(SEED)
    net = chapter.Net("ReLU()", X_train.shape[1], [128], K)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    start = time.perf_counter()
    accuracies = tutorial_train_test_classification(net, nn.CrossEntropyLoss(), optimizer,
                                                    train_loader, test_loader, num_epochs=epochs)
    return time.perf_counter() - start, accuracies


def run_chapter(chapter, split, epochs, threads=None):
    X_test, y_test, X_train, y_train = split
    if threads:
        torch.set_num_threads(threads)
    start = time.perf_counter()  # moving the data and building the loaders counts too
    g_fast = torch.Generator()
    g_fast.manual_seed(SEED)
    train_batches = chapter.InMemoryLoader(X_train.float(), y_train.long(), batch_size=BATCH_SIZE,
                                           shuffle=True, generator=g_fast)
    test_batches = chapter.InMemoryLoader(X_test.float(), y_test.long(), batch_size=BATCH_SIZE)
    set_seed(SEED)
    net = chapter.Net("ReLU()", X_train.shape[1], [128], K)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    accuracies = chapter.train_test_classification(net, nn.CrossEntropyLoss(), optimizer,
                                                   train_batches, test_batches, num_epochs=epochs,
                                                   verbose=False, training_plot=False)
    seconds = time.perf_counter() - start
    torch.set_num_threads(DEFAULT_THREADS)
    return seconds, accuracies


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=1, help="best of this many runs per loop")
    parser.add_argument("--breakdown", action="store_true",
                        help="also run the tutorial's loop without workers and the chapter's "
                             "loop with the default number of threads")
    args = parser.parse_args(argv)

    chapter = chapter_module()
    split = data(chapter)
    print(f"spiral data: {len(split[2])} training and {len(split[0])} test points; "
          f"{args.epochs} epochs of batches of {BATCH_SIZE}; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {os.cpu_count()} CPUs")

    tutorial = "tutorial: DataLoader, 2 workers"
    fast = "chapter: InMemoryLoader, 1 thread"
    rows = [(tutorial, lambda: run_tutorial(chapter, split, args.epochs, 2))]
    if args.breakdown:
        rows += [("tutorial loop, DataLoader, no workers",
                  lambda: run_tutorial(chapter, split, args.epochs, 0)),
                 (f"chapter loop, {DEFAULT_THREADS} threads",
                  lambda: run_chapter(chapter, split, args.epochs))]
    rows.append((fast, lambda: run_chapter(chapter, split, args.epochs, threads=1)))

    results = {}
    for name, run in rows:
        runs = [run() for _ in range(args.repeats)]
        seconds = min(r[0] for r in runs)
        train_acc, test_acc = runs[0][1]
        results[name] = seconds
        print(f"{name:40s} {seconds:7.2f} s   train {train_acc:6.2f}%   test {test_acc:6.2f}%",
              flush=True)

    ratio = results[tutorial] / results[fast]
    verdict = "meets" if ratio >= 5 else "MISSES"
    print(f"speed-up of the chapter's loop over the tutorial's: {ratio:.1f}x ({verdict} the 5x target)")
    return 0 if ratio >= 5 else 1


if __name__ == "__main__":
    sys.exit(main())
