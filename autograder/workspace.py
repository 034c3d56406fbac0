"""The grader's nbgrader course folder and feedback page.

:func:`grading_workspace` makes the folder one submission is graded in from a chapter bundle's
template (:class:`core.workspace.Workspace` otherwise), with sandboxed kernels and the bundle's
time limits; :func:`feedback_html` renders the feedback page, inert whatever the student printed.
"""
from __future__ import annotations

import re
from pathlib import Path

from core.workspace import Workspace


def grading_workspace(root: Path, bundle) -> Workspace:
    """A course folder for grading one submission, made from a chapter bundle's template (its
    source notebook and the gradebook written by generate_assignment), with the sandboxed
    executor and the bundle's time limits."""
    return Workspace.from_source(root, bundle.assignment, bundle.notebook, bundle.source_text,
                                 bundle.gradebook, lambda config: grading_config(config, bundle.limits))


def grading_config(config, limits) -> None:
    """Grade with sandboxed kernels (autograder.sandbox) under the given time limits."""
    from nbgrader.preprocessors import Execute

    from .sandbox.kernel import SandboxedExecute
    config.Autograde.autograde_preprocessors = [
        SandboxedExecute if step is Execute else step
        for step in config.Autograde.autograde_preprocessors]
    config.Execute.timeout = int(limits.timeout_cell)
    config.Execute.startup_timeout = int(limits.startup_timeout)


_FEEDBACK_EXPORTERS: dict = {}
REMEMBERED_PAGES_PARTS = 4096   # cells' HTML kept per exporter (a class's distinct cells: hundreds)


class Remembered:
    """A bounded memo: ``get(key, compute)`` returns the value computed first for ``key``;
    past REMEMBERED_PAGES_PARTS keys it starts again from empty (a class's distinct cells fit)."""

    def __init__(self):
        self.values: dict = {}

    def get(self, key, compute):
        if key not in self.values:
            if len(self.values) >= REMEMBERED_PAGES_PARTS:
                self.values.clear()
            self.values[key] = compute()
        return self.values[key]


# The feedback page shows what a student's code displayed: it must stay inert. nbconvert's
# SanitizeHTML (bleach) escapes scripts, event handlers, iframes, forms and `javascript:` links
# in HTML and markdown outputs, markdown and raw cells, and drops JavaScript and SVG outputs; this
# policy is the second wall: no script, frame, object, fetch or form runs even if markup slips
# through. Styles and images are inline (nbconvert embeds CSS, plots are data: URLs), so math
# shows as TeX source (MathJax, a script, does not load).
FEEDBACK_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
                "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


# What a student's HTML output may keep (bleach's defaults plus tables and text layout, as in
# pandas' tables or a formatted report); no style attribute (no overlays drawn over the score).
SAFE_TAGS = sorted({"strong", "a", "abbr", "code", "em", "b", "ol", "ul", "acronym", "blockquote",
                    "li", "i", "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption",
                    "p", "div", "span", "br", "hr", "pre", "h1", "h2", "h3", "h4", "h5", "h6",
                    "sub", "sup", "img", "dl", "dt", "dd", "kbd", "small", "u", "s"})
SAFE_ATTRIBUTES = {"a": ["href", "title"], "abbr": ["title"], "acronym": ["title"],
                   "img": ["src", "alt", "width", "height"], "th": ["colspan", "rowspan"],
                   "td": ["colspan", "rowspan"], "*": ["class"]}


def safe_attribute(tag: str, name: str, value: str) -> bool:
    """bleach's attribute filter: the names above; an image only from a data: URL (a remote one
    would tell its server who opened the page)."""
    if name not in SAFE_ATTRIBUTES.get(tag, []) + SAFE_ATTRIBUTES["*"]:
        return False
    return not (tag == "img" and name == "src" and not value.startswith("data:image/"))


def sanitiser():
    from nbconvert.preprocessors.sanitize import SanitizeHTML
    return SanitizeHTML(tags=SAFE_TAGS, attributes=safe_attribute)


def inert(html: str) -> str:
    """The page with the policy as the first element of its head (before anything it governs)."""
    meta = f'<meta http-equiv="Content-Security-Policy" content="{FEEDBACK_CSP}">'
    head = html.find("<head>")
    if head < 0:
        raise ValueError("feedback page without <head>: cannot add its security policy")
    return html[:head + 6] + "\n" + meta + html[head + 6:]


