"""The rendered book as a site: every internal link and image resolves, and a real headless
Chromium (Debian's package, driven by Playwright) reads every chapter page offline.

The browser is allowed to fetch nothing but the site itself (served on localhost); any other
request fails the page. Screenshots of every page are kept in ``_build/browser/<edition>/`` (chapters as JPEG).
"""
from __future__ import annotations

import functools
import html
import re
import shutil
import threading
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from core import paths

SCREENSHOTS = paths.BUILD / "browser"


def chapter_pages(html_dir: Path) -> list[Path]:
    return sorted((html_dir / paths.BOOK.name).glob("[0-9][0-9]_*.html"))


# --- links and images, read from the HTML ------------------------------------------------------

class Targets(HTMLParser):
    """Collects the ids of a page and the href/src of its links, images and scripts."""

    def __init__(self):
        super().__init__()
        self.ids, self.links = set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("id", "name"):
            if attrs.get(name):
                self.ids.add(attrs[name])
        for name in ("href", "src"):
            if attrs.get(name) and tag in ("a", "img", "script", "link", "source"):
                self.links.append((tag, attrs[name]))


@functools.lru_cache(maxsize=None)
def parsed(path: Path) -> Targets:
    targets = Targets()
    targets.feed(path.read_text(errors="ignore"))
    return targets


def broken_targets(html_dir: Path) -> list[str]:
    """'page: link' for every internal link, image or script whose file or anchor is missing."""
    broken = []
    pages = [p for p in html_dir.rglob("*.html") if "_static" not in p.relative_to(html_dir).parts]
    for page in sorted(pages):  # (_static/ holds the theme's templates, not pages)
        for tag, link in parsed(page).links:
            url = urlparse(link)
            if url.scheme or link.startswith(("//", "mailto:", "javascript:")):
                continue
            target, anchor = unquote(url.path), unquote(url.fragment)
            file = (page.parent / target).resolve() if target else page
            if file.is_dir():
                file = file / "index.html"
            if not file.is_file():
                broken.append(f"{page.relative_to(html_dir)}: <{tag}> {link} (no such file)")
            elif anchor and file.suffix == ".html" and anchor not in parsed(file).ids:
                broken.append(f"{page.relative_to(html_dir)}: <{tag}> {link} (no such anchor)")
    return broken


@pytest.mark.parametrize("edition", ["full", "no-solutions"])
def test_no_broken_internal_link_or_missing_image(edition, full_html, plain_html):
    html_dir = full_html if edition == "full" else plain_html
    assert chapter_pages(html_dir), "no chapter page was built"
    broken = broken_targets(html_dir)
    assert not broken, "\n".join(broken[:30])


def test_the_link_checker_finds_a_broken_link(tmp_path):
    (tmp_path / "a.html").write_text('<p id="here"><a href="b.html">b</a> <img src="x.png">'
                                     '<a href="#here">ok</a> <a href="#gone">gone</a></p>')
    assert broken_targets(tmp_path) == ["a.html: <a> b.html (no such file)",
                                        "a.html: <img> x.png (no such file)",
                                        "a.html: <a> #gone (no such anchor)"]


def test_every_figure_has_a_description(full_html):
    for page in chapter_pages(full_html):
        for tag in re.findall(r"<img\b[^>]*>", page.read_text()):
            alt = html.unescape(re.search(r'alt="([^"]*)"', tag).group(1))
            if re.search(r"_images/[0-9a-f]{64}\.(png|svg)", tag):  # an output: figure or drawing
                assert alt.startswith("Figure: ") and "_images" not in alt, f"{page.name}: {tag[:200]}"


def test_pages_state_objectives_and_time(full_html):
    for page in chapter_pages(full_html):
        text = html.unescape(re.sub(r"<[^>]*>", " ", page.read_text()))
        assert re.search(r"Time:\s*\S+ about \d+", text) or re.search(r"Time:\s*about \d+", text), \
            f"{page.name} gives no estimated time"
        assert "you will be able to" in text, f"{page.name} states no learning objectives"


# --- a real browser -----------------------------------------------------------------------------

class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(folder: Path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture(scope="module", params=["full", "no-solutions"])
def site(request, browser, full_html, plain_html):   # both named: the tests join the book's group
    html_dir = full_html if request.param == "full" else plain_html
    server, base = serve(html_dir)
    shots = SCREENSHOTS / request.param
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    yield request.param, html_dir, base, shots
    server.shutdown()


class Visit:
    """One page in a fresh browser context that may fetch only from the site itself."""

    def __init__(self, browser, base: str, path: str):
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.errors, self.elsewhere = [], []
        self.context.route("**/*", self.only_the_site(base))
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("response", lambda r: r.status >= 400 and self.errors.append(f"{r.status} {r.url}"))
        self.page.goto(f"{base}/{path}", wait_until="load")

    def only_the_site(self, base):
        def route(route):
            if route.request.url.startswith(base):
                route.continue_()
            else:
                self.elsewhere.append(route.request.url)
                route.abort()
        return route

    def close(self):
        self.context.close()


def wait_for_math(page):
    """Wait until MathJax has typeset the page (its startup promise resolves)."""
    page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                           timeout=30000)
    page.evaluate("() => MathJax.startup.promise")


