"""Repair a submission against the chapter's student notebook before nbgrader sees it.

Colab and students lose or duplicate cell metadata, duplicate cell ids, delete, edit or reorder
test cells, and save nbformat 4.0 files without ids. Grading is driven by the chapter, not by
whatever metadata the submission still carries: every graded cell is recognised (by nbgrader id,
by its `#|` directive line, by cell id, or, for an answer that lost all of those, by the
functions and classes it defines), answers keep the student's source under the
reference metadata, test and setup cells come back as the reference has them, in the reference
order. Cells the student added stay where they were, after the graded cell they followed.
"""
from __future__ import annotations

import ast
import copy
import json
import re
import uuid
from dataclasses import dataclass, field

import nbformat

from core.chapter import (GRADED_ROLES, KEY_ROLES, STUDENT_OWNED, parse_directive,
                          strip_markdown_directive, without_hidden_tests)

CELL_TYPES = {"code", "markdown", "raw"}
MAX_CELLS = 2000                 # a chapter has under 100; students add a few dozen at most
MAX_SOURCE = 8 << 20             # characters of cell source in all (outputs are not read)


class SubmissionError(ValueError):
    """A submission that cannot be graded; the message says why and what to do."""


@dataclass
class Repaired:
    notebook: nbformat.NotebookNode
    notes: list[str] = field(default_factory=list)
    recognised: set = field(default_factory=set)   # graded-cell keys found in the submission
    answers: dict = field(default_factory=dict)    # think id -> the student's answer text


DOWNLOAD = "ask the student to download it again with File > Download > Download .ipynb"


def read_notebook(data: bytes) -> nbformat.NotebookNode:
    """Parse a submitted file into a v4 notebook, tolerating what Colab and editors do to
    notebooks (lost or malformed metadata, outputs, widget state, nbformat 4.0 without ids).
    Raises SubmissionError saying what the file is when it is not a notebook."""
    if not data.strip():
        raise SubmissionError(f"the file is empty; {DOWNLOAD}")
    text = decode_text(data)
    try:
        raw = json.loads(text)
    except ValueError:
        raise SubmissionError(f"not a Jupyter notebook ({describe_non_json(text)}); "
                              f"{DOWNLOAD}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells", raw.get("worksheets")), list):
        raise SubmissionError(f"not a Jupyter notebook (JSON without notebook cells); {DOWNLOAD}")
    if "worksheets" in raw and "cells" not in raw:  # nbformat 3
        try:
            return nbformat.reads(text, as_version=4)
        except Exception as err:  # noqa: BLE001
            raise SubmissionError(f"an old-format notebook that cannot be read "
                                  f"({type(err).__name__}); {DOWNLOAD}") from None
    check_size(raw["cells"])
    cells = []
    for item in raw["cells"]:
        if not isinstance(item, dict) or item.get("cell_type") not in CELL_TYPES:
            continue
        source = item.get("source", "")
        source = "".join(str(s) for s in source) if isinstance(source, list) else str(source)
        metadata = item.get("metadata") if isinstance(item.get("metadata"), dict) else {}
        meta = {k: v for k, v in metadata.items() if k in ("nbgrader", "tags", "id")}
        if not isinstance(meta.get("nbgrader"), dict):
            meta.pop("nbgrader", None)
        if not isinstance(meta.get("tags"), list):
            meta.pop("tags", None)
        cell_id = item.get("id")
        cell_id = cell_id if isinstance(cell_id, str) and re.fullmatch(r"[\w-]{1,64}", cell_id) \
            else uuid.uuid4().hex[:8]
        cells.append(new_cell(item["cell_type"], cell_id, source, meta))
    metadata = raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {}
    nb = nbformat.v4.new_notebook(cells=cells, metadata={
        k: v for k, v in metadata.items() if k in ("kernelspec", "language_info")
        and isinstance(v, dict)})
    return nb


def new_cell(kind: str, cell_id: str, source: str, metadata: dict) -> nbformat.NotebookNode:
    """The cell ``nbformat.v4.new_<kind>_cell`` makes, without its JSON-schema validation of
    every cell (about 1 ms each: most of the time of reading a notebook). The notebook as a whole
    is valid; ``tests/test_repair.py`` checks that both make the same cells."""
    cell = {"id": cell_id, "cell_type": kind, "metadata": metadata, "source": source}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return nbformat.from_dict(cell)


