"""The 54-student class through the instructor's whole term, by the README's commands.

    python -m tests.corpus.term_class WORKDIR

1. grades the class of tests/corpus/make_corpus.py (chapter 1, Canvas and Moodle names), and the
   same students' submissions of chapter 3 (cross-entropy) and chapter 4 (spiral split, two Think!
   questions), a few students missing from each;
2. gives the Think! answers points and comments in hand_grades.csv (a few left for later), runs
   ``course handgrade``, and checks the totals went up by exactly the points given;
3. writes the term gradebook over the three chapters, the Canvas import (from a Canvas gradebook
   export with Canvas's columns) and the Moodle grading worksheets;
4. runs the similarity report on chapter 1's class with two planted copies (answers pasted with
   renamed variables and reordered helpers).

It prints the figures the closing note reports. Takes a while (three chapters are graded).
"""
from __future__ import annotations

import copy
import csv
import random
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from core import paths
from tests.catalog import cross_entropy, spiral_split
from tests.corpus.make_corpus import FIRST, LAST, build_class, to_bytes
from tests.helpers import find_cell, student_notebook, with_answers
from tests.similarity_rates import derived, disguise

N = 54
THINK = ("train_eval_modes", "generalisation")
ANSWERS = {  # Think! answers of varied quality
    "train_eval_modes": ["Not for this MLP: only Linear and ReLU layers, which act the same in "
                         "both modes. Dropout and batch norm would need them.",
                         "Yes, always call them, it is good practice.",
                         "They switch dropout and batch normalisation between training and "
                         "evaluation behaviour; our net has neither, so nothing changes.",
                         "I don't know."],
    "generalisation": ["Inside the spirals yes (test accuracy close to train), outside no: the "
                       "ReLU net extrapolates linearly. More data or a better suited input "
                       "representation would help.",
                       "It generalises well because the test accuracy is high.",
                       "No, far from the data the decision regions are arbitrary straight "
                       "wedges; regularisation or features in polar coordinates could help.",
                       "Maybe."],
}
PLANTED = {  # two answers no catalog holds, each pasted by a second student, disguised
    "cumsum": '''
def _slopes(xs, ys):
    return (ys[1:] - ys[:-1]) / (xs[1:] - xs[:-1])

def _kinks(slopes):
    first = slopes[:1]
    return torch.cat([first, slopes[1:] - slopes[:-1]])

def approximate_function(x_train, y_train):
    xs = x_train.flatten()
    ys = y_train.flatten()
    x = torch.linspace(float(xs[0]), float(xs[-1]), 1000)
    relu_acts = torch.clamp(x.unsqueeze(0) - xs[:-1].unsqueeze(1), min=0.0)
    weights = _kinks(_slopes(xs, ys))
    y_hat = (weights.unsqueeze(1) * relu_acts).sum(0)
    return y_hat, relu_acts, x
''',
    "listwise": '''
def knot_weights(points_x, points_y):
    out = []
    last = 0.0
    for k in range(len(points_x) - 1):
        s = float((points_y[k + 1] - points_y[k]) / (points_x[k + 1] - points_x[k]))
        out.append(s - last)
        last = s
    return torch.tensor(out)

def relu_basis(grid, knots):
    return torch.stack([torch.relu(grid - k) for k in knots])

def approximate_function(x_train, y_train):
    grid = torch.linspace(x_train.min().item(), x_train.max().item(), 1000)
    basis = relu_basis(grid, x_train[:-1].reshape(-1))
    w = knot_weights(x_train.reshape(-1), y_train.reshape(-1))
    return w @ basis, basis, grid
''',
}


def member(index: int, colab: str) -> str:
    """The LMS name of student index's file, as tests/corpus/make_corpus.build_class names it."""
    first, last = FIRST[index % len(FIRST)], LAST[(index * 7) % len(LAST)]
    user = 10000 + index
    if index % 3 == 2:
        return f"{first} {last}_{user}_assignsubmission_file_/{colab}"
    return f"{(last + first).lower()}_{user}_{700000 + index}_{colab}"


def write_zip(path: Path, notebooks: dict[int, bytes], colab: str) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for index, data in notebooks.items():
            archive.writestr(zipfile.ZipInfo(member(index, colab), (2026, 4, 1, 9, index % 60, 0)),
                             data)
    return path


