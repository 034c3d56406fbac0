"""Web assets the book serves itself instead of loading them from a CDN.

Jupyter Book takes MathJax, and for pages with widgets RequireJS and the ipywidgets embed
manager, from CDNs by default, so a reader offline or behind a strict network sees raw TeX and no
widgets. The book build fetches the pinned npm packages once (``npm pack``, cached in
``_build/vendor/``) and stages their browser files with the pages; ``stage`` returns the Sphinx
settings that point the pages at them.
"""
from __future__ import annotations

import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from core import paths

VENDOR = paths.BUILD / "vendor"
MATHJAX = "mathjax@3.2.2"
MATHJAX_ENTRY = "tex-mml-chtml.js"
# ipywidgets 8 widget state is rendered by the html-manager 1.x embed bundle, loaded with RequireJS.
WIDGETS = "@jupyter-widgets/html-manager@1.0.15"
REQUIREJS = "requirejs@2.3.8"
STATIC_DIR = "_vendor"  # staged beside _config.yml, served as _static/ (see sphinx_config)
# Other combined bundles of the package; the pages load only MATHJAX_ENTRY (and what it
# lazy-loads: input/, output/chtml/, a11y/, ui/, sre/).
UNUSED = ("tex-svg*.js", "tex-mml-svg.js", "mml-svg.js", "tex-chtml*.js", "mml-chtml.js",
          "node-main.js", "svg")


# The ipywidgets controls typeset their labels with MathJax 2's MathJax.Hub.Queue whenever a
# window.MathJax exists; the book serves MathJax 3, which has no Hub (a TypeError per widget).
# Defer scripts (MathJax) have run by DOMContentLoaded, and this listener is registered before
# the widget manager's, so the Hub exists before any widget renders.
MATHJAX2_HUB_JS = """// Staged by course/assets.py: MathJax 2's Hub.Queue for the ipywidgets controls, on MathJax 3.
document.addEventListener("DOMContentLoaded", function () {
  var mj = window.MathJax;
  if (!mj || mj.Hub) { return; }
  mj.Hub = {Queue: function (job) {
    var element = job && job[2];
    var typeset = function () { if (mj.typesetPromise) { mj.typesetPromise(element ? [element] : undefined); } };
    if (mj.startup && mj.startup.promise) { mj.startup.promise.then(typeset); } else { typeset(); }
  }};
});
"""
FONTS = ("*.woff", "*.woff2", "*.ttf", "*.eot", "*.svg")
# The embed manager's styles ask for their fonts at this path relative to the page.
FONT_PATH = "@jupyter-widgets/html-manager/dist"


class AssetError(RuntimeError):
    """A web asset could not be fetched; the message says how to fix it."""


def npm_package(spec: str) -> Path:
    """The unpacked npm package ``spec`` ('name@version'), fetched once into _build/vendor/."""
    target = VENDOR / spec.lstrip("@").replace("@", "-").replace("/", "-")
    if (target / "package.json").exists():
        return target
    npm = shutil.which("npm")
    if not npm:
        raise AssetError(f"the book serves {spec} itself and fetches it with npm: install "
                         "Node.js and npm (apt-get install -y nodejs npm).")
    with tempfile.TemporaryDirectory(prefix="mlp-npm-") as tmp:
        result = subprocess.run([npm, "pack", spec, "--pack-destination", tmp, "--silent"],
                                capture_output=True, text=True)
        tarballs = list(Path(tmp).glob("*.tgz"))
        if result.returncode or not tarballs:
            raise AssetError(f"npm pack {spec} failed:\n{result.stderr[-2000:]}")
        with tarfile.open(tarballs[0]) as archive:
            archive.extractall(tmp, filter="data")
        shutil.rmtree(target, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(Path(tmp) / "package"), target)
    return target


def stage(src: Path) -> dict:
    """Copy the assets into a staged book; return the Sphinx settings that point to them."""
    es5 = npm_package(MATHJAX) / "es5"
    shutil.copytree(es5, src / STATIC_DIR / "mathjax", ignore=shutil.ignore_patterns(*UNUSED))
    widgets = src / STATIC_DIR / "widgets"
    # embed-amd.js only; maps, fonts (see place_widget_fonts) and the other bundles are unused.
    shutil.copytree(npm_package(WIDGETS) / "dist", widgets,
                    ignore=shutil.ignore_patterns("*.map", "embed.js*", "libembed-amd.js", *FONTS))
    shutil.copyfile(npm_package(REQUIREJS) / "require.js", widgets / "require.js")
    (widgets / "mathjax2-hub.js").write_text(MATHJAX2_HUB_JS)
    return {"html_static_path": [STATIC_DIR], "mathjax_path": f"mathjax/{MATHJAX_ENTRY}",
            "nb_ipywidgets_js": {"widgets/mathjax2-hub.js": {}, "widgets/require.js": {},
                                 "widgets/embed-amd.js": {}}}


def place_widget_fonts(html_dir: Path, pages_folder: str) -> None:
    """Put the widget manager's fonts where its styles look for them: beside the pages, under
    ``@jupyter-widgets/html-manager/dist/`` (every chapter page sits in ``pages_folder``)."""
    target = html_dir / pages_folder / FONT_PATH
    target.mkdir(parents=True, exist_ok=True)
    for pattern in FONTS:
        for font in (npm_package(WIDGETS) / "dist").glob(pattern):
            shutil.copyfile(font, target / font.name)
