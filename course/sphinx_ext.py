"""A small Sphinx extension staged with the book (as ``_ext/course_site.py``): fixes to the
theme's pages that Jupyter Book's settings cannot reach.

- sphinx-thebe and sphinx-togglebutton add their inline configuration scripts twice to every
  page (``const THEBE_JS_URL = ...`` twice is a JavaScript error in every reader's console).
  After the build, a repeated identical inline script is removed from each page.
- pydata-sphinx-theme logs "Got invalid theme mode" when no default colour mode is set; the book
  starts in light mode (readers can still switch; the page template reads ``default_mode``).
"""
import re
from pathlib import Path

INLINE_SCRIPT = re.compile(r"[ \t]*<script>(.*?)</script>\n?", re.S)


def light_by_default(app, pagename, templatename, context, doctree):
    context["default_mode"] = context.get("default_mode") or "light"


def without_repeated_inline_scripts(text: str) -> str:
    seen = set()

    def once(match):
        if match.group(1) in seen:
            return ""
        seen.add(match.group(1))
        return match.group(0)

    return INLINE_SCRIPT.sub(once, text)


def dedupe_pages(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        fixed = without_repeated_inline_scripts(text)
        if fixed != text:
            page.write_text(fixed, encoding="utf-8")


def setup(app):
    app.connect("html-page-context", light_by_default)
    app.connect("build-finished", dedupe_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
