"""The fork server's figure warm-up: grading with kernels forked after it, against without.

    .venv/bin/python benchmarks/kernel_warmup.py [--chapter backprop] [--n 8] [--rounds 2]

The fork server (autograder/sandbox/zygote.py) draws one figure off-screen after preloading
Matplotlib, so that each forked kernel starts with Matplotlib's font and math-text caches filled.
``MLP_WARM_FIGURES=0`` switches that off. The same N submissions of a chapter (its test catalog)
are graded in this process (``grade(..., workers=0)``: real nbgrader, sandboxed kernels, oracle)
in alternating rounds, each with a new fork server started (and warmed, or not) before the clock
starts. Prints seconds per submission for each mode and their ratio; writes
_build/benchmarks/kernel_warmup.json.
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from feedback_pages import catalog_arguments, catalog_files  # noqa: E402  (sets up the environment)

from autograder.grade import grade  # noqa: E402
from autograder.sandbox import kernel  # noqa: E402


def fresh_fork_server(chapter: str, one: dict, out: Path, warm: bool) -> None:
    """Close this process's fork server and start a new one (by grading one submission)."""
    os.environ["MLP_WARM_FIGURES"] = "1" if warm else "0"
    for zygote in list(kernel._ZYGOTES.values()):
        zygote.close()
    kernel._ZYGOTES.clear()
    grade(chapter, one, out, workers=0)


def main() -> None:
    args = catalog_arguments(__doc__.split("\n")[0])
    seconds = {"cold": [], "warm": []}
    with tempfile.TemporaryDirectory(prefix="warmup-bench-") as tmp:
        work = Path(tmp)
        files = catalog_files(args.chapter, args.n, work)
        one = dict(list(files.items())[:1])
        for i in range(args.rounds):
            for mode in ("cold", "warm"):
                fresh_fork_server(args.chapter, one, work / f"start-{mode}-{i}", mode == "warm")
                started = time.perf_counter()
                results = grade(args.chapter, files, work / f"{mode}-{i}", workers=0)
                seconds[mode].append((time.perf_counter() - started) / args.n)
                graded = sum(r.status in ("graded", "needs review") for r in results)
                print(f"round {i + 1} {mode}: {graded}/{args.n} graded, "
                      f"{seconds[mode][-1]:.2f} s per submission")
    per = {mode: statistics.mean(values) for mode, values in seconds.items()}
    summary = {"chapter": args.chapter, "n": args.n, "rounds": args.rounds,
               "submission_seconds": per, "ratio_warm_over_cold": per["warm"] / per["cold"]}
    print(f"per submission: {per['cold']:.2f} s with cold kernels, {per['warm']:.2f} s with "
          f"warmed ones ({summary['ratio_warm_over_cold']:.2f}x)")
    target = ROOT.parent / "_build" / "benchmarks" / "kernel_warmup.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
