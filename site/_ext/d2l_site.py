"""What the course website adds to Sphinx: page links, the exercises' look, MathJax from the site.

- Every chapter page starts with links to run it on Binder, download its notebook
  (the repository's file, without outputs) and view it on GitHub.
- The 练习 section of a chapter is marked as exercises (a class the stylesheet boxes)
  and says where they are answered.
- MathJax 3 is copied from the `sphinx-mathjax-offline` wheel into `_static/mathjax`, so
  formulas render without any request outside the site.
"""

from __future__ import annotations

import html
import importlib.metadata
import re
import shutil
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = "notebooks/"
EXERCISES_TITLE = "练习"
# The parts of MathJax that tex-chtml.js loads: TeX extensions on demand, the CHTML fonts,
# the context menu and its accessibility tools. The other combined builds are left out.
MATHJAX_PARTS = ("tex-chtml.js", "input", "output/chtml", "ui", "a11y", "sre", "LICENSE")


def jupyterlab_anchor(heading: str) -> str:
    """The anchor JupyterLab gives a heading (its text, spaces as '-'): the notebooks link to it."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # [text](url) -> text
    text = text.replace("`", "").replace("**", "").strip()
    return text.replace(" ", "-")


def binder_url(repo: str, notebook: str) -> str:
    """The Binder link that opens `notebook` (a path in the repository) in JupyterLab."""
    return f"https://mybinder.org/v2/gh/{repo}/HEAD?urlpath=lab/tree/{notebook}"


def page_links(repo: str, docname: str) -> str:
    """The HTML line of links at the top of a chapter page."""
    notebook = f"{docname}.ipynb"
    name = Path(notebook).name
    links = [
        ("d2l-binder", binder_url(repo, notebook), "在 Binder 上运行 Run on Binder", ""),
        ("d2l-download", name, f"下载 notebook {name}", f' download="{html.escape(name)}"'),
        ("d2l-github", f"https://github.com/{repo}/blob/HEAD/{notebook}", "GitHub", ""),
    ]
    items = "".join(
        f'<a class="{cls}" href="{html.escape(url)}"{extra}>{html.escape(text)}</a>'
        for cls, url, text, extra in links
    )
    return f'<p class="d2l-page-links">{items}</p>\n'


EXERCISE_NOTE = (
    '<p class="d2l-exercise-note">在 Binder 或 JupyterLab 中打开本章 notebook，'
    "在每道题的答案单元里作答并运行它的检查。"
    "Answer each exercise in the notebook (Binder or JupyterLab) and run its check.</p>\n"
)


def _title(section: nodes.section) -> nodes.title | None:
    return next(iter(section.findall(nodes.title)), None)


def mark_chapter(app: Sphinx, doctree: nodes.document) -> None:
    """Links under the chapter's title; the 练习 section marked as exercises."""
    docname = app.env.docname
    if not docname.startswith(CHAPTERS):
        return
    sections = list(doctree.findall(nodes.section))
    if not sections:
        return
    repo = app.config.html_context.get("d2l_repo", "")
    first = sections[0]
    title = _title(first)
    at = first.index(title) + 1 if title is not None else 0
    first.insert(at, nodes.raw("", page_links(repo, docname), format="html"))
    for section in sections:
        title = _title(section)
        if title is not None and title.astext().startswith(EXERCISES_TITLE):
            section["classes"].append("d2l-exercises")
            section.insert(section.index(title) + 1, nodes.raw("", EXERCISE_NOTE, format="html"))


def mathjax_folder() -> Path:
    """MathJax 3 inside the installed sphinx-mathjax-offline wheel."""
    try:
        dist = importlib.metadata.distribution("sphinx-mathjax-offline")
    except importlib.metadata.PackageNotFoundError as e:
        raise RuntimeError(
            "the site needs MathJax from the sphinx-mathjax-offline package: "
            "pip install -e '.[site]' (make site installs it)"
        ) from e
    folder = Path(str(dist.locate_file("sphinx-mathjax-offline/static/mathjax")))
    if not (folder / "tex-chtml.js").is_file():
        raise RuntimeError(f"no tex-chtml.js in {folder}: reinstall sphinx-mathjax-offline")
    return folder


def copy_files(app: Sphinx, exception: Exception | None) -> None:
    """MathJax into _static/mathjax and each chapter's notebook beside its page."""
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    source = mathjax_folder()
    target = out / "_static" / "mathjax"
    for part in MATHJAX_PARTS:
        src = source / part
        if src.is_dir():
            shutil.copytree(src, target / part, dirs_exist_ok=True)
        elif src.is_file():
            (target / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target / part)
    for docname in app.env.found_docs:
        if docname.startswith(CHAPTERS):
            original = ROOT / f"{docname}.ipynb"
            (out / docname).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(original, out / f"{docname}.ipynb")


def setup(app: Sphinx) -> dict:
    app.connect("doctree-read", mark_chapter)
    app.connect("build-finished", copy_files)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
