"""The rendered book: execute every chapter page (with a cache), stage them, run Jupyter Book.

``python -m course book [--edition no-solutions]`` calls :func:`build`:

1. each master becomes its full book page (``course.pages``), executed with nbclient in a scratch
   folder under ``_build/``; the executed page is cached in ``_build/exec-cache/`` under a hash of
   its code cells, ``requirements.txt`` and ``book/setup_cells.py``, so a rebuild after prose
   edits (or none) executes nothing;
2. the no-solutions edition then drops every solution cell (``pages.strip_solutions``);
3. ``_config.yml``, ``_toc.yml``, the plain pages ``book/*.md``, ``book/_static/``, the executed
   pages and the self-served MathJax and widget scripts (``course.assets``) are staged in ``_build/src-<edition>/`` and Jupyter Book
   renders them, warnings as errors, into ``_build/<edition>/_build/html``, never executing
   anything itself;
4. the whole output is scanned for solution lines (no-solutions) and test markers (both).
"""
from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import yaml

from core import paths
from core.chapter import MARKERS, Chapter

from . import assets, figure_alt
from .leaks import course_solution_lines
from .pages import EDITIONS, page_for, strip_solutions

# $MLP_COURSE_EXEC_CACHE moves it (benchmarks/book_build.py times a cold build that way).
EXEC_CACHE = Path(os.environ.get("MLP_COURSE_EXEC_CACHE", paths.BUILD / "exec-cache"))
CACHE_FORMAT = "2"   # bump when execution changes in a way the hash cannot see
CELL_TIMEOUT = 600   # seconds per cell
FIGURE_ALT = "figure_alt"  # page metadata: {png sha256: alt text} (course.figure_alt)
LOG_TAIL = 60        # lines of the Jupyter Book log shown when it fails
REPOSITORY_BUTTONS = ("use_repository_button", "use_issues_button", "use_edit_page_button")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


class BookError(RuntimeError):
    """The book could not be built; the message says which chapter, cell or file."""


def log(message: str) -> None:
    print(f"[book] {message}", flush=True)


# --- execution --------------------------------------------------------------------------------

def cache_key(page) -> str:
    """sha256 of the page's code cells, requirements.txt and the shared setup cells."""
    digest = hashlib.sha256(CACHE_FORMAT.encode())
    digest.update(json.dumps([c.source for c in page.cells if c.cell_type == "code"]).encode())
    for path in (paths.REQUIREMENTS, paths.SETUP_CELLS):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def kernel_env() -> dict:
    """The kernel's environment: ours, without a MPLBACKEND that would stop inline figures, and
    without tqdm bars (a frozen bar says nothing in a static page; as widgets it needs a CDN).
    MLP_COURSE_DATA points the chapters that load data sets (MNIST) at the offline copy that
    ``python -m core.mnist_data`` provisions, unless it is set already."""
    from core.mnist_data import ENV_DATA, data_root
    env = dict(os.environ, TQDM_DISABLE="1")
    env.pop("MPLBACKEND", None)
    env[ENV_DATA] = str(data_root())
    return env


def failure_message(chapter: str, index: int, cell, err: Exception) -> str:
    first = next((line for line in cell.source.splitlines() if line.strip()), "")
    return (f"{chapter}: book page cell {index} (code starting {first!r}) failed while executing "
            f"the chapter:\n{ANSI.sub('', str(err)).strip()}")


def run_extra(client, nb, source: str) -> list:
    """Run code in the chapter's kernel that is not part of the page; return its outputs.

    nbclient stores a cell back into the notebook at the index it is given, so the cell is
    appended for the run and removed after it."""
    cell = nbformat.v4.new_code_cell(source)
    nb.cells.append(cell)
    try:
        client.execute_cell(cell, len(nb.cells) - 1)
    finally:
        nb.cells.pop()
    return cell.outputs


