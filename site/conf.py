"""Sphinx configuration of the course website (`make site`; sources assembled by build_site.py).

`site/build_site.py` executes the notebooks, turns widget outputs into static ones and
writes the Sphinx sources to `_build/site-src/`; Sphinx reads them with this file
(`sphinx-build -c site`) and never executes anything itself. Everything the pages load
comes from installed packages (theme, MathJax) and is served from the site itself.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE / "_ext"))

# The GitHub repository behind the Binder and source links: the README's, or the one
# the publishing workflow builds (`D2L_SITE_REPO=owner/name`).
REPO = os.environ.get("D2L_SITE_REPO", "d2lhelpers/d2l-course")
QUICK = os.environ.get("D2L_SITE_MODE") == "quick"  # set by build_site.py

project = "动手学深度学习 · 交互式课程"
author = "d2lhelpers contributors"
copyright = "the d2lhelpers contributors"
language = "zh_CN"

extensions = ["myst_nb", "d2l_site"]
root_doc = "index"
# _chapters.md is included by index.md, not a page of its own.
exclude_patterns = ["_*.md"]

# ---------------------------------------------------------------- notebooks (myst-nb)
# build_site.py has executed every notebook (cached per notebook); Sphinx only renders.
nb_execution_mode = "off"
# Widgets are turned into static outputs before Sphinx sees them, so no widget
# manager is needed: the default would load RequireJS and a widget bundle from a CDN.
nb_ipywidgets_js: dict = {}
nb_merge_streams = True
# Markdown outputs (display(Markdown(...)): tables, math) as JupyterLab renders them.
nb_render_markdown_format = "myst"
myst_enable_extensions = ["dollarmath", "amsmath"]
# `$$...$$` inside a paragraph is display math, as JupyterLab shows it (the notebooks do this).
myst_dmath_double_inline = True
myst_heading_anchors = 6

# The anchors JupyterLab gives headings, which the notebooks link to (d2l_site.py).
myst_heading_slug_func = "d2l_site.jupyterlab_anchor"

# ---------------------------------------------------------------- math: MathJax from the site
# d2l_site copies MathJax 3 (from the sphinx-mathjax-offline wheel) into _static/mathjax.
mathjax_path = "mathjax/tex-chtml.js"

# ---------------------------------------------------------------- HTML
html_theme = "sphinx_book_theme"
html_title = "动手学深度学习 · 交互式课程"
html_static_path = ["_static"]
html_css_files = ["d2l-site.css"]
html_js_files = ["d2l-search-fix.js"]  # before language_data.js: see the file
html_copy_source = False  # each page links the repository's notebook instead
html_show_sourcelink = False
html_last_updated_fmt = None
# Chinese full-text search: Sphinx segments Chinese text with jieba (a PyPI package, its
# dictionary inside the wheel); site/search_words.txt adds course terms jieba's dictionary lacks.
html_search_language = "zh"
html_search_options = {"dict": str(HERE / "search_words.txt")}
html_theme_options = {
    "repository_url": f"https://github.com/{REPO}",
    "repository_branch": "HEAD",
    "path_to_docs": "",
    "use_repository_button": True,
    "use_download_button": False,  # d2l_site links the notebook itself on every page
    "use_fullscreen_button": False,
    "launch_buttons": {"binderhub_url": "https://mybinder.org", "notebook_interface": "jupyterlab"},
    "show_toc_level": 2,
    "home_page_in_toc": True,
    "announcement": (
        "快速模式构建（quick mode）：输出只用于检查网站，模型几乎没有训练。" if QUICK else ""
    ),
}
html_context = {"d2l_repo": REPO}
