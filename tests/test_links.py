"""Link check of the built book: every internal link and anchor resolves; external links are listed.

Runs on a built book (``make check-html`` builds it and sets LIPNB_BOOK_HTML); skipped otherwise.
External links are collected and printed, not fetched (CI has no internet beyond package indexes).
"""

from __future__ import annotations

import os
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest

HTML = Path(os.environ.get("LIPNB_BOOK_HTML", "/nonexistent")).resolve()
pytestmark = pytest.mark.skipif(
    not (HTML / "index.html").exists(), reason="no built book: run `make check-html` (or set LIPNB_BOOK_HTML)"
)
SKIP_DIRS = {"_static", "_sources", "_images", "_sphinx_design_static"}


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for key in ("id", "name"):
            if a.get(key):
                self.ids.add(a[key])  # type: ignore[arg-type]
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])  # type: ignore[arg-type]
        if tag in ("img", "script") and a.get("src"):
            self.links.append(a["src"])  # type: ignore[arg-type]
        if tag == "link" and a.get("href") and a.get("rel") in ("stylesheet", "icon", "shortcut icon"):
            self.links.append(a["href"])  # type: ignore[arg-type]


def _pages() -> dict[Path, _Page]:
    pages = {}
    for path in sorted(HTML.rglob("*.html")):
        if SKIP_DIRS & set(path.relative_to(HTML).parts):
            continue
        parser = _Page()
        parser.feed(path.read_text(encoding="utf-8"))
        pages[path] = parser
    return pages


def test_internal_links_and_anchors_resolve(capsys):
    pages = _pages()
    assert pages, f"no pages under {HTML}"
    broken, external = [], set()
    for path, page in pages.items():
        for href in page.links:
            parsed = urlparse(href)
            if parsed.scheme in ("http", "https"):
                external.add(href)
                continue
            if parsed.scheme in ("mailto", "javascript", "data"):
                continue
            target, anchor = urldefrag(href)
            target = urlparse(target).path  # drop ?v=… cache-busting queries
            dest = path if not target else (path.parent / unquote(target)).resolve()
            if not dest.exists():
                broken.append(f"{path.relative_to(HTML)}: {href} (no file {dest})")
                continue
            if anchor and dest.suffix == ".html":
                ids = pages[dest].ids if dest in pages else _Page().ids
                if dest in pages and unquote(anchor) not in ids:
                    broken.append(f"{path.relative_to(HTML)}: {href} (no anchor #{anchor})")
    with capsys.disabled():
        print(f"\n{len(external)} external links (listed, not fetched):")
        for url in sorted(external):
            print("  ", url)
    assert not broken, "broken internal links:\n" + "\n".join(broken[:50])


def test_every_toc_page_was_built():
    toc = Path(__file__).resolve().parents[1] / "_toc.yml"
    files = [line.split("file:")[1].strip() for line in toc.read_text().splitlines() if "file:" in line]
    missing = [f for f in files + ["intro"] if not (HTML / f"{f}.html").exists()]
    assert not missing, f"pages listed in _toc.yml but not built: {missing}"
