"""Where everything lives; every module asks here instead of building paths itself."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"                  # masters: the only hand-edited course content
SETUP_CELLS = BOOK / "setup_cells.py"  # the shared setup cells, stamped into every master
STUDENTS = ROOT / "students"          # generated student notebooks (what Colab opens)
SOLUTIONS = ROOT / "solutions"        # generated reference modules (what hidden checks use)
AUTOGRADER = ROOT / "autograder"      # nbgrader config, preprocessors, hidden checks, grader
NBGRADER_CONFIG = AUTOGRADER / "nbgrader_config.py"
BUILD = ROOT / "_build"               # everything made by builds; never committed
BOOK_CONFIG = ROOT / "_config.yml"    # Jupyter Book settings (also the repository URL for links)
BOOK_TOC = ROOT / "_toc.yml"          # the book's chapter order
BOOK_INTRO = BOOK / "intro.md"        # the book's landing page
BOOK_STATIC = BOOK / "_static"        # images the pages use (the Colab badge)
REQUIREMENTS = ROOT / "requirements.txt"


def masters() -> list[Path]:
    """The chapter masters in book order (their file names start with the chapter number)."""
    return sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))


def master_for(chapter: str) -> Path:
    """Find a master by slug ('relu_approximation'), stem ('01_relu_approximation') or number."""
    for path in masters():
        if chapter in (path.stem, path.stem.split("_", 1)[1], path.stem.split("_", 1)[0], str(path)):
            return path
    names = ", ".join(p.stem.split("_", 1)[1] for p in masters())
    raise SystemExit(f"No chapter {chapter!r}. Chapters: {names}.")