def spiral_class(rng: random.Random) -> dict[int, bytes]:
    student = student_notebook("04_spiral_split.ipynb")
    correct = {ex: list(v.values()) for ex, v in spiral_split.CORRECT.items()}
    wrong = {ex: list(v.values()) for ex, v in spiral_split.WRONG.items()}
    found = {}
    for index in range(N - 3):                       # three students never submit
        pool = wrong if index % 4 == 3 else correct
        nb = with_answers(student, {ex: rng.choice(v) for ex, v in pool.items()})
        for ident in THINK:
            cell = find_cell(nb, "think", ident)
            cell.source = cell.source.replace("YOUR ANSWER HERE", rng.choice(ANSWERS[ident]))
        found[index] = to_bytes(nb)
    found[7] = b""                                   # one empty upload
    return found


def cross_entropy_class(rng: random.Random) -> dict[int, bytes]:
    student = student_notebook("03_cross_entropy.ipynb")
    correct = list(cross_entropy.CORRECT["cross_entropy_loss"].values())
    wrong = list(cross_entropy.WRONG["cross_entropy_loss"].values())
    return {i: to_bytes(with_answers(student, {"cross_entropy_loss": rng.choice(
                wrong if i % 5 == 4 else correct)}))
            for i in range(N) if i not in (10, 20)}  # two students never submit


def planted_class(root: Path, class_zip: Path) -> tuple[Path, list[tuple[str, str]]]:
    """Chapter 1's class with two answers no one else wrote, each pasted (disguised) by another."""
    student = student_notebook("01_relu_approximation.ipynb")
    target = root / "class_planted.zip"
    pairs = [("10000", "10053"), ("10001", "10052")]
    with zipfile.ZipFile(class_zip) as source, zipfile.ZipFile(target, "w") as archive:
        replace = {}
        for (original, copied), code in zip(pairs, PLANTED.values()):
            replace[original] = to_bytes(with_answers(student, {"approximate_function": code}))
            replace[copied] = to_bytes(with_answers(student, {"approximate_function": disguise(code)}))
        for info in source.infolist():
            user = next((u for u in replace if f"_{u}_" in info.filename), None)
            archive.writestr(info, replace[user] if user else source.read(info))
    return target, pairs


def answer_cells(archive: Path) -> dict[str, str]:
    """Student id -> the source of their answer cell (for telling copies from catalog twins)."""
    from autograder.collect import collect
    from autograder.repair import read_notebook
    found = {}
    for sub in collect([archive]):
        try:
            nb = read_notebook(sub.data or b"")
            found[sub.student] = find_cell(nb, "exercise", "approximate_function").source
        except Exception:  # noqa: BLE001 (not a notebook, or the cell is gone: no answer)
            continue
    return found


def reported_kinds(archive: Path, flagged: set, planted: list) -> dict[str, int]:
    """Why the reported pairs are alike: the same catalog text, an edit of one, or other."""
    cells = answer_cells(archive)
    kinds = {"same text": 0, "edits of one text": 0, "other": 0}
    for a, b in flagged - {tuple(sorted(p)) for p in planted}:
        first, second = cells.get(a, ""), cells.get(b, "")
        kind = "same text" if " ".join(first.split()) == " ".join(second.split()) else \
            "edits of one text" if derived(first, second) else "other"
        kinds[kind] += 1
    return kinds


