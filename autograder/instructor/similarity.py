"""The similarity report: pairs of submissions whose code is unusually alike, side by side.

``python -m course similarity CHAPTER SUBMISSIONS... --out DIR`` collects the submissions as the
grader does (same LMS names, the latest of several), repairs each onto the chapter's student
notebook, and compares the code of every pair with copydetect (token fingerprints and winnowing,
as MOSS does): names become placeholders, so renamed variables do not hide a copy, and
fingerprints are local, so reordered helpers do not either. Only the student's own cells are
compared (answers, cells they added), and everything the chapter gives (the student notebook's
code: stubs, docstrings, setup, visible tests) is boilerplate whose fingerprints never count, so
untouched stubs match nothing. ``DIR/similarity.html`` shows each
pair above the threshold with the shared code marked; ``DIR/similarity.csv`` lists every pair's
score. It informs the instructor; it never changes a grade.
"""
from __future__ import annotations

import contextlib
import csv
import functools
import hashlib
import html
import io
import itertools
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np

# Measured on the answer catalogs (tests/similarity_rates.py, figures in docs/term.md): with
# copydetect's defaults (k 25, window 6) short answers lose too many fingerprints to reformatting.
NOISE = 15          # k: shortest shared run of (normalised) code that counts, in characters
GUARANTEE = 20      # any shared run this long is always found (winnowing window = 20 - 15 + 1)
THRESHOLD = 0.6     # a pair is reported when one side shares at least this share of its own code


@dataclass
class Code:
    """One student's code in a chapter (the cells they wrote, in the chapter's order)."""

    student: str
    name: str
    text: str


@dataclass
class Pair:
    a: Code
    b: Code
    share_a: float     # the share of a's own (non-given) code found in b
    share_b: float
    shared: int        # how much code they share (characters of normalised code)
    marked_a: str      # a's code as HTML, the shared parts marked
    marked_b: str

    @property
    def score(self) -> float:
        return max(self.share_a, self.share_b)


def given_code(student_nb) -> str:
    """The chapter's own code: what every student starts from."""
    return "\n\n".join(c.source for c in student_nb.cells if c.cell_type == "code")


def submission_code(data: bytes, student_nb) -> str | None:
    """The student's own code cells (answers, cells they added; not the cells the chapter gives
    as they are) once repaired onto the chapter (None: not a notebook of the chapter)."""
    from autograder.repair import SubmissionError, read_notebook, repair
    try:
        repaired = repair(read_notebook(data), student_nb)
    except (SubmissionError, ValueError):
        return None
    if not any(k.startswith("exercise:") for k in repaired.recognised):
        return None
    given = {c.source.strip() for c in student_nb.cells if c.cell_type == "code"}
    return "\n\n".join(c.source for c in repaired.notebook.cells
                       if c.cell_type == "code" and c.source.strip() not in given)


def chapter_codes(chapter: str, submissions, convention: str = "auto",
                  pattern: str | None = None) -> tuple[list[Code], str]:
    from autograder.collect import collect
    from core import paths
    student_nb = nbformat.read(str(paths.STUDENTS / paths.master_for(chapter).name), as_version=4)
    codes = []
    for sub in collect(submissions, convention=convention, pattern=pattern):
        if sub.data is None or sub.problem:
            continue
        text = submission_code(sub.data, student_nb)
        if text is not None:
            codes.append(Code(sub.student, sub.name, text))
    return codes, given_code(student_nb)


def stable_kgrams(text: str, k: int) -> np.ndarray:
    """copydetect's k-gram hashes with a hash that is the same in every process (its own uses
    Python's hash(), salted per process, so winnowing kept other fingerprints on every run and
    the scores moved from run to run)."""
    return np.array([int.from_bytes(hashlib.blake2b(text[i:i + k].encode(), digest_size=8).digest(),
                                    "little", signed=True) for i in range(len(text) - k + 1)],
                    dtype=np.int64)


@contextlib.contextmanager
def repeatable_hashes():
    import copydetect.utils
    original = copydetect.utils.hashed_kgrams
    copydetect.utils.hashed_kgrams = stable_kgrams
    try:
        yield
    finally:
        copydetect.utils.hashed_kgrams = original


