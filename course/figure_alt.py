"""Alt text for the book's figures, written from the figures themselves.

A figure in an executed notebook is just a PNG; Jupyter Book gives its ``<img>`` the file name as
alt text, which tells a screen-reader user nothing. While the book executes a chapter, the kernel
records, for every PNG it draws, a sentence built from the figure's titles and axis labels, keyed
by the sha256 of the PNG bytes (:data:`KERNEL_SETUP`). myst-nb names each image file after the
same hash, so after rendering :func:`label_images` writes each sentence into the ``alt`` of the
``<img>`` tags that show that file.
"""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

# Run in the kernel before the page's first cell: wrap IPython's print_figure, which every inline
# figure format (png, retina) goes through, so each PNG's hash maps to a description.
KERNEL_SETUP = r'''
def __course_figure_alt():
    import base64, hashlib
    import IPython.core.pylabtools as pylabtools

    original = pylabtools.print_figure
    described = {}

    def sentence(fig):
        parts = []
        title = fig._suptitle.get_text().strip() if getattr(fig, "_suptitle", None) else ""
        for ax in fig.axes:
            name = " ".join(t for t in (ax.get_title("left"), ax.get_title(), ax.get_title("right")) if t)
            x, y = ax.get_xlabel().strip(), ax.get_ylabel().strip()
            if not (name or x or y):
                continue  # colour bars and decorations
            axes = f"{y} against {x}" if x and y else (x or y)
            parts.append(f"{name} ({axes})" if name and axes else (name or axes))
        text = "; ".join(p for p in parts if p)
        if title:
            text = f"{title}: {text}" if text else title
        return "Figure: " + (text or "a plot drawn by the code above") + "."

    def print_figure(fig, fmt="png", *args, **kwargs):
        data = original(fig, fmt, *args, **kwargs)
        if fmt in ("png", "retina") and data:
            raw = base64.b64decode(data) if kwargs.get("base64") else data
            raw = raw.encode() if isinstance(raw, str) else raw
            described[hashlib.sha256(raw).hexdigest()] = sentence(fig)
        return data

    pylabtools.print_figure = print_figure
    return described

__course_figure_alts = __course_figure_alt()
del __course_figure_alt
'''

# Run in the kernel after the page's last cell: print what was recorded, as one JSON line.
KERNEL_REPORT = "import json as __j; print(__j.dumps(__course_figure_alts)); del __j"

IMG = re.compile(r'<img\b[^>]*>')
SRC = re.compile(r'\bsrc="([^"]+)"')
ALT = re.compile(r'\balt="[^"]*"')


def read_report(outputs: list) -> dict[str, str]:
    """The {sha256: sentence} map from the outputs of the KERNEL_REPORT cell."""
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    return json.loads(text.strip().splitlines()[-1]) if text.strip() else {}


def label_images(html_dir: Path, alts: dict[str, str]) -> int:
    """Set the alt text of every <img> whose file is a described figure; return how many."""
    count = 0
    for page in html_dir.rglob("*.html"):
        text = page.read_text()

        def relabel(match: re.Match) -> str:
            nonlocal count
            tag = match.group(0)
            src = SRC.search(tag)
            alt = alts.get(Path(src.group(1)).stem) if src else None
            if not alt:
                return tag
            count += 1
            attribute = f'alt="{html.escape(alt, quote=True)}"'
            return ALT.sub(lambda _: attribute, tag, count=1) if ALT.search(tag) else tag.replace("<img", f"<img {attribute}", 1)

        new = IMG.sub(relabel, text)
        if new != text:
            page.write_text(new)
    return count