def check_size(cells: list) -> None:
    """Bounds on what repair and grading process, so their time stays within reason: raise
    SubmissionError past MAX_CELLS cells or MAX_SOURCE characters of source."""
    if len(cells) > MAX_CELLS:
        raise SubmissionError(f"the notebook has {len(cells)} cells, more than the {MAX_CELLS} a "
                              "submission may have; ask the student to delete the cells they "
                              "added and submit again")
    size = 0
    for item in cells:
        source = item.get("source", "") if isinstance(item, dict) else ""
        size += sum(len(str(s)) for s in source) if isinstance(source, list) else len(str(source))
    if size > MAX_SOURCE:
        raise SubmissionError(f"the notebook's cells hold {size >> 20} MB of text, more than the "
                              f"{MAX_SOURCE >> 20} MB a submission may have; ask the student to "
                              "remove the pasted data and submit again")


def decode_text(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    return data.decode("utf-8-sig", errors="replace")


def describe_non_json(text: str) -> str:
    head = text.lstrip()[:2000]
    if re.search(r"^(import |from \S+ import |def |class |#!|# %%|# In\[)", head, re.M):
        return "it is Python source saved with a .ipynb name, not the notebook file"
    if head.startswith("PK"):
        return "it is a zip archive renamed .ipynb"
    if head.startswith("%PDF"):
        return "it is a PDF renamed .ipynb"
    if head.lower().startswith(("<!doctype html", "<html")):
        return "it is a web page (HTML), perhaps the notebook's preview page"
    return "the file is not valid JSON: it may be cut short or edited by hand"


def defined_names(source: str) -> set[str]:
    """Top-level functions and classes a cell defines (regex fallback for broken code)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set(re.findall(r"^(?:def|class)\s+(\w+)", source, re.M))
    return {node.name for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


def cell_key(node) -> str | None:
    """The graded-cell key of a cell: 'role:id' from its directive or nbgrader metadata."""
    role, ident, _ = parse_directive(node)
    if role in KEY_ROLES and ident:
        return f"{role}:{ident}"
    meta = node.get("metadata", {}).get("nbgrader") or {}
    grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
    if grade_id:
        if meta.get("solution"):
            return f"{'think' if node.cell_type == 'markdown' else 'exercise'}:{grade_id}"
        return f"check:{grade_id}"
    return None


def reference_keys(reference) -> dict[str, int]:
    keys = {}
    for index, node in enumerate(reference.cells):
        key = cell_key(node)
        if key:
            keys[key] = index
    return keys


def recognise(node, ref_keys: dict[str, int], ref_ids: dict[str, str]) -> str | None:
    key = cell_key(node)
    if key in ref_keys:
        return key
    cell_id = node.get("id")
    return ref_ids.get(cell_id) if cell_id else None


def is_stub(node, reference_node) -> bool:
    return normalise(node.source) == normalise(reference_node.source)


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def repair(submission, reference) -> Repaired:
    """Return the submission rebuilt on the reference's graded cells (inputs are not modified)."""
    notes: list[str] = []
    ref_keys = reference_keys(reference)
    ref_ids = {reference.cells[i].get("id"): key for key, i in ref_keys.items()
               if reference.cells[i].get("id")}

    # Group the submission: for each recognised key, its occurrences; extra cells follow anchors.
    keys = [recognise(node, ref_keys, ref_ids) for node in submission.cells]
    keys = recognise_by_content(submission.cells, keys, reference, ref_keys)
    found: dict[str, list] = {}
    attached: dict[str | None, list] = {None: []}
    anchor = None
    for node, key in zip(submission.cells, keys):
        if key is None:
            attached.setdefault(anchor, []).append(plain_copy(node))
            continue
        found.setdefault(key, []).append(node)
        anchor = key
        attached.setdefault(anchor, [])

    cells = list(attached[None])
    for key, index in sorted(ref_keys.items(), key=lambda item: item[1]):
        ref_node = reference.cells[index]
        cells.append(chosen_cell(key, ref_node, found.get(key, []), notes))
        cells.extend(attached.get(key, []))
    order_note(submission, ref_keys, ref_ids, notes)

    nb = nbformat.v4.new_notebook(cells=cells, metadata=copy.deepcopy(reference.metadata))
    dedupe_ids(nb)
    nbformat.validate(nb)
    answers = {key.split(":", 1)[1]: strip_markdown_directive(found[key][-1].source)
               for key in found if key.startswith("think:")}
    return Repaired(nb, notes, set(found), answers)


def recognise_by_content(cells, keys: list, reference, ref_keys: dict) -> list:
    """Exercise cells that lost both their directive line and their metadata are recognised by
    the functions and classes they define (``def approximate_function`` is that exercise)."""
    missing = {key for key in ref_keys if key.startswith("exercise:")} - set(keys)
    wanted = {}
    for key in missing:
        for name in defined_names(reference.cells[ref_keys[key]].source):
            wanted.setdefault(name, key)
    if not wanted:
        return keys
    keys = list(keys)
    for index, (node, key) in enumerate(zip(cells, keys)):
        if key is None and node.cell_type == "code":
            hits = {wanted[name] for name in defined_names(node.source) if name in wanted}
            if len(hits) == 1:
                keys[index] = hits.pop()
    return keys


def chapter_keys(notebook) -> set[str]:
    """The graded-cell keys (exercise/check/think) of a chapter's notebook."""
    return {key for key in reference_keys(notebook) if key.split(":", 1)[0] in GRADED_ROLES}


def identify_chapter(submission, slug: str, others: dict[str, set]) -> str | None:
    """None when the submission holds graded cells of chapter ``slug``; otherwise the reason."""
    keys = {cell_key(node) for node in submission.cells} - {None}
    best = max(others.items(), key=lambda item: len(item[1] & keys), default=(None, set()))
    if best[0] and best[1] & keys:
        return (f"this is the notebook of another chapter ('{best[0]}'), not '{slug}'; "
                "ask the student to submit the right notebook")
    return (f"no exercise or test cell of chapter '{slug}' was found in this notebook; "
            "is it the right file?")


def chosen_cell(key: str, ref_node, occurrences: list, notes: list[str]):
    """The cell to grade for one key: the reference's, carrying the student's answer if any."""
    role, ident = key.split(":", 1)
    cell = copy.deepcopy(ref_node)
    if role not in STUDENT_OWNED:
        if not occurrences:
            notes.append(f"{role} cell '{ident}' was missing: restored from the chapter.")
        elif len(occurrences) > 1:
            notes.append(f"{role} cell '{ident}' appeared {len(occurrences)} times: kept one.")
        elif role == "check" and normalise(without_hidden_tests(occurrences[0].source)) != normalise(ref_node.source):
            notes.append(f"test cell '{ident}' was edited: the original test was graded.")
        return cell
    if not occurrences:
        notes.append(f"answer cell '{ident}' was missing: graded as unanswered.")
        return cell
    answered = [node for node in occurrences if not is_stub(node, ref_node)]
    pick = (answered or occurrences)[-1]
    if len(occurrences) > 1:
        notes.append(f"answer cell '{ident}' appeared {len(occurrences)} times: graded the last "
                     "edited copy.")
    cell.source = pick.source
    return cell


def order_note(submission, ref_keys, ref_ids, notes: list[str]) -> None:
    seen = [recognise(node, ref_keys, ref_ids) for node in submission.cells]
    positions = [ref_keys[k] for k in dict.fromkeys(k for k in seen if k)]
    if positions != sorted(positions):
        notes.append("graded cells were out of order: graded in the chapter's order.")


def plain_copy(node):
    """A student's own cell, stripped of grading metadata and tags it could abuse."""
    node = copy.deepcopy(node)
    node.get("metadata", {}).pop("nbgrader", None)
    node.get("metadata", {}).pop("tags", None)
    if node.cell_type == "code":
        node.outputs, node.execution_count = [], None
    return node


def dedupe_ids(nb) -> None:
    seen = set()
    for node in nb.cells:
        if not node.get("id") or node["id"] in seen:
            node["id"] = uuid.uuid4().hex[:8]
        seen.add(node["id"])
