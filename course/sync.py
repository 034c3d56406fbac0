"""Bring masters up to date in place: stamp the shared setup cells and the included cells of
earlier chapters, write nbgrader metadata.

Authors write directives (see core.chapter); this step owns everything derived from them, so
no nbgrader id, point value or lock is ever typed by hand. Running it twice changes nothing.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat

from core import paths
from core.chapter import (INCLUDE_SOURCE, Cell, Chapter, MasterError, chapter_slug, parse_cells,
                          read_master, setup_source)

SECTION = re.compile(r"^# %% setup (?P<name>\w+)\s*$", re.M)


def setup_sections(path: Path = paths.SETUP_CELLS) -> dict[str, str]:
    """Split setup_cells.py into its '# %% setup NAME' sections."""
    text = path.read_text()
    marks = list(SECTION.finditer(text))
    if not marks:
        raise MasterError(f"{path}: no '# %% setup NAME' sections.")
    sections = {}
    for mark, following in zip(marks, marks[1:] + [None]):
        end = following.start() if following else len(text)
        sections[mark["name"]] = text[mark.end():end].strip("\n")
    return sections


def nbgrader_metadata(cell: Cell) -> dict | None:
    """The nbgrader metadata a cell's directive implies (None: not an nbgrader cell)."""
    common = {"grade_id": cell.ident, "schema_version": 3}
    if cell.role == "exercise":
        return {**common, "grade": False, "solution": True, "locked": False}
    if cell.role == "check":
        return {**common, "grade": True, "solution": False, "locked": True, "points": cell.points}
    if cell.role == "think":
        return {**common, "grade": True, "solution": True, "locked": False, "points": cell.points,
                "task": False}
    return None


def included_source(ident: str, where: str) -> str:
    """The cell ``#| include SLUG:NAME`` stands for: the export cell of the earlier chapter SLUG
    that defines NAME, with the include directive first."""
    match = INCLUDE_SOURCE.match(ident)
    masters = paths.all_masters()
    source = next((m for m in masters if match and chapter_slug(m) == match["slug"]), None)
    here = next((m for m in masters if m.name == Path(where).name), None)
    if source is None or here is None or masters.index(source) >= masters.index(here):
        raise MasterError(f"{where}: '#| include {ident}' takes from an earlier chapter only.")
    body = Chapter.read(source).exported(match["name"]).body.strip("\n")
    return f"#| include {ident}\n{body}"


def sync_notebook(nb, where: str, sections: dict[str, str]):
    """Return the master with stamped setup and include cells and nbgrader metadata (nb is not
    modified)."""
    nb = nbformat.from_dict(nb)
    for cell in parse_cells(nb, where):
        node = cell.node
        if cell.role == "setup":
            if cell.ident not in sections:
                raise MasterError(f"{where}, cell {cell.index}: no setup section {cell.ident!r} "
                                  f"in {paths.SETUP_CELLS.name} (has {sorted(sections)}).")
            node.source = setup_source(cell.ident, sections[cell.ident])
        elif cell.role == "include":
            node.source = included_source(cell.ident, where)
        meta = nbgrader_metadata(cell)
        if meta is None:
            node.metadata.pop("nbgrader", None)
        else:
            node.metadata["nbgrader"] = meta
        if node.cell_type == "code":
            node.outputs, node.execution_count = [], None
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    return nb


def synced_text(path: Path) -> str:
    nb = sync_notebook(read_master(path), path.name, setup_sections())
    return nbformat.writes(nb) + "\n"


def sync_all(check_only: bool = False) -> list[Path]:
    """Sync every master; return the ones that changed (or would change, with check_only)."""
    changed = []
    for path in paths.masters():
        text = synced_text(path)
        if path.read_text() != text:
            changed.append(path)
            if not check_only:
                path.write_text(text)
    return changed