def test_every_chapter_page_reads_well_in_a_browser(site, browser):
    edition, html_dir, base, shots = site
    pages = chapter_pages(html_dir)
    assert pages
    for path in pages:
        name = path.stem
        visit = Visit(browser, base, f"{paths.BOOK.name}/{path.name}")
        page = visit.page
        try:
            wait_for_math(page)
            page.wait_for_load_state("networkidle")
            # Math: every formula was typeset (MathJax replaces the TeX with mjx-container).
            formulas = page.locator("div.math, span.math")
            assert formulas.count() > 0, f"{name}: no formula on the page"
            assert page.locator("div.math mjx-container, span.math mjx-container").count() == formulas.count(), \
                f"{name}: some formulas stayed raw TeX"
            # Figures: every image was fetched and decoded.
            images = page.eval_on_selector_all(
                "img", "els => els.map(e => [e.getAttribute('src'), e.complete && e.naturalWidth > 0])")
            assert any(src.endswith(".png") for src, _ in images), f"{name}: no figure"
            assert all(ok for _, ok in images), f"{name}: images not loaded: {[s for s, ok in images if not ok]}"
            # Open in Colab: the student notebook of this very chapter.
            colab = page.eval_on_selector_all(
                "a[href*='colab.research.google.com']", "els => els.map(e => e.href)")
            assert colab and all(href.endswith(f"/students/{name}.ipynb") for href in colab), colab
            # Solutions: folded, and each toggle opens and closes.
            toggles = page.locator("details.hide > summary")
            if edition == "full":
                assert toggles.count() > 0, f"{name}: no folded solution"
            for i in range(toggles.count()):
                summary = toggles.nth(i)
                details = summary.locator("xpath=..")
                summary.scroll_into_view_if_needed()
                assert not details.evaluate("d => d.open"), f"{name}: toggle {i} starts open"
                summary.click()
                assert details.evaluate("d => d.open"), f"{name}: toggle {i} does not open"
                summary.click()
                assert not details.evaluate("d => d.open"), f"{name}: toggle {i} does not close"
            # Widgets: where a page holds widget state, the widgets render from the site's scripts.
            views = page.locator("script[type='application/vnd.jupyter.widget-view+json']").count()
            if views:
                page.wait_for_selector(".jupyter-widgets", state="attached", timeout=15000)
                page.wait_for_function(f"() => document.querySelectorAll('.jupyter-widgets').length >= {views}",
                                       timeout=15000)
            # JPEG: a whole chapter page encodes in about half the time of a PNG
            page.screenshot(path=str(shots / f"{name}.jpg"), full_page=True, type="jpeg", quality=75)
            assert not visit.errors, f"{name}: console errors {visit.errors}"
            assert not visit.elsewhere, f"{name}: requests outside the site {visit.elsewhere}"
        finally:
            visit.close()


def search_term(page: Path) -> str:
    """The longest word of the page's title: a term that page is sure to match."""
    title = html.unescape(re.sub(r"<[^>]*>", "", re.search(r"<h1>(.*?)</h1>", page.read_text(), re.S).group(1)))
    return max(re.findall(r"[A-Za-z]{4,}", title), key=len).lower()


def test_search_finds_a_chapter_by_a_term_from_it(site, browser):
    edition, html_dir, base, shots = site
    for page in chapter_pages(html_dir):
        visit = Visit(browser, base, f"search.html?q={search_term(page)}")
        try:
            visit.page.wait_for_selector(f"#search-results a[href*='{page.stem}']", timeout=20000)
            visit.page.screenshot(path=str(shots / f"search-{page.stem}.png"))
            assert not visit.errors and not visit.elsewhere, (visit.errors, visit.elsewhere)
        finally:
            visit.close()


def test_landing_page_explains_the_course(site, browser):
    edition, html_dir, base, shots = site
    visit = Visit(browser, base, f"{paths.BOOK.name}/intro.html")
    try:
        text = visit.page.inner_text("main")
        for words in ("For whom", "How to work through a chapter", "Open in Colab", "USE_GPU",
                      "For instructors"):
            assert words in text, f"the landing page does not say {words!r}"
        visit.page.click("text=Teaching with this course")
        visit.page.wait_for_load_state("load")
        assert "Grading a class" in visit.page.inner_text("main")
        visit.page.screenshot(path=str(shots / "instructors.png"), full_page=True)
        assert not visit.errors and not visit.elsewhere, (visit.errors, visit.elsewhere)
    finally:
        visit.close()
