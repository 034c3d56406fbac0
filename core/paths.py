"""Where everything lives; every module asks here instead of building paths itself."""
import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"                  # masters: the only hand-edited course content
SETUP_CELLS = BOOK / "setup_cells.py"  # the shared setup cells, stamped into every master
STUDENTS = ROOT / "students"          # generated student notebooks (what Colab opens)
SOLUTIONS = ROOT / "solutions"        # generated reference modules (what hidden checks use)
AUTOGRADER = ROOT / "autograder"      # nbgrader config, preprocessors, hidden checks, grader
CHECKS = AUTOGRADER / "checks"        # hidden checks, one module per chapter
NBGRADER_CONFIG = AUTOGRADER / "nbgrader_config.py"
BUILD = ROOT / "_build"               # everything made by builds; never committed
BOOK_CONFIG = ROOT / "_config.yml"    # Jupyter Book settings (also the repository URL for links)
BOOK_TOC = ROOT / "_toc.yml"          # the book's chapter order
BOOK_INTRO = BOOK / "intro.md"        # the book's landing page
BOOK_STATIC = BOOK / "_static"        # images the pages use (the Colab badge)
REQUIREMENTS = ROOT / "requirements.txt"


def all_masters() -> list[Path]:
    """Every chapter master in book order (their file names start with the chapter number)."""
    return sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))


def chapter_subset() -> list[str]:
    """The chapters named in $CHAPTERS (slugs or numbers, comma or space separated), if any.

    Authors set it to work on one chapter while another is half-written:
    ``make sync generate book CHAPTERS=spiral_split``."""
    return [c for c in re.split(r"[,\s]+", os.environ.get("CHAPTERS", "")) if c]


def masters() -> list[Path]:
    """The masters every task works on: all of them, or the subset named in $CHAPTERS."""
    subset = chapter_subset()
    if not subset:
        return all_masters()
    chosen = {master_for(c, all_masters()) for c in subset}
    return [m for m in all_masters() if m in chosen]


def master_for(chapter: str, candidates: list[Path] | None = None) -> Path:
    """Find a master by slug ('relu_approximation'), stem ('01_relu_approximation') or number."""
    candidates = all_masters() if candidates is None else candidates
    for path in candidates:
        if chapter in (path.stem, path.stem.split("_", 1)[1], path.stem.split("_", 1)[0], str(path)):
            return path
    names = ", ".join(p.stem.split("_", 1)[1] for p in candidates)
    raise SystemExit(f"No chapter {chapter!r}. Chapters: {names}.")
