"""Feedback pages: the exporter that remembers each cell's HTML, against one that does not.

    .venv/bin/python benchmarks/feedback_pages.py [--chapter backprop] [--n 8] [--rounds 2]

The same N submissions of a chapter (its test catalog, zipped as the grading tests zip it) are
graded in this process (``grade(..., workers=0)``: real nbgrader, sandboxed kernels, oracle)
in alternating rounds: one with the feedback exporter's memo switched off
(``REMEMBERED_PAGES_PARTS = 0``: every cell highlighted and rendered again, as nbconvert does),
one with it on. Each round starts with a new exporter, as a new grading run does. The time of
every ``feedback_html`` call is recorded. With the memo on, each page is rendered a second time,
untimed, by an exporter without it, from the same autograded notebook: the two must be identical
(two gradings differ anyway: the kernels print addresses and timings).

Prints seconds per page and per submission for each mode and their ratios; writes
_build/benchmarks/feedback_pages.json.
"""
from __future__ import annotations

import argparse
import importlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from course.cli import use_this_environment  # noqa: E402

use_this_environment()

import nbformat  # noqa: E402

from autograder import workspace  # noqa: E402
from autograder.grade import grade  # noqa: E402
from tests.helpers import check_points, zipped_submissions  # noqa: E402


def catalog_arguments(description: str) -> argparse.Namespace:
    """--chapter, --n and --rounds, as this benchmark and kernel_warmup.py take them."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--chapter", default="backprop", help="a catalog in tests/catalog/")
    parser.add_argument("--n", type=int, default=8, help="submissions per round")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of each mode, alternating")
    return parser.parse_args()


def catalog_files(chapter: str, n: int, folder: Path) -> dict[str, Path]:
    """The first n submissions of the chapter's test catalog (zipped as the grading tests zip
    them), written to folder: name -> notebook file."""
    catalog = importlib.import_module(f"tests.catalog.{chapter}")
    cases = zipped_submissions(catalog, check_points(catalog.CHAPTER))
    files = {}
    for name, (nb, _) in list(cases.items())[:n]:
        files[name] = folder / f"{name}.ipynb"
        nbformat.write(nb, str(files[name]))
    return files


def without_memo(render):
    """``render()`` with an exporter of its own whose memo is off (nbconvert's behaviour)."""
    saved = workspace.REMEMBERED_PAGES_PARTS, dict(workspace._FEEDBACK_EXPORTERS)
    workspace.REMEMBERED_PAGES_PARTS = 0
    workspace._FEEDBACK_EXPORTERS.clear()
    try:
        return render()
    finally:
        workspace.REMEMBERED_PAGES_PARTS = saved[0]
        workspace._FEEDBACK_EXPORTERS.clear()
        workspace._FEEDBACK_EXPORTERS.update(saved[1])


def graded_round(chapter: str, files: dict, out: Path, remember: bool) -> dict:
    """One grading of ``files`` with the memo on or off; with it on, each page is also rendered
    without the memo from the same autograded notebook (untimed) and must be identical."""
    workspace.REMEMBERED_PAGES_PARTS = DEFAULT_PARTS if remember else 0
    workspace._FEEDBACK_EXPORTERS.clear()        # a new exporter, as in a new grading run
    seconds, checking, differing = [], [], []
    original = workspace.feedback_html

    def timed(ws, student, notebook):
        started = time.perf_counter()
        html = original(ws, student, notebook)
        seconds.append(time.perf_counter() - started)
        if remember:
            started = time.perf_counter()
            if without_memo(lambda: original(ws, student, notebook)) != html:
                differing.append(notebook.metadata.get("title", student))
            checking.append(time.perf_counter() - started)
        return html

    workspace.feedback_html = timed
    started = time.perf_counter()
    try:
        results = grade(chapter, files, out, workers=0)
    finally:
        workspace.feedback_html = original
    total = time.perf_counter() - started - sum(checking)
    return {"page_seconds": seconds, "total": total, "differing": len(differing),
            "graded": sum(r.status in ("graded", "needs review") for r in results)}


DEFAULT_PARTS = workspace.REMEMBERED_PAGES_PARTS


def main() -> None:
    args = catalog_arguments(__doc__.split("\n")[0])
    with tempfile.TemporaryDirectory(prefix="feedback-bench-") as tmp:
        work = Path(tmp)
        files = catalog_files(args.chapter, args.n, work)
        runs = {"off": [], "on": []}
        grade(args.chapter, dict(list(files.items())[:1]), work / "warm", workers=0)  # zygote
        for i in range(args.rounds):
            for mode in ("off", "on"):
                run = graded_round(args.chapter, files, work / f"{mode}-{i}", mode == "on")
                runs[mode].append(run)
                print(f"round {i + 1} memo {mode:3}: {run['graded']}/{len(files)} graded in "
                      f"{run['total']:.1f} s, pages {statistics.mean(run['page_seconds']):.3f} s each")
    identical = not any(run["differing"] for run in runs["on"])
    page = {m: statistics.mean(s for r in runs[m] for s in r["page_seconds"]) for m in runs}
    total = {m: statistics.mean(r["total"] for r in runs[m]) / args.n for m in runs}
    summary = {"chapter": args.chapter, "n": args.n, "rounds": args.rounds,
               "page_seconds": page, "submission_seconds": total,
               "page_ratio_on_over_off": page["on"] / page["off"],
               "submission_ratio_on_over_off": total["on"] / total["off"],
               "pages_identical": identical}
    print(f"feedback page: {page['off']:.3f} s without the memo, {page['on']:.3f} s with it "
          f"({summary['page_ratio_on_over_off']:.2f}x); per submission {total['off']:.2f} s -> "
          f"{total['on']:.2f} s ({summary['submission_ratio_on_over_off']:.2f}x); pages identical: "
          f"{identical}")
    target = ROOT / "_build" / "benchmarks" / "feedback_pages.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(summary, indent=2))
    if not identical:
        raise SystemExit("the pages differ between the two modes")


if __name__ == "__main__":
    main()