def run_cells(page, chapter: str):
    """Execute a copy of the page cell by cell in a fresh kernel; raise BookError on an error."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellControlSignal, CellExecutionError, DeadKernelError

    scratch = paths.BUILD / "exec-scratch" / chapter
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    nb = nbformat.from_dict(page)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(scratch)}},
                            extra_arguments=["--IPKernelApp.log_level=ERROR"])
    with client.setup_kernel(env=kernel_env()):
        run_extra(client, nb, figure_alt.KERNEL_SETUP)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            try:
                client.execute_cell(cell, index)
            except (CellExecutionError, CellControlSignal, DeadKernelError, TimeoutError) as err:
                raise BookError(failure_message(chapter, index, cell, err)) from None
        nb.metadata[FIGURE_ALT] = figure_alt.read_report(run_extra(client, nb, figure_alt.KERNEL_REPORT))
        client.set_widgets_metadata()  # widget state: the static page shows the widgets' first view
    return nb


def with_outputs(page, executed):
    """The page (current prose) with the outputs of an executed page of the same code."""
    page = nbformat.from_dict(page)
    ran = [c for c in executed.cells if c.cell_type == "code"]
    code = [c for c in page.cells if c.cell_type == "code"]
    if [c.source for c in ran] != [c.source for c in code]:
        raise BookError("the cached page does not match the page's code; delete _build/exec-cache/")
    for cell, done in zip(code, ran):
        cell.outputs, cell.execution_count = done.outputs, done.execution_count
    for key in (FIGURE_ALT, "widgets"):
        if key in executed.metadata:
            page.metadata[key] = executed.metadata[key]
    return page


def executed(page, chapter: str):
    """Return (the executed page, True if its outputs came from the cache)."""
    cached = EXEC_CACHE / f"{cache_key(page)}.ipynb"
    if cached.exists():
        log(f"{chapter}: outputs cached ({cached.name})")
        return with_outputs(page, nbformat.read(str(cached), as_version=4)), True
    count = sum(c.cell_type == "code" for c in page.cells)
    log(f"{chapter}: executing {count} code cells ...")
    start = time.monotonic()
    nb = run_cells(page, chapter)
    cached.parent.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(".partial")
    nbformat.write(nb, str(partial))
    partial.replace(cached)
    log(f"{chapter}: executed in {time.monotonic() - start:.0f} s")
    return nb, False


# --- staging and rendering --------------------------------------------------------------------

def staged_config(edition: str, sphinx: dict) -> str:
    """_config.yml plus ``sphinx`` settings; the no-solutions edition links no further into the
    repository (it holds the solutions): no repository, issue or edit buttons."""
    config = yaml.safe_load(paths.BOOK_CONFIG.read_text())
    section = config.setdefault("sphinx", {})
    section["config"] = {**(section.get("config") or {}), **sphinx}
    section["local_extensions"] = {**(section.get("local_extensions") or {}), "course_site": "_ext"}
    if edition != "full":
        config.setdefault("html", {}).update({button: False for button in REPOSITORY_BUTTONS})
    return "# Staged by course/book.py from _config.yml: edit that file.\n" + \
        yaml.safe_dump(config, sort_keys=False)


def staged_toc(pages: dict) -> str:
    """_toc.yml with only the chapters built this time (all, or those $CHAPTERS picks) and the
    plain pages (book/*.md)."""
    toc = yaml.safe_load(paths.BOOK_TOC.read_text())
    keep = {f"{paths.BOOK.name}/{Path(name).stem}" for name in pages} | \
        {f"{paths.BOOK.name}/{p.stem}" for p in paths.BOOK.glob("*.md")}
    toc["chapters"] = [c for c in toc.get("chapters", []) if c["file"] in keep]
    return "# Staged by course/book.py from _toc.yml: edit that file.\n" + \
        yaml.safe_dump(toc, sort_keys=False)


def stage(edition: str, pages: dict) -> Path:
    """Write the book's sources for one edition into a fresh _build/src-<edition>/."""
    src = paths.BUILD / f"src-{edition}"
    shutil.rmtree(src, ignore_errors=True)
    book = src / paths.BOOK.name
    book.mkdir(parents=True)
    sphinx = assets.stage(src)
    extension = src / "_ext"
    extension.mkdir()
    shutil.copyfile(Path(__file__).with_name("sphinx_ext.py"), extension / "course_site.py")
    (src / paths.BOOK_CONFIG.name).write_text(staged_config(edition, sphinx))
    (src / paths.BOOK_TOC.name).write_text(staged_toc(pages))
    for prose in paths.BOOK.glob("*.md"):  # the landing page and the other plain pages
        shutil.copyfile(prose, book / prose.name)
    shutil.copytree(paths.BOOK_STATIC, book / paths.BOOK_STATIC.name)
    for name, page in pages.items():
        nbformat.write(page, str(book / name))
    return src


def jupyter_book() -> str:
    """The jupyter-book program of this interpreter's environment (else the one on PATH)."""
    beside = Path(sys.executable).with_name("jupyter-book")
    found = str(beside) if beside.exists() else shutil.which("jupyter-book")
    if not found:
        raise BookError("jupyter-book is not installed (make setup installs requirements.txt).")
    return found


def render(src: Path, out: Path) -> Path:
    """Run Jupyter Book (warnings are errors); return the HTML folder."""
    shutil.rmtree(out, ignore_errors=True)
    command = [jupyter_book(), "build", str(src), "--path-output", str(out), "-W", "-n", "--keep-going"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=paths.ROOT)
    html_dir = out / "_build" / "html"
    if result.returncode != 0 or not (html_dir / "index.html").exists():
        tail = "\n".join(ANSI.sub("", result.stdout + result.stderr).splitlines()[-LOG_TAIL:])
        raise BookError(f"jupyter-book build failed (exit {result.returncode}); the log ends:\n{tail}")
    return html_dir


# --- leak check -------------------------------------------------------------------------------

def readable_text(path: Path) -> str:
    """A file's raw text plus what a reader sees in it (HTML without tags, notebook cells)."""
    raw = path.read_text(errors="ignore")
    if path.suffix == ".html":
        return raw + "\n" + html.unescape(re.sub(r"<[^>]*>", "", raw))
    if path.suffix == ".ipynb":
        try:
            cells = json.loads(raw).get("cells", [])
        except ValueError:
            return raw
        parts = ["".join(c.get("source", "")) for c in cells]
        parts += [json.dumps(o.get("text", o.get("data", {}))) for c in cells for o in c.get("outputs", [])]
        return raw + "\n" + "\n".join(parts)
    return raw


def files_containing(folder: Path, forbidden: set[str]) -> list[str]:
    """'file: text' for every forbidden text found in any file under ``folder``."""
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        text = readable_text(path)
        found += [f"{path.relative_to(folder)}: {s!r}" for s in sorted(forbidden) if s in text]
    return found


def check_no_leaks(out: Path, edition: str) -> None:
    """No test markers in any edition; no solution line at all in the no-solutions one."""
    forbidden = set(MARKERS)
    if edition == "no-solutions":
        forbidden |= course_solution_lines(paths.all_masters())
    found = files_containing(out, forbidden)
    if found:
        raise BookError(f"the {edition} book leaks what it must not show:\n  " + "\n  ".join(found[:20]))


def default_jobs() -> int:
    """Chapters executed at once: two where there are two CPUs (each kernel mostly uses one)."""
    try:
        return max(1, min(2, len(os.sched_getaffinity(0))))
    except AttributeError:
        return max(1, min(2, os.cpu_count() or 1))


def execute_all(masters: list[Path], jobs: int) -> dict:
    """Every chapter's executed full page, by master name; ``jobs`` kernels run at once.

    The chapters that load a data set (MNIST: minutes) start first, so the others run beside
    them. Each chapter has its own kernel and scratch folder; a failure stops the build with the
    first failing chapter's message."""
    from concurrent.futures import ThreadPoolExecutor
    heavy_first = sorted(masters, key=lambda m: not Chapter.read(m).data)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {m.name: pool.submit(executed, page_for(m, "full"), m.stem) for m in heavy_first}
        try:
            return {name: future.result()[0] for name, future in futures.items()}
        except BaseException:
            for future in futures.values():
                future.cancel()
            raise


def build(edition: str = "full", jobs: int | None = None) -> Path:
    """Execute (or reuse) every chapter, render one edition of the book; return its HTML folder.

    ``jobs``: chapters executed at once (default: :func:`default_jobs`)."""
    jobs = default_jobs() if jobs is None else jobs
    if edition not in EDITIONS:
        raise ValueError(f"edition must be one of {EDITIONS}, not {edition!r}")
    start = time.monotonic()
    from core.mnist_data import provisioned_root
    if any(Chapter.read(master).data for master in paths.masters()):
        provisioned_root()  # the data sets chapters load (MNIST), where kernel_env points them
    executed_pages = execute_all(paths.masters(), jobs)
    pages = {}
    for master in paths.masters():
        page = executed_pages[master.name]
        pages[master.name] = page if edition == "full" else strip_solutions(page)
    src = stage(edition, pages)
    log(f"{edition}: rendering {len(pages)} chapters with Jupyter Book ...")
    out = paths.BUILD / edition
    html_dir = render(src, out)
    assets.place_widget_fonts(html_dir, paths.BOOK.name)
    figure_alt.label_images(html_dir, {k: v for page in pages.values()
                                       for k, v in page.metadata.get(FIGURE_ALT, {}).items()})
    check_no_leaks(out, edition)
    log(f"{edition}: done in {time.monotonic() - start:.0f} s: {html_dir.relative_to(paths.ROOT)}")
    return html_dir