def course(*args: str, timeout: int = 3600) -> str:
    done = subprocess.run([sys.executable, "-m", "course", *args], cwd=paths.ROOT,
                          capture_output=True, text=True, timeout=timeout)
    if done.returncode:
        raise SystemExit(f"`course {' '.join(args)}` failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def give_hand_grades(out: Path, rng: random.Random) -> tuple[float, int, int]:
    """Fill hand_grades.csv as an instructor would (a few left empty); points given, rows."""
    table = rows(out / "hand_grades.csv")
    given, left = 0.0, 0
    for i, row in enumerate(table):
        if i % 17 == 5:
            left += 1
            continue
        text = row["answer"].lower()
        good = any(w in text for w in ("dropout", "extrapolat", "wedges", "batch"))
        points = 1.0 if good else (0.5 if len(text) > 30 else 0.0)
        row["points"] = f"{points:g}"
        row["comment"] = "Right, and well argued." if good else \
            "Say which layers behave differently, and why." if points else "Please answer the question."
        given += points
    with open(out / "hand_grades.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)
    return given, len(table), left


def canvas_export(path: Path, ids: list[str]) -> Path:
    """A gradebook as Canvas exports it (Grades > Export): identity columns, Points Possible."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                         "relu_approximation (9001)", "Quiz 1 (9002)", "Current Score",
                         "Final Score"])
        writer.writerow(["    Points Possible", "", "", "", "", "3", "10", "(read only)",
                         "(read only)"])
        for user in ids:
            writer.writerow([f"Student {user}", user, f"S{user}", f"s{user}@uni.example",
                             "MLP 2026", "", "7", "", ""])
        writer.writerow(["Student, Test", "99999", "", "", "MLP 2026", "", "", "", ""])
    return path


def main(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    rng = random.Random(2026)
    started = time.perf_counter()
    zips = {"01": build_class(root)[0],
            "03": write_zip(root / "class_03.zip", cross_entropy_class(rng),
                            "Copy of 03_cross_entropy.ipynb"),
            "04": write_zip(root / "class_04.zip", spiral_class(rng), "04_spiral_split.ipynb")}
    limits = {"01": "5", "03": "30", "04": "60"}
    for chapter, archive in zips.items():
        t0 = time.perf_counter()
        summary = course("grade", chapter, str(archive), "--out", str(root / f"grades_{chapter}"),
                         "--workers", "2", "--timeout-cell", limits[chapter], "--no-progress")
        print(f"[grade {chapter}] {time.perf_counter() - t0:.0f} s: {summary.splitlines()[0]}")
        print("  " + summary.splitlines()[1])

    out04 = root / "grades_04"
    before = {r["student_id"]: float(r["total"]) for r in rows(out04 / "grades.csv")}
    given, n_rows, left = give_hand_grades(out04, rng)
    print(f"[handgrade] {course('handgrade', str(out04)).strip()}")
    after = {r["student_id"]: r for r in rows(out04 / "grades.csv")}
    gained = sum(float(r["total"]) for r in after.values()) - sum(before.values())
    statuses = {s: sum(r["status"] == s for r in after.values())
                for s in ("graded", "needs review", "failed")}
    print(f"  {n_rows} Think! answers in hand_grades.csv, {n_rows - left} given points "
          f"({given:g} points in all), {left} left for later; class total went up by {gained:g}; "
          f"statuses now {statuses}")
    with_comment = sum("Graded by hand" in p.read_text() for p in
                       (out04 / "nbgrader" / "feedback").rglob("*.html"))
    print(f"  feedback pages showing the hand grades: {with_comment}")
    again = course("handgrade", str(out04))
    print(f"  idempotent: second run leaves grades.csv the same: "
          f"{rows(out04 / 'grades.csv') == list(after.values())} ({again.strip()[:60]}...)")

    folders = [str(root / f"grades_{c}") for c in zips]
    print(f"[term] {course('term', *folders, '--out', str(root / 'term')).strip()}")
    term = rows(root / "term" / "term.csv")
    kinds = {k: sum(k in r["missing"] for r in term)
             for k in ("no submission", "failed", "waiting for hand grading", "needs review")}
    print(f"  rows {len(term)}; students with each kind of missing item: {kinds}")

    ids = sorted({r["student_id"] for r in term if not member(int(r["student_id"]) - 10000,
                                                             "x").count("assignsubmission")})
    export = canvas_export(root / "canvas_export.csv", ids)
    print("[lms] " + course("lms-export", *folders, "--canvas", str(export), "--moodle",
                            "--out", str(root / "lms")).strip().replace("\n", "\n  "))

    planted, pairs = planted_class(root, zips["01"])
    t0 = time.perf_counter()
    report = course("similarity", "01", str(planted), "--out", str(root / "similarity"))
    print(f"[similarity] {time.perf_counter() - t0:.0f} s: {report.splitlines()[0]}")
    flagged = {(r["student_a"], r["student_b"]) for r in rows(root / "similarity" / "similarity.csv")
               if r["reported"]}
    scores = {(r["student_a"], r["student_b"]): r["score"]
              for r in rows(root / "similarity" / "similarity.csv")}
    found = [p for p in pairs if tuple(sorted(p)) in flagged]
    print(f"  planted copies found: {len(found)}/{len(pairs)} "
          f"(scores {[scores.get(tuple(sorted(p))) for p in pairs]}); "
          f"other pairs reported: {len(flagged) - len(found)}, "
          f"{reported_kinds(planted, flagged, pairs)} (the class is built from the catalog: "
          "students share its texts verbatim)")
    print(f"Done in {time.perf_counter() - started:.0f} s. Outputs under {root}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "term_class_out"))
