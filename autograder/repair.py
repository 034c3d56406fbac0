"""Repair a submission against the chapter's student notebook before nbgrader sees it.

Colab and students lose or duplicate cell metadata, duplicate cell ids, delete, edit or reorder
test cells, and save nbformat 4.0 files without ids. Grading is driven by the chapter, not by
whatever metadata the submission still carries: every graded cell is recognised (by nbgrader id,
by its `#|` directive line, or by cell id), answers keep the student's source under the
reference metadata, test and setup cells come back as the reference has them, in the reference
order. Cells the student added stay where they were, after the graded cell they followed.
"""
from __future__ import annotations

import copy
import re
import uuid
from dataclasses import dataclass, field

import nbformat

from course.master import parse_directive, without_hidden_tests

KEY_ROLES = {"setup", "exercise", "check", "think"}
STUDENT_OWNED = {"exercise", "think"}  # the student's source is kept; everything else restored


@dataclass
class Repaired:
    notebook: nbformat.NotebookNode
    notes: list[str] = field(default_factory=list)


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
    found: dict[str, list] = {}
    attached: dict[str | None, list] = {None: []}
    anchor = None
    for node in submission.cells:
        key = recognise(node, ref_keys, ref_ids)
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
    return Repaired(nb, notes)


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
