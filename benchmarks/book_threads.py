"""Why the book's chapter kernels wait passively when chapters execute side by side.

    .venv/bin/python benchmarks/book_threads.py [--steps 600] [--repeats 3]

`python -m course book` executes two chapters at once where there are two CPUs. Each kernel
keeps PyTorch's default number of threads (the chapters' engineering asides compare it with
one thread). This script trains a small network (2 -> 32 -> 3, 300 points, full-batch SGD: the
kind of loop chapter 3 runs) in a child process, four ways, in one run:

- alone: nothing else runs;
- beside a kernel: another process multiplies matrices with PyTorch's default threads at the
  same time (another chapter's kernel), OpenMP's default waiting (threads spin);
- beside a kernel, both with OMP_WAIT_POLICY=PASSIVE (what course/book.py sets);
- beside a kernel, one thread (for reference).

It prints seconds and each row's time over "alone" (best of --repeats).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

TRAIN = """
import sys, time, torch, torch.nn as nn
torch.manual_seed(0)
if len(sys.argv) > 2: torch.set_num_threads(int(sys.argv[2]))
points, classes = torch.randn(300, 2), torch.arange(3).repeat_interleave(100)
model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 3))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
start = time.perf_counter()
for _ in range(int(sys.argv[1])):
    optimizer.zero_grad()
    nn.functional.cross_entropy(model(points), classes).backward()
    optimizer.step()
print(time.perf_counter() - start)
"""
OTHER_KERNEL = """
import torch
x = torch.randn(1500, 1500)
while True:
    x @ x
"""


def train_seconds(steps: int, env: dict, threads: int | None = None) -> float:
    command = [sys.executable, "-c", TRAIN, str(steps)] + ([str(threads)] if threads else [])
    return float(subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout)


def beside_a_kernel(env: dict, run):
    """run() while another process keeps PyTorch's default threads busy."""
    other = subprocess.Popen([sys.executable, "-c", OTHER_KERNEL], env=env)
    try:
        time.sleep(2)   # its import of torch is done, its threads are busy
        return run()
    finally:
        other.kill()
        other.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=600, help="training steps per run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per row (the best is kept)")
    args = parser.parse_args()
    spinning = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    passive = dict(spinning, OMP_WAIT_POLICY="PASSIVE")
    rows = {
        "alone": lambda: train_seconds(args.steps, spinning),
        "beside a kernel, threads spin": lambda: beside_a_kernel(
            spinning, lambda: train_seconds(args.steps, spinning)),
        "beside a kernel, both PASSIVE": lambda: beside_a_kernel(
            passive, lambda: train_seconds(args.steps, passive)),
        "beside a kernel, one thread": lambda: beside_a_kernel(
            spinning, lambda: train_seconds(args.steps, spinning, threads=1)),
    }
    print(f"{args.steps} steps of a 2-32-3 network on {os.cpu_count()} CPUs, best of {args.repeats}:")
    alone = None
    for name, run in rows.items():
        seconds = min(run() for _ in range(args.repeats))
        alone = alone or seconds
        print(f"  {name:32s} {seconds:6.2f} s  ({seconds / alone:5.1f}x alone)")


if __name__ == "__main__":
    main()
