"""The course website as a reader sees it: the built site in headless Chromium.

`make test-site` builds the quick-mode site (`make site QUICK=1`) and runs these with
`D2L_SITE_DIR=_build/site`; without that variable (a plain `make test-browser`) they
are skipped. The site is served from 127.0.0.1 and every request the pages make is
recorded: anything that leaves the site is refused and reported. Checked: the landing
page lists every chapter; each chapter page shows its figures as images, no error
output, rendered math (no raw `$...$`), the Binder and notebook links, the widgets as
static outputs and the exercises; the search finds Chinese and English words.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

from .jupyter import ROOT, find_chromium, is_loopback

CHAPTERS = sorted(p for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
# Words a reader searches for, and the chapter whose title holds them (ranked near the top).
SEARCHES = [
    ("卷积", "08_cnn"),
    ("注意力", "12_attention"),
    ("多层感知机", "06_mlp"),
    ("LeNet", "08_cnn"),
    ("Transformer", "12_attention"),
]
# Inline math left as text: `$x$` or `\(x\)` that MathJax did not typeset.
RAW_MATH = re.compile(r"(?<![\\$\w])\$[^$\n]{1,80}\$(?!\w)|\\\([^)\n]{1,80}\\\)")


@pytest.fixture(scope="session")
def site() -> Path:
    folder = os.environ.get("D2L_SITE_DIR")
    if not folder:
        pytest.skip("the website is checked by `make test-site`, which builds it first")
    folder = Path(folder).resolve()
    assert (folder / "index.html").is_file(), f"no site in {folder}: run `make site QUICK=1`"
    return folder


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def server(site):
    """The site served from 127.0.0.1, as a static host would serve it."""
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site))
    )
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="session")
def chromium(site):
    # `site` first: without a built site the test is skipped before Playwright starts (one
    # sync Playwright per process: test_in_browser.py's, when both files run in one pytest)
    path = find_chromium()
    if path is None:
        message = "no Chromium found: apt-get install chromium (or set D2L_CHROMIUM)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run the site's browser test")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=path,
            args=["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def shots() -> Path:
    folder = Path(tempfile.gettempdir()) / "d2l-site" / time.strftime("%Y%m%d-%H%M%S")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Visit:
    """A browser tab on the site that records what leaves it and what fails in it."""

    def __init__(self, chromium, server: str):
        self.server = server
        self.context = chromium.new_context(viewport={"width": 1280, "height": 900})
        self.outside: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._guard)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on(
            "response",
            lambda r: self.failed.append(f"{r.status} {r.url}") if r.status >= 400 else None,
        )

    def _guard(self, route) -> None:
        if is_loopback(route.request.url):
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def open(self, path: str) -> None:
        self.page.goto(f"{self.server}/{path}", wait_until="load")

    def problems(self) -> list[str]:
        return (
            [f"request outside the site: {u}" for u in self.outside]
            + [f"failed request: {u}" for u in self.failed]
            + [f"script error: {e}" for e in self.errors]
        )

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visit(chromium, server):
    tab = Visit(chromium, server)
    yield tab
    tab.close()


def _wait_for_math(page) -> None:
    """MathJax has typeset the page (its startup promise resolves after the first pass)."""
    page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
    page.evaluate("() => MathJax.startup.promise.then(() => true)")


@pytest.mark.browser
def test_landing_page_lists_every_chapter_with_binder(visit):
    visit.open("index.html")
    rows = visit.page.locator("article table tbody tr")
    pages, binders = [], []
    for i in range(rows.count()):
        row = rows.nth(i)
        pages += [
            urllib.parse.urlsplit(h).path
            for h in row.locator("a").evaluate_all("(as) => as.map((a) => a.href)")
            if h.endswith(".html")
        ]
        binders += row.locator("a[href^='https://mybinder.org/']").evaluate_all(
            "(as) => as.map((a) => a.href)"
        )
    expected = [f"/notebooks/{p.stem}.html" for p in CHAPTERS]
    assert pages == expected, f"the chapter table links {pages}, expected {expected}"
    assert len(binders) == len(CHAPTERS) and all("urlpath=lab" in b for b in binders), binders
    text = visit.page.locator("article").inner_text()
    assert "动手学深度学习" in text and "Dive into Deep Learning" in text
    assert "make lab" in text and "Binder" in text
    assert not visit.problems(), visit.problems()


def _figures(page) -> list[dict]:
    """The images in the notebook outputs, with whether the browser could decode each."""
    return page.locator(".cell_output img").evaluate_all(
        "(imgs) => imgs.map((i) => ({src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0}))"
    )


# Code that draws a figure: a chapter that has none (the cheat sheet, 15) shows none.
DRAWS = re.compile(r"\bplt\.|d2l\.(?:plot|show_images|show_heatmaps|Animator|train_ch)|\.imshow\(")


def _draws(path: Path) -> bool:
    return DRAWS.search(path.read_text(encoding="utf-8")) is not None


def _uses_svg(path: Path) -> bool:
    return "use_svg_display()" in path.read_text(encoding="utf-8")


def _uses_widgets(path: Path) -> bool:
    return (
        re.search(r"\binteract(ive)?\(|@interact\b", path.read_text(encoding="utf-8")) is not None
    )


@pytest.mark.browser
@pytest.mark.parametrize("notebook", CHAPTERS, ids=[p.stem[:2] for p in CHAPTERS])
def test_chapter_page(notebook, visit, shots):
    visit.open(f"notebooks/{notebook.stem}.html")
    page = visit.page
    _wait_for_math(page)
    page.screenshot(path=str(shots / f"{notebook.stem}.png"))
    problems = []

    figures = _figures(page)
    if _draws(notebook) and not figures:
        problems.append("the notebook draws figures, but the page shows none")
    problems += [f"a figure the browser cannot show: {f['src']}" for f in figures if not f["ok"]]
    if (
        _draws(notebook)
        and _uses_svg(notebook)
        and not any(f["src"].endswith(".svg") for f in figures)
    ):
        problems.append("the notebook draws SVG (use_svg_display) but no figure is an SVG")

    article = page.locator("article")
    if article.locator(".output.traceback, .output.error").count():
        problems.append("an error output is shown")
    text = article.evaluate(
        "(a) => { const c = a.cloneNode(true);"
        " c.querySelectorAll('pre, code, mjx-container, script').forEach((e) => e.remove());"
        " return c.innerText; }"
    )
    if "Traceback (most recent call last)" in text:
        problems.append("a traceback is shown")
    if article.locator("mjx-container").count() == 0:
        problems.append("no formula rendered by MathJax")
    raw = RAW_MATH.findall(text)
    if raw:
        problems.append(f"math left as text: {raw[:5]}")
    untypeset = article.locator(
        "span.math:not(:has(mjx-container)), div.math:not(:has(mjx-container))"
    )
    if untypeset.count():
        problems.append(f"{untypeset.count()} formula(s) not typeset")

    links = page.locator(".d2l-page-links")
    binder = links.locator("a.d2l-binder").get_attribute("href") or ""
    if not binder.endswith(f"?urlpath=lab/tree/notebooks/{notebook.name}"):
        problems.append(f"no Binder link for this notebook: {binder!r}")
    download = links.locator("a.d2l-download")
    if download.get_attribute("href") != notebook.name:
        problems.append("no download link for the notebook")
    else:
        response = page.request.get(f"{visit.server}/notebooks/{notebook.name}")
        if response.body() != notebook.read_bytes():
            problems.append("the downloaded notebook is not the repository's")

    if _uses_widgets(notebook) and not article.locator(".d2l-widget-note").count():
        problems.append("the notebook builds widgets, but no widget output is shown")
    if article.locator("section.d2l-exercises").count() != 1:
        problems.append("no exercises section (练习)")
    if article.locator("a[href*='solutions/']:not([href^='https://github.com/'])").count():
        problems.append("a link to a solution inside the site (solutions are not on the site)")

    problems += visit.problems()
    assert not problems, f"{notebook.name} (screenshot in {shots}):\n" + "\n".join(problems)


@pytest.mark.browser
@pytest.mark.parametrize(("word", "chapter"), SEARCHES, ids=[w for w, _ in SEARCHES])
def test_search_finds_the_chapter(word, chapter, visit):
    visit.open(f"search.html?q={urllib.parse.quote(word)}")
    # the summary line appears when the search is done, with or without results
    visit.page.locator("#search-results .search-summary").wait_for(timeout=30_000)
    results = visit.page.locator("#search-results ul.search li > a")
    found = [
        urllib.parse.urlsplit(h).path for h in results.evaluate_all("(as) => as.map((a) => a.href)")
    ]
    top = [p.rsplit("/", 1)[-1].removesuffix(".html") for p in found[:3]]
    assert chapter in top, f"searching {word!r}: the first results are {found[:5]}"
    assert not visit.problems(), visit.problems()
