"""The instructor command at two or more commits, on the same submissions, in one run.

    .venv/bin/python benchmarks/grading_commits.py BEFORE AFTER [...] [--n 50] [--rounds 2]

What a change costs or saves in grading, measured end to end: the same N submissions of the ReLU
chapter (the realistic mix of tests/corpus/make_corpus.py, built once from this checkout, without
the infinite loop, the .py export and the empty file) are zipped, and each commit, checked out in
a temporary git worktree, grades the zip with ``python -m course grade 01 subs.zip --workers 2``
from a cold start (cluster, template and all) with this checkout's environment. The commits take
turns (A B A B ...) so that drift of the machine's speed falls on all of them; the median of each
is compared with the first commit's. Each row also says what was graded (statuses, total points)
so that a faster run that grades differently shows.

Results are printed and written to _build/benchmarks/grading_commits.json.
"""
from __future__ import annotations

import argparse
import collections
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core import paths  # noqa: E402
from tests.corpus.make_corpus import class_submissions  # noqa: E402
from tests.helpers import student_notebook  # noqa: E402

SKIPPED = ("infinite_loop", "python_export", "empty_file")


def write_submissions(n: int, archive: Path) -> None:
    rows = [(kind, data) for kind, data, _ in class_submissions(student_notebook("01_relu_approximation.ipynb"))
            if kind not in SKIPPED]
    if n > len(rows):
        raise SystemExit(f"only {len(rows)} benchmark submissions available")
    with zipfile.ZipFile(archive, "w") as zipped:
        for i, (kind, data) in enumerate(rows[:n]):
            zipped.writestr(f"s{i:03d}_{kind}.ipynb", data)


def grade_once(tree: Path, archive: Path, out: Path) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "course", "grade", "01", str(archive), "--out", str(out),
                           "--workers", "2"], cwd=tree, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"grading at {tree} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    rows = list(csv.DictReader((out / "grades.csv").open(encoding="utf-8")))
    return {"seconds": seconds, "statuses": dict(collections.Counter(r["status"] for r in rows)),
            "points": sum(float(r["total"] or 0) for r in rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("commits", nargs="+", help="commits to compare; the first is the baseline")
    parser.add_argument("--n", type=int, default=50, help="submissions graded by each commit")
    parser.add_argument("--rounds", type=int, default=2, help="runs per commit (taking turns)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="grading-commits-"))
    trees = {}
    try:
        archive = work / "subs.zip"
        write_submissions(args.n, archive)
        for commit in args.commits:
            trees[commit] = work / f"tree-{len(trees)}"
            subprocess.run(["git", "worktree", "add", "--detach", "-q", str(trees[commit]), commit],
                           cwd=ROOT, check=True)
        runs = collections.defaultdict(list)
        for round_ in range(args.rounds):
            for commit, tree in trees.items():
                run = grade_once(tree, archive, work / "out")
                runs[commit].append(run)
                print(f"round {round_ + 1}: {commit:>12} {run['seconds']:6.1f} s  {run['statuses']}, "
                      f"{run['points']:g} points", flush=True)
        base = statistics.median(r["seconds"] for r in runs[args.commits[0]])
        report = {}
        print(f"\n{args.n} submissions, 2 workers, median of {args.rounds}:")
        for commit in args.commits:
            median = statistics.median(r["seconds"] for r in runs[commit])
            report[commit] = {"median_seconds": median, "ratio_to_first": median / base,
                              "runs": runs[commit]}
            print(f"  {commit:>12} {median:6.1f} s  ({median / base:.2f}x the first)  "
                  f"{60 * args.n / median:5.1f} submissions/min")
        out = paths.BUILD / "benchmarks" / "grading_commits.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2))
    finally:
        for tree in trees.values():
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT,
                           capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