def fingerprint(name: str, text: str, boilerplate=None, window: int | None = None):
    from copydetect import CodeFingerprint
    with repeatable_hashes():
        return CodeFingerprint(f"{name}.py", NOISE, window or GUARANTEE - NOISE + 1,
                               boilerplate=boilerplate, fp=io.StringIO(text))


@functools.lru_cache(maxsize=8)
def given_hashes(given: str) -> np.ndarray:
    """Every fingerprint of the given code (window 1: none skipped), to be discarded."""
    return np.array(sorted(fingerprint("given", given, window=1).hashes))


def compare(codes: list[Code], given: str) -> list[Pair]:
    """Every pair with shared code that is not given, highest score first."""
    from copydetect import compare_files
    from copydetect.utils import highlight_overlap
    boilerplate = given_hashes(given)
    prints = [fingerprint(f"s{i}", c.text, boilerplate) for i, c in enumerate(codes)]
    pairs = []
    for (i, a), (j, b) in itertools.combinations(enumerate(codes), 2):
        if not prints[i].token_coverage or not prints[j].token_coverage:
            continue                         # nothing of their own (an untouched notebook)
        overlap, (share_a, share_b), (slices_a, slices_b) = compare_files(prints[i], prints[j])
        if not overlap:
            continue
        marked_a, _ = highlight_overlap(a.text, slices_a, "<mark>", "</mark>", escape_html=True)
        marked_b, _ = highlight_overlap(b.text, slices_b, "<mark>", "</mark>", escape_html=True)
        pairs.append(Pair(a, b, float(share_a), float(share_b), int(overlap), marked_a,
                          marked_b))
    return sorted(pairs, key=lambda p: (-p.score, p.a.student, p.b.student))


def write_report(pairs: list[Pair], codes: list[Code], chapter: str, out,
                 threshold: float = THRESHOLD) -> tuple[Path, Path, list[Pair]]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    flagged = [p for p in pairs if p.score >= threshold]
    csv_path, html_path = out / "similarity.csv", out / "similarity.html"
    with open(csv_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student_a", "name_a", "student_b", "name_b", "score", "share_a",
                         "share_b", "reported"])
        for p in pairs:
            writer.writerow([p.a.student, p.a.name, p.b.student, p.b.name, f"{p.score:.3f}",
                             f"{p.share_a:.3f}", f"{p.share_b:.3f}",
                             "yes" if p in flagged else ""])
    html_path.write_text(report_html(flagged, len(codes), chapter, threshold), encoding="utf-8")
    return csv_path, html_path, flagged


STYLE = """body{font-family:system-ui,sans-serif;margin:2em}.pair{border:1px solid #bbb;
border-radius:6px;margin:1.5em 0;padding:0 1em 1em}.sides{display:grid;grid-template-columns:1fr 1fr;
gap:1em}pre{background:#f7f7f7;padding:0.6em;overflow-x:auto;font-size:0.85em;white-space:pre-wrap}
mark{background:#ffd54f}"""


def report_html(flagged: list[Pair], n: int, chapter: str, threshold: float) -> str:
    e = html.escape
    blocks = []
    for rank, p in enumerate(flagged, 1):
        blocks.append(
            f"<div class=\"pair\" id=\"pair-{rank}\"><h2>{rank}. {e(p.a.student)} {e(p.a.name)} and "
            f"{e(p.b.student)} {e(p.b.name)}: score {p.score:.2f}</h2>"
            f"<p>{p.share_a:.0%} of {e(p.a.student)}'s own code is shared; {p.share_b:.0%} of "
            f"{e(p.b.student)}'s.</p><div class=\"sides\">"
            f"<div><h3>{e(p.a.student)}</h3><pre>{p.marked_a}</pre></div>"
            f"<div><h3>{e(p.b.student)}</h3><pre>{p.marked_b}</pre></div></div></div>")
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Similarity: "
            f"{e(chapter)}</title><style>{STYLE}</style></head><body><h1>Similar submissions: "
            f"{e(chapter)}</h1><p>{n} submissions compared, {len(flagged)} pair(s) with a score "
            f"of {threshold:.2f} or more (the share of a submission's own code, the chapter's "
            "given code excluded, that the other holds too, after names are normalised). "
            "Marked: the shared code. This is a pointer for a closer look, not a verdict; "
            "it changes no grade.</p>" + ("".join(blocks) or "<p>No pair above the threshold.</p>")
            + "</body></html>")
