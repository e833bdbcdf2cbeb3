"""Checks of a built site, run by build_site.py after Sphinx: one readable line per problem.

- Every relative link, image, script and stylesheet of every page (and every `url(...)`
  of every stylesheet) points at a file of the site, and a link's `#anchor` at an id of
  the page it opens.
- Nothing is loaded from outside the site: a script, stylesheet, image, font or frame
  with an absolute URL is a problem (links a reader clicks, `<a href>`, may leave it).
- No page shows an error output (a traceback) of a notebook.

    python site/check_site.py _build/site
"""

from __future__ import annotations

import re
import sys
import urllib.parse
from html.parser import HTMLParser
from pathlib import Path

# Attributes that make the browser load something, by element (a page's own links are <a>).
LOADS = {
    "img": ("src",),
    "script": ("src",),
    "link": ("href",),
    "iframe": ("src",),
    "source": ("src",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "input": ("src",),
}
CSS_URL = re.compile(r"url\(\s*(['\"]?)([^'\")]+)\1\s*\)")
# myst-nb renders an error output as a traceback block; IPython's own header as a fallback.
ERROR_OUTPUT = re.compile(r'class="[^"]*\boutput traceback\b|Traceback \(most recent call last\)')


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.refs: list[tuple[str, str, str]] = []  # (tag, attribute, value)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v for k, v in attrs if v is not None}
        for key in ("id", "name"):
            if key in values and (key == "id" or tag == "a"):
                self.ids.add(values[key])
        if tag == "a" and "href" in values:
            self.refs.append((tag, "href", values["href"]))
        for attribute in LOADS.get(tag, ()):
            if attribute in values:
                self.refs.append((tag, attribute, values[attribute]))
        if "srcset" in values:
            for candidate in values["srcset"].split(","):
                if candidate.strip():
                    self.refs.append((tag, "srcset", candidate.split()[0]))


def _is_external(url: str) -> bool:
    return url.startswith("//") or re.match(r"^[a-z][a-z0-9+.-]*:", url, re.I) is not None


def _local(url: str) -> bool:
    """A URL inside the page or the browser (no file to check, nothing loaded)."""
    return url.startswith(("data:", "blob:", "about:", "mailto:", "javascript:")) or url == ""


def check_site(site: Path) -> list[str]:
    """Every problem of the site at `site`, one line each (empty: the site is sound)."""
    site = Path(site).resolve()
    if not (site / "index.html").is_file():
        return [f"{site} has no index.html: the site was not built"]
    # The pages; HTML files among the static assets are the theme's template fragments.
    pages = {
        p: _parse(p)
        for p in sorted(site.rglob("*.html"))
        if p.relative_to(site).parts[0] not in ("_static", "_images")
    }
    problems: list[str] = []
    for path, page in pages.items():
        where = path.relative_to(site).as_posix()
        text = path.read_text(encoding="utf-8", errors="replace")
        if where.startswith("notebooks/") and (match := ERROR_OUTPUT.search(text)):
            problems.append(f"{where}: shows an error output ({match.group(0)[:60]!r})")
        for tag, attribute, url in page.refs:
            if _local(url):
                continue
            if _is_external(url):
                if tag != "a":
                    problems.append(
                        f"{where}: <{tag} {attribute}> loads {url} from outside the site"
                    )
                continue
            problems += _check_target(site, path, pages, f"{where}: <{tag} {attribute}>", url)
    for css in sorted(site.rglob("*.css")):
        where = css.relative_to(site).as_posix()
        for _, url in CSS_URL.findall(css.read_text(encoding="utf-8", errors="replace")):
            url = url.strip()
            if _local(url) or url.startswith("#"):
                continue
            if _is_external(url):
                problems.append(f"{where}: url() loads {url} from outside the site")
                continue
            problems += _check_target(site, css, pages, f"{where}: url()", url, anchors=False)
    return problems


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8", errors="replace"))
    return page


def _check_target(
    site: Path, page: Path, pages: dict[Path, _Page], where: str, url: str, anchors: bool = True
) -> list[str]:
    parts = urllib.parse.urlsplit(url)
    target = page if not parts.path else (page.parent / urllib.parse.unquote(parts.path)).resolve()
    if site != target and site not in target.parents:
        return [f"{where} points outside the site: {url}"]
    if target.is_dir():
        target = target / "index.html"
    if not target.is_file():
        return [f"{where} points at a missing file: {url}"]
    fragment = urllib.parse.unquote(parts.fragment)
    if anchors and fragment and target.suffix == ".html" and target in pages:
        if fragment not in pages[target].ids:
            return [f"{where} points at a missing anchor: {url}"]
    return []


if __name__ == "__main__":
    found = check_site(Path(sys.argv[1] if len(sys.argv) > 1 else "_build/site"))
    print("\n".join(found) or "no problems")
    sys.exit(1 if found else 0)
