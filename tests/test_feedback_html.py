"""Feedback pages show a student's outputs as inert content, checked in a real browser.

A hostile submission displays scripts, event handlers, `javascript:` links, frames, SVG with
scripts, JavaScript outputs and tracking images (each pointing at a server this test runs), and
adds a markdown cell with the same. Its feedback page, opened in headless Chromium, runs none of
them and fetches nothing. The controls: the same autograded notebook exported as nbconvert does
by default (as the feedback page was made before the fix) does run the script and fetch, so the
attack is live; and a correct submission's page still shows its score and its figures. Slow."""
import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import nbformat
import pytest

from autograder.grade import grade
from tests.catalog.relu_approximation import CORRECT
from tests.helpers import student_notebook, with_answers, write

pytestmark = [pytest.mark.slow, pytest.mark.grading]
CHAPTER = "01_relu_approximation.ipynb"
MARK = "document.title = 'PWNED'"

HOSTILE_CODE = '''
from IPython.display import HTML, SVG, Javascript, Markdown, display
PING = "{ping}"
display(HTML("<script>" + "{mark}; fetch(PING + '/script')" + "</script>"))
display(HTML("<img src=x onerror=\\"{mark}; fetch(PING + '/onerror')\\">"))
display(HTML("<a href=\\"javascript:{mark}\\">open the results</a>"))
display(HTML("<iframe src='" + PING + "/iframe'></iframe><img src='" + PING + "/pixel'>"))
display(SVG("<svg xmlns='http://www.w3.org/2000/svg' onload=\\"{mark}\\"><script>fetch('"
            + PING + "/svg')</script><circle r='5'/></svg>"))
display(Javascript("{mark}; fetch(PING + '/js')".replace("PING", repr(PING))))
display(Markdown("[open the results](javascript:{mark}) <script>fetch('" + PING + "/md')</script>"))
'''
RICH_CODE = '''
import io
import matplotlib.pyplot as plt
from IPython.display import HTML, Image, display
figure = plt.figure(figsize=(1, 1))
plt.plot([0, 1], [1, 0])
buffer = io.BytesIO()
figure.savefig(buffer, format="png")
display(Image(data=buffer.getvalue()))
display(HTML("<table><tr><th>epoch</th><td><b>loss 0.25</b></td></tr></table>"))
'''
HOSTILE_MARKDOWN = ("<script>{mark}; fetch('{ping}/cell')</script>\n"
                    "<img src=x onerror=\"{mark}\"> [open the results](javascript:{mark})")


class Recorder(SimpleHTTPRequestHandler):
    """Serves the output folder and remembers every path asked for."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.seen.append(self.path)
        super().do_GET()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("feedback")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Recorder, directory=str(root)))
    httpd.seen = []
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield root, httpd, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def graded(server):
    root, _, ping = server
    student = student_notebook(CHAPTER)
    hostile = with_answers(student, {"approximate_function": CORRECT["loop"]})
    index = next(i for i, c in enumerate(hostile.cells) if c.source.startswith("#| exercise"))
    hostile.cells.insert(index + 1, nbformat.v4.new_code_cell(
        HOSTILE_CODE.format(ping=ping, mark=MARK.replace("'", "\\\\'"))))
    hostile.cells.insert(index + 2, nbformat.v4.new_markdown_cell(
        HOSTILE_MARKDOWN.format(ping=ping, mark=MARK)))
    control = with_answers(student, {"approximate_function": CORRECT["loop"]})
    control.cells.insert(index + 1, nbformat.v4.new_code_cell(RICH_CODE))
    files = {"hostile": write(hostile, root / "in" / "hostile.ipynb"),
             "control": write(control, root / "in" / "control.ipynb")}
    results = {r.student: r for r in grade("relu_approximation", files, root / "out", workers=0)}
    return results


def visit(browser, server, page_path: Path) -> dict:
    """Open a page of the output folder, click every link, wait; what ran and what was fetched."""
    root, httpd, base = server
    del httpd.seen[:]
    page = browser.new_page()
    requests, blocked = [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on("requestfailed", lambda request: blocked.append((request.url, request.failure)))
    url = f"{base}/{page_path.relative_to(root).as_posix()}"
    page.goto(url)
    for link in page.locator("a", has_text="open the results").all():
        link.click(timeout=2000, no_wait_after=True)
    page.wait_for_timeout(1500)
    refused = {u for u, why in blocked if why == "csp"}
    seen = {"title": page.title(), "fetched": [r for r in requests if r != url and r not in refused],
            "pings": [r for r in requests if r.startswith(base) and "/out/" not in r],
            "served": list(httpd.seen[1:]), "text": page.inner_text("body"),
            "images": page.locator("img[src^='data:image/png']").count(),
            "described": page.locator("img[src^='data:image/png'][alt]").count(),
            "tables": page.locator("table b", has_text="loss 0.25").count()}
    page.close()
    return seen


def test_hostile_outputs_and_markdown_run_nothing_and_fetch_nothing(graded, browser, server):
    result = graded["hostile"]
    assert result.total == 3.0   # its answer is correct: the page is an ordinary feedback page
    seen = visit(browser, server, result.feedback)
    assert seen["title"] != "PWNED"
    assert seen["pings"] == [] and seen["served"] == []   # the student's URLs: not even tried
    assert seen["fetched"] == []   # the page's own MathJax and fonts: refused by its policy
    assert "<script>" in seen["text"]   # the markup is shown, escaped, as text


def test_control_the_same_outputs_in_an_unsanitised_page_do_run(graded, browser, server):
    """Without the fix (nbconvert's default export, which the feedback page was) they run."""
    from nbconvert.exporters import HTMLExporter
    root = server[0]
    autograded = next((root / "out" / "nbgrader" / "autograded" / "hostile").rglob("*.ipynb"))
    html, _ = HTMLExporter().from_notebook_node(nbformat.read(str(autograded), as_version=4))
    page = root / "out" / "unsanitised.html"
    page.write_text(html)
    seen = visit(browser, server, page)
    assert seen["title"] == "PWNED"
    assert any(path.endswith(("/script", "/onerror", "/pixel", "/iframe")) for path in seen["served"])


def test_control_a_correct_submissions_page_shows_its_score_figures_and_tables(graded, browser,
                                                                            server):
    result = graded["control"]
    assert result.total == 3.0
    seen = visit(browser, server, result.feedback)
    assert "Score: 3.0 / 3.0" in seen["text"] and seen["images"] == 1 and seen["tables"] == 1
    assert seen["described"] == 1   # every image has a text alternative
    assert seen["fetched"] == [] and seen["served"] == []
