"""Tick the GPU box in every chapter and run it: each chapter's book page (solutions in place)
executes with ``USE_GPU = True`` and reports its device and wall time.

    python benchmarks/gpu_chapters.py [CHAPTER ...]

On a machine with CUDA every chapter must say "Using the GPU" and run unchanged; without one it
must fall back to the CPU and say why. Prints one line per chapter; exits 1 if a chapter fails or
picks the wrong device.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nbformat  # noqa: E402
import torch  # noqa: E402
from nbclient import NotebookClient  # noqa: E402

from core import paths  # noqa: E402
from course.pages import page_for  # noqa: E402

TICK = ("USE_GPU = False", "USE_GPU = True")


def ticked_page(master: Path):
    page = page_for(master, "full")
    cells = [c for c in page.cells if c.cell_type == "code" and TICK[0] in c.source]
    if len(cells) != 1:
        raise SystemExit(f"{master.name}: expected one device cell holding {TICK[0]!r}")
    cells[0].source = cells[0].source.replace(*TICK)
    return page


def printed(page) -> str:
    return "".join(o.get("text", "") for c in page.cells if c.cell_type == "code"
                   for o in c.get("outputs", []))


def main(chapters: list[str]) -> int:
    masters = [paths.master_for(c) for c in chapters] if chapters else paths.all_masters()
    expected = "Using the GPU" if torch.cuda.is_available() else "USE_GPU is ticked but no GPU"
    where = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU only"
    print(f"torch {torch.__version__}, {where}")
    failures = 0
    for master in masters:
        page = ticked_page(master)
        scratch = paths.BUILD / "gpu-scratch" / master.stem
        scratch.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        try:
            NotebookClient(page, timeout=600, kernel_name="python3",
                           resources={"metadata": {"path": str(scratch)}}).execute()
            ok = expected in printed(page)
            status = "ok" if ok else f"did not print {expected!r}"
        except Exception as err:  # noqa: BLE001 (report every chapter)
            ok, status = False, f"failed: {type(err).__name__}: {str(err).strip().splitlines()[-1][:200]}"
        failures += not ok
        print(f"{master.stem:28s} {time.perf_counter() - start:7.1f} s  {status}", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
