"""Grading throughput and per-submission overhead, all ratios measured in one run.

    .venv/bin/python benchmarks/grading_throughput.py [--n 50] [--overhead-n 10] [--skip-stock]

1. **Throughput**: the same N realistic submissions of the ReLU chapter (correct, partly wrong,
   broken; from tests/corpus/make_corpus.py, without the infinite loop that would only measure
   the time limit) graded
   * by stock ``nbgrader autograde`` (a plain course folder, nbgrader's default config, hidden
     tests run in the kernel with the repository on PYTHONPATH), and
   * by this grader's instructor command (``python -m course grade``: collect, repair, sandboxed
     kernels, oracle, feedback HTML, grades.csv) with 1 and 2 Dask workers,
   each end to end from a cold start (cluster, template and all), as submissions per minute.
2. **Per-submission overhead**: for each of M submissions, interleaved, the time nbclient needs
   to execute the notebook nbgrader executes (the repaired submission with the chapter's test
   cells, hidden tests run in-process), against the time of one grading task in a warm worker
   (repair, nbgrader autograde with a sandboxed kernel forked from the worker's zygote, oracle
   checks, score reconciliation, feedback HTML).

The machine is shared: other load inflates every figure, which is why the ratios come from one
run. Results are printed and written to _build/benchmarks/grading_throughput.json.
"""
from __future__ import annotations

import argparse
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

from course.cli import use_this_environment  # noqa: E402

use_this_environment()

import nbformat  # noqa: E402

from autograder.sandbox.kernel import COMMON_ENV  # noqa: E402
from core import paths  # noqa: E402
from tests.corpus.make_corpus import class_submissions  # noqa: E402
from tests.helpers import student_notebook  # noqa: E402

CHAPTER = "relu_approximation"
MASTER = paths.BOOK / "01_relu_approximation.ipynb"


def submissions(n: int) -> list[tuple[str, bytes]]:
    rows = [(kind, data) for kind, data, _ in class_submissions(student_notebook(MASTER.name))
            if kind not in ("infinite_loop", "python_export", "empty_file")]
    if n > len(rows):
        raise SystemExit(f"only {len(rows)} benchmark submissions available")
    return [(f"s{i:03d}_{kind}", data) for i, (kind, data) in enumerate(rows[:n])]


def grading_env() -> dict:
    env = {**os.environ, **COMMON_ENV}
    env["PYTHONPATH"] = str(ROOT)
    return env


def stock_nbgrader(subs, work: Path) -> float:
    course = work / "stock"
    (course / "source" / CHAPTER).mkdir(parents=True)
    shutil.copyfile(MASTER, course / "source" / CHAPTER / MASTER.name)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.root = %r\n" % str(course))
    nbgrader = [str(Path(sys.executable).parent / "nbgrader")]
    env = grading_env()
    subprocess.run(nbgrader + ["generate_assignment", CHAPTER, "--force"], cwd=course, env=env,
                   check=True, capture_output=True)
    for student, data in subs:
        target = course / "submitted" / student / CHAPTER / MASTER.name
        target.parent.mkdir(parents=True)
        target.write_bytes(data)
    started = time.perf_counter()
    done = subprocess.run(nbgrader + ["autograde", CHAPTER, "--Autograde.create_student=True"],
                          cwd=course, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    graded = len(list((course / "autograded").glob(f"*/{CHAPTER}/{MASTER.name}")))
    print(f"  stock nbgrader autograde: {graded}/{len(subs)} notebooks autograded "
          f"(exit code {done.returncode})")
    return seconds


def ours(subs, work: Path, workers: int) -> tuple[float, dict]:
    archive = work / f"class-{workers}.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for student, data in subs:
            handle.writestr(f"{student}.ipynb", data)
    out = work / f"ours-{workers}"
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "course", "grade", CHAPTER, str(archive),
                           "--out", str(out), "--workers", str(workers), "--no-progress"],
                          cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(done.stdout + done.stderr)
    print("  " + done.stdout.strip().splitlines()[-4 if "Need" in done.stdout else -3])
    records = [json.loads(p.read_text()) for p in (out / ".grader" / "results").glob("*.json")]
    return seconds, {"task_seconds_mean": statistics.mean(r["seconds"] for r in records)}


