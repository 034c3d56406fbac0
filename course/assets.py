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

from . import paths

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
    # embed-amd.js and the fonts it references; the source maps and the other bundles are unused.
    shutil.copytree(npm_package(WIDGETS) / "dist", widgets,
                    ignore=shutil.ignore_patterns("*.map", "embed.js*", "libembed-amd.js"))
    shutil.copyfile(npm_package(REQUIREJS) / "require.js", widgets / "require.js")
    # Relative paths below are relative to _static/. Not the staged _static/ folder: Jupyter
    # Book would add every .js file there to every page. The widget scripts are added by myst-nb
    # only to pages that hold widget state. embed-amd.js has the built-in widgets compiled in;
    # no CDN attribute, so it never fetches a module from elsewhere.
    return {"html_static_path": [STATIC_DIR], "mathjax_path": f"mathjax/{MATHJAX_ENTRY}",
            "nb_ipywidgets_js": {"widgets/require.js": {}, "widgets/embed-amd.js": {}}}