IMAGE_WITHOUT_ALT = re.compile(r"<img(?![^<>]*\salt=)")
NO_ALT_TEXT = "No description has been provided for this image"


def feedback_exporter_class():
    """nbconvert's HTML exporter, made for one page per submission of a whole class:

    * without its last pass, which parses the whole rendered page again with BeautifulSoup to
      give images a default alt text and JupyterLab cells a tabindex (the feedback page is
      classic: no such cells). That pass was about half of a page's cost (0.4 s a submission);
      the alt text is added here in one linear scan;
    * remembering the HTML of each code cell's highlighting and each Markdown cell's rendering,
      by their text: a class's notebooks share most of their cells, and highlighting alone was
      0.7 s of each backpropagation page (``benchmarks/feedback_pages.py``)."""
    from jinja2 import pass_context
    from nbconvert.exporters import HTMLExporter, TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class RememberingHighlight(Highlight2HTML):
        """The highlighted HTML of a cell's source, computed once per (source, language)."""

        def __init__(self, **kw):
            super().__init__(**kw)
            self.seen = Remembered()

        def __call__(self, source, language=None, metadata=None):
            magic = (metadata or {}).get("magics_language")
            return self.seen.get((source, language, magic),
                                 lambda: Highlight2HTML.__call__(self, source, language, metadata))

    class FeedbackExporter(HTMLExporter):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.highlighters: dict = {}
            self.rendered = Remembered()

        def highlighter(self, lexer):
            if lexer not in self.highlighters:
                self.highlighters[lexer] = RememberingHighlight(pygments_lexer=lexer, parent=self)
            return self.highlighters[lexer]

        @pass_context
        def markdown2html(self, context, source):
            cell = context.get("cell", {})
            if cell.get("attachments") or self.embed_images:   # the page depends on more than the text
                return HTMLExporter.markdown2html(self, context, source)
            return self.rendered.get(source, lambda: HTMLExporter.markdown2html(self, context, source))

        def from_notebook_node(self, nb, resources=None, **kw):
            # HTMLExporter.from_notebook_node up to its BeautifulSoup pass (nbconvert 7)
            langinfo = nb.metadata.get("language_info", {})
            lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
            self.register_filter("highlight_code", self.filters.get("highlight_code", self.highlighter(lexer)))
            resources = self._init_resources(resources)
            self.register_filter("filter_data_type", WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources))
            html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            return IMAGE_WITHOUT_ALT.sub(f'<img alt="{NO_ALT_TEXT}"', html), resources

    return FeedbackExporter


def feedback_html(workspace: Workspace, student: str, notebook) -> str:
    """nbgrader's feedback page for an autograded notebook, like ``generate_feedback`` makes it,
    with one HTML exporter per process (nbgrader builds a new one, templates and all, per call)."""
    import os

    from nbgrader.converters.generate_feedback import GenerateFeedback
    from traitlets.config import Config

    steps = tuple(workspace.config.GenerateFeedback.preprocessors)
    exporter = _FEEDBACK_EXPORTERS.get(steps)
    if exporter is None:
        templates = Path(GenerateFeedback.__module__ and __import__(
            "nbgrader").__file__).parent / "server_extensions" / "formgrader"
        config = Config()
        config.HTMLExporter.template_name = "feedback"
        config.HTMLExporter.extra_template_basedirs = [str(templates / "templates")]
        config.HTMLExporter.extra_template_paths = [
            str(templates / "static" / "node_modules" / "bootstrap" / "dist" / "css")]
        exporter = feedback_exporter_class()(config=config)
        for step in steps:
            exporter.register_preprocessor(step, enabled=True)
        exporter.register_preprocessor(sanitiser(), enabled=True)   # last: after every step
        _FEEDBACK_EXPORTERS[steps] = exporter
    resources = {"unique_key": workspace.notebook, "output_files_dir": f"{workspace.notebook}_files",
                 "metadata": {"path": os.fspath(workspace.root)},
                 "nbgrader": {"student": student, "assignment": workspace.assignment,
                              "notebook": workspace.notebook,
                              "db_url": workspace.config.CourseDirectory.db_url}}
    html, _ = exporter.from_notebook_node(notebook, resources=resources)
    return inert(html)