def executed_notebook(data: bytes):
    """What nbgrader executes for a submission: the repaired notebook with the chapter's test
    cells (hidden tests included)."""
    from autograder.repair import read_notebook, repair
    master = nbformat.read(str(MASTER), as_version=4)
    tests = {c.metadata["nbgrader"]["grade_id"]: c.source for c in master.cells
             if c.metadata.get("nbgrader", {}).get("grade")}
    nb = repair(read_notebook(data), student_notebook(MASTER.name)).notebook
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in tests:
            cell.source = tests[grade_id]
    return nb


def overhead(subs, m: int) -> dict:
    from nbclient import NotebookClient

    from autograder.grade import build_bundle
    from autograder.worker import Job, Limits, grade_task
    bundle = build_bundle(CHAPTER, Limits(), True, Path(tempfile.mkdtemp()) / "cache")
    grade_task(Job("warm", "warm", "", subs[0][1]), bundle)   # the worker's first task starts
    # its zygote: not per-submission
    saved = dict(os.environ)
    nbclient_times, task_times = [], []
    for student, data in subs[:m]:
        os.environ.update(grading_env())
        nb = executed_notebook(data)
        folder = tempfile.mkdtemp()
        started = time.perf_counter()
        NotebookClient(nb, kernel_name="python3", timeout=120, allow_errors=True,
                       resources={"metadata": {"path": folder}}).execute()
        nbclient_times.append(time.perf_counter() - started)
        os.environ.clear()
        os.environ.update(saved)
        started = time.perf_counter()
        grade_task(Job(student, student, "", data), bundle)
        task_times.append(time.perf_counter() - started)
    return {"nbclient_seconds_mean": statistics.mean(nbclient_times),
            "grader_task_seconds_mean": statistics.mean(task_times),
            "ratio": statistics.mean(task_times) / statistics.mean(nbclient_times),
            "m": m}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--overhead-n", type=int, default=10)
    parser.add_argument("--skip-stock", action="store_true")
    args = parser.parse_args()
    subs = submissions(args.n)
    report = {"n": args.n, "cpus": os.cpu_count(), "load_before": os.getloadavg()}
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        print(f"Per-submission overhead ({args.overhead_n} submissions, interleaved):")
        report["overhead"] = overhead(subs, args.overhead_n)
        o = report["overhead"]
        print(f"  nbclient {o['nbclient_seconds_mean']:.2f} s, grader task "
              f"{o['grader_task_seconds_mean']:.2f} s: ratio {o['ratio']:.2f}")
        print(f"Throughput on {args.n} submissions:")
        for workers in (1, 2):
            seconds, extra = ours(subs, work, workers)
            report[f"ours_{workers}_worker_seconds"] = seconds
            report[f"ours_{workers}_worker_per_minute"] = 60 * args.n / seconds
            report[f"ours_{workers}_worker_task_seconds"] = extra["task_seconds_mean"]
            print(f"  this grader, {workers} worker(s): {seconds:.1f} s, "
                  f"{60 * args.n / seconds:.1f} submissions/min")
        if not args.skip_stock:
            seconds = stock_nbgrader(subs, work)
            report["stock_seconds"] = seconds
            report["stock_per_minute"] = 60 * args.n / seconds
            print(f"  stock nbgrader autograde: {seconds:.1f} s, "
                  f"{60 * args.n / seconds:.1f} submissions/min")
            report["speedup_1_worker"] = seconds / report["ours_1_worker_seconds"]
            report["speedup_2_workers"] = seconds / report["ours_2_worker_seconds"]
        report["scaling_1_to_2_workers"] = (report["ours_1_worker_seconds"]
                                            / report["ours_2_worker_seconds"])
    report["load_after"] = os.getloadavg()
    print("Ratios: " + ", ".join(f"{k} {v:.2f}" for k, v in report.items()
                                 if k.startswith(("speedup", "scaling"))))
    target = ROOT / "_build" / "benchmarks" / "grading_throughput.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(report, indent=1))
    print(f"Written: {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
