"""Time the book build: a full build with execution from a cold cache, then a rebuild with no
notebook change (every chapter's outputs come from the execution cache).

    .venv/bin/python benchmarks/book_build.py [--edition full]

Targets (issue: the course site): cold build under 300 s, rebuild under 30 s on 2 CPU cores.
The cold build uses a fresh temporary execution cache, so the project's own cache is untouched.
Run it alone: other work on the machine's cores inflates the cold figure.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"cold": 300.0, "rebuild": 30.0}


def timed_build(edition: str, cache: Path) -> float:
    env = dict(os.environ, MLP_COURSE_EXEC_CACHE=str(cache))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "course", "book", "--edition", edition],
                   cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edition", default="full", choices=["full", "no-solutions"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlp-exec-cache-") as cache:
        cold = timed_build(args.edition, Path(cache))
        rebuild = timed_build(args.edition, Path(cache))
    print(f"book build ({args.edition} edition, {os.cpu_count()} CPUs)")
    print(f"  cold, executing every chapter: {cold:7.1f} s   target < {TARGETS['cold']:.0f} s   "
          f"({cold / TARGETS['cold']:.2f} of the budget)")
    print(f"  rebuild, nothing changed:     {rebuild:7.1f} s   target < {TARGETS['rebuild']:.0f} s   "
          f"({rebuild / TARGETS['rebuild']:.2f} of the budget)")
    print(f"  the cache makes a rebuild {cold / rebuild:.1f}x faster than a cold build")
    if cold > TARGETS["cold"] or rebuild > TARGETS["rebuild"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
