"""Every page of the built book in headless Chromium, as a reader sees it with no network.

Each page (every .html outside _static, _sources, _images, ...) is opened once, and the tests assert,
naming the page:

- no console error and no uncaught error;
- no request to any host but the local server: such requests are aborted and listed, since the book
  must work offline (MathJax and the widget scripts are served from its own _static);
- MathJax started, turned every Sphinx math element (``.math``) into an ``mjx-container``, and left no
  error node (``mjx-merror``);
- every image loaded, and the widgets whose state the page stores were drawn;
- a chapter page has as many sphinx-proof boxes of each kind as its notebook's markdown has
  ``{prf:...}`` directives, and each theory chapter (01-05) has at least one theorem-like box.

A full-page screenshot of every page goes to $LIPNB_SCREENSHOTS (default: artifacts/screenshots/).
The last tests plant faults in a page of a temporary copy of the book and check that each is reported
with that page's name.

The book is $LIPNB_BOOK_HTML (default: _build/html, as `make book` writes it), served on 127.0.0.1.
Chromium is the system's (Debian's chromium), driven by the playwright package; no browser is ever
downloaded. Skips cleanly when the book, Chromium or playwright is absent.
"""

from __future__ import annotations

import collections
import functools
import http.server
import json
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
BOOK = Path(os.environ.get("LIPNB_BOOK_HTML", ROOT / "_build" / "html")).resolve()
SCREENSHOTS = Path(os.environ.get("LIPNB_SCREENSHOTS", ROOT / "artifacts" / "screenshots")).resolve()
SKIP_DIRS = {"_static", "_sources", "_images", "_sphinx_design_static"}
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
TIMEOUT_MS = 60_000
THEOREM_LIKE = {"theorem", "lemma", "proposition", "corollary"}
THEORY_CHAPTERS = ("01", "02", "03", "04", "05")
# A directive opens a line with a backtick or colon fence: ```{prf:theorem} or :::{prf:proof}.
DIRECTIVE = re.compile(r"^[ \t]*(?:`{3,}|:{3,})\{prf:([a-z]+)\}", re.M)

sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="the playwright package is not installed (it drives the system's Chromium; no browser download)",
)
BROWSER = next((path for path in map(shutil.which, BROWSERS) if path), None)
if BROWSER is None:
    pytest.skip("no Chromium found (apt-get install chromium)", allow_module_level=True)
if not (BOOK / "index.html").is_file():
    pytest.skip(f"no built book in {BOOK}: run `make book` (or set LIPNB_BOOK_HTML)", allow_module_level=True)

PAGES = sorted(
    p.relative_to(BOOK).as_posix() for p in BOOK.rglob("*.html") if not SKIP_DIRS & set(p.relative_to(BOOK).parts)
)
CHAPTERS = [page for page in PAGES if (ROOT / page).with_suffix(".ipynb").is_file()]


@dataclass
class Report:
    """What one visit of one page found."""

    page: str
    errors: list[str]  # console errors and uncaught exceptions
    foreign: list[str]  # URLs on other hosts that the page asked for (each aborted)
    math: int  # Sphinx math elements
    mathjax: bool  # MathJax started
    unrendered: list[str]  # the text of each math element that holds no mjx-container
    math_errors: list[str]  # each mjx-merror's message and its TeX; a failed typesetting
    images: int
    broken_images: list[str]  # their src
    widgets: int  # stored widget views
    undrawn_widgets: int
    boxes: collections.Counter  # sphinx-proof boxes by kind
    screenshot: Path


# --- serving and visiting ---------------------------------------------------------------------------


def _serve(directory: Path) -> http.server.ThreadingHTTPServer:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _redirect_target(html: str) -> str | None:
    """The page a Sphinx redirect page (index.html) refreshes to, if it is one."""
    found = re.search(r'<meta http-equiv="Refresh" content="\d+;\s*url=([^"]+)"', html, re.I)
    return found.group(1) if found else None


_MATH = """() => {
  const tex = new Map();
  if (window.MathJax && MathJax.startup && MathJax.startup.document) {
    for (const item of MathJax.startup.document.math) tex.set(item.typesetRoot, item.math);
  }
  return {
    unrendered: [...document.querySelectorAll('.math')].filter(e => !e.querySelector('mjx-container'))
      .map(e => e.textContent.trim().slice(0, 120)),
    errors: [...document.querySelectorAll('mjx-merror')].map(e => {
      const message = e.getAttribute('data-mjx-error') || e.textContent;
      return message + ' in ' + (tex.get(e.closest('mjx-container')) || '(TeX unknown)');
    }).concat(
      // An undefined macro is no error node: MathJax's noundefined extension draws its name in red.
      [...document.querySelectorAll('mjx-container [style*="color: red"]')].map(e =>
        // (CHTML draws glyphs through CSS, so the node has no text: the TeX names the macro)
        'undefined macro in ' + (tex.get(e.closest('mjx-container')) || '(TeX unknown)'))),
  };
}"""
_UNDRAWN_WIDGETS = """() => [...document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')]
  .filter(s => { const a = s.previousElementSibling;
                 return !(a && a.classList.contains('widget-subarea') && a.querySelector('.lm-Widget')); })
  .length"""
_TYPESET = """async () => {
  try {
    let p;
    do { p = MathJax.startup.promise; await p; } while (p !== MathJax.startup.promise);
    return '';
  } catch (e) { return 'typesetting failed: ' + e; }
}"""
# sphinx-proof 0.4 writes <div class="proof KIND admonition"> with a <section class="KIND-content"> for
# each KIND of statement, and <div class="proof admonition"> with no such section for a proof.
_BOXES = """() => [...document.querySelectorAll('div.admonition.proof')].map(e => {
  const content = e.querySelector(':scope > section[class$="-content"]');
  return content ? content.className.replace(/-content$/, '') : 'proof';
})"""


def _visit(browser, root: Path, origin: str, page: str, screenshot: Path) -> Report:
    """Open `page` of the book in folder `root`, served at `origin`, in a fresh browser context (a first
    visit: nothing stored), and record what it shows."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    foreign: list[str] = []

    def route(request_route) -> None:
        url = urlparse(request_route.request.url)
        if url.scheme in ("http", "https") and url.hostname != "127.0.0.1":
            foreign.append(request_route.request.url)
            request_route.abort()
        else:
            request_route.continue_()

    context.route("**/*", route)
    tab = context.new_page()

    def console(message) -> None:
        if message.type == "error":
            where = f"{message.location.get('url', '?')}:{message.location.get('lineNumber', '?')}"
            errors.append(f"console error: {message.text} (at {where})")

    tab.on("console", console)
    tab.on("pageerror", lambda error: errors.append(f"uncaught {error.name}: {error.message}"))
    try:
        tab.goto(f"{origin}/{page}", wait_until="load")
        target = _redirect_target((root / page).read_text(encoding="utf-8"))
        if target:
            tab.wait_for_url(urljoin(f"{origin}/{page}", target), wait_until="load")
        widgets = tab.locator('script[type="application/vnd.jupyter.widget-view+json"]').count()
        if widgets:
            try:
                tab.wait_for_function(f"() => ({_UNDRAWN_WIDGETS})() === 0")
            except sync_api.TimeoutError:
                pass  # counted below
        undrawn = tab.evaluate(f"({_UNDRAWN_WIDGETS})()")
        math = tab.locator(".math").count()
        # MathJax is a deferred script, so by the load event it has started or it never will. The widget
        # script chains label typesetting onto MathJax's promise, hence the loop to the latest one.
        mathjax = math > 0 and tab.evaluate("() => !!(window.MathJax && MathJax.startup && MathJax.startup.promise)")
        typeset_failed = tab.evaluate(_TYPESET) if mathjax else ""
        found = tab.evaluate(_MATH)
        # Scrolled through as a reader would, so that any image loaded only when in view gets its turn.
        tab.evaluate(
            "async () => { for (let y = 0; y < document.body.scrollHeight; y += innerHeight) {"
            " scrollTo(0, y); await new Promise(r => requestAnimationFrame(r)); } scrollTo(0, 0); }"
        )
        tab.wait_for_function("() => [...document.images].every(i => i.complete)")
        images = tab.evaluate(
            "() => [...document.images].map(i => [i.getAttribute('src') || i.currentSrc, i.naturalWidth > 0])"
        )
        boxes = collections.Counter(tab.evaluate(_BOXES))
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(screenshot), full_page=True)
    finally:
        context.close()
    return Report(
        page=page,
        errors=errors,
        foreign=foreign,
        math=math,
        mathjax=mathjax,
        unrendered=found["unrendered"],
        math_errors=found["errors"] + ([typeset_failed] if typeset_failed else []),
        images=len(images),
        broken_images=[src for src, loaded in images if not loaded],
        widgets=widgets,
        undrawn_widgets=undrawn,
        boxes=boxes,
        screenshot=screenshot,
    )


# --- the checks, shared by the tests of the real pages and of the planted ones -------------------------


def check_errors(r: Report) -> None:
    assert not r.errors, f"{r.page}: {len(r.errors)} console/page errors:\n  " + "\n  ".join(r.errors)


def check_offline(r: Report) -> None:
    assert not r.foreign, (
        f"{r.page} asked for resources on other hosts (aborted; the book must work offline):"
        "\n  " + "\n  ".join(r.foreign)
    )


def check_math(r: Report) -> None:
    if not r.math:
        return
    assert r.mathjax, f"{r.page}: {r.math} math elements, but MathJax never started"
    assert not r.math_errors, f"{r.page}: MathJax errors:\n  " + "\n  ".join(r.math_errors)
    assert not r.unrendered, (
        f"{r.page}: {len(r.unrendered)} of {r.math} math elements were not rendered by "
        "MathJax:\n  " + "\n  ".join(r.unrendered[:20])
    )


def check_images(r: Report) -> None:
    assert not r.broken_images, (
        f"{r.page}: {len(r.broken_images)} of {r.images} images did not load:\n  " + "\n  ".join(r.broken_images)
    )


def check_widgets(r: Report) -> None:
    assert not r.undrawn_widgets, f"{r.page}: {r.undrawn_widgets} of {r.widgets} stored widget views were not drawn"


def check_boxes(r: Report, notebook: Path) -> None:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    source = collections.Counter(
        m.group(1)
        for cell in cells
        if cell["cell_type"] == "markdown"
        for m in DIRECTIVE.finditer("".join(cell["source"]))
    )
    assert r.boxes == source, (
        f"{r.page}: sphinx-proof boxes by kind {dict(sorted(r.boxes.items()))}, but "
        f"{notebook.name} has the directives {dict(sorted(source.items()))}"
    )


# --- the built book -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=BROWSER, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def visit(browser) -> Iterator[Callable[[str], Report]]:
    """`visit(page)`: the report of the page, visited once for all the tests below."""
    server = _serve(BOOK)
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    reports: dict[str, Report] = {}

    def report(page: str) -> Report:
        if page not in reports:
            reports[page] = _visit(browser, BOOK, origin, page, SCREENSHOTS / Path(page).with_suffix(".png"))
        return reports[page]

    yield report
    server.shutdown()


def test_every_part_of_the_book_is_a_page():
    expected = ["intro.html", "references.html", "genindex.html", "search.html"]
    assert set(expected) <= set(PAGES), f"pages found in {BOOK}: {PAGES}"
    assert len(CHAPTERS) >= 10, f"chapter pages with a notebook in chapters/: {CHAPTERS}"


@pytest.mark.parametrize("page", PAGES)
def test_no_console_or_page_errors(visit, page):
    check_errors(visit(page))


@pytest.mark.parametrize("page", PAGES)
def test_nothing_is_fetched_from_other_hosts(visit, page):
    check_offline(visit(page))


@pytest.mark.parametrize("page", PAGES)
def test_math_is_rendered_by_mathjax(visit, page):
    check_math(visit(page))


@pytest.mark.parametrize("page", PAGES)
def test_every_image_loaded(visit, page):
    check_images(visit(page))


@pytest.mark.parametrize("page", PAGES)
def test_stored_widgets_are_drawn(visit, page):
    check_widgets(visit(page))


@pytest.mark.parametrize("page", PAGES)
def test_full_page_screenshot_saved(visit, page):
    shot = visit(page).screenshot
    assert shot.is_file() and shot.stat().st_size > 0, f"{page}: no screenshot at {shot}"


@pytest.mark.parametrize("page", CHAPTERS)
def test_theorem_boxes_match_the_notebook(visit, page):
    check_boxes(visit(page), (ROOT / page).with_suffix(".ipynb"))


@pytest.mark.parametrize("number", THEORY_CHAPTERS)
def test_theory_chapters_state_theorems(visit, number):
    pages = [page for page in CHAPTERS if Path(page).name.startswith(f"{number}_")]
    assert len(pages) == 1, f"chapter {number}: expected one page, found {pages}"
    boxes = visit(pages[0]).boxes
    assert sum(boxes[kind] for kind in THEOREM_LIKE) >= 1, f"{pages[0]}: no theorem-like box, only {dict(boxes)}"


# --- planted faults: each is reported, with the page's name --------------------------------------------

PLANTED = "chapters/planted.html"
PLANTED_FROM = "chapters/04_convergence.html"
FAULTS = "\n".join(
    [
        r'<p><span class="math notranslate nohighlight">\(\frac{1}\)</span></p>',  # \frac without its 2nd argument
        r'<p><span class="math notranslate nohighlight">\(\plantedmacro x\)</span></p>',  # an undefined macro
        '<img src="../_images/planted-missing.png" alt="planted">',
        '<script>throw new Error("planted fault");</script>',
        '<script src="https://example.org/planted.js"></script>',
    ]
)


@pytest.fixture(scope="module")
def planted(browser, tmp_path_factory) -> Iterator[Report]:
    """A copy of the book (its pages copied, the asset folders linked) with one planted page: a copy of
    chapter 4 with broken TeX, a missing image, a script that throws, a script from another host, and
    its first theorem box demoted to a plain admonition."""
    root = tmp_path_factory.mktemp("planted") / "html"
    shutil.copytree(BOOK, root, ignore=lambda folder, names: SKIP_DIRS & set(names) if Path(folder) == BOOK else [])
    for name in SKIP_DIRS & {p.name for p in BOOK.iterdir()}:
        (root / name).symlink_to(BOOK / name, target_is_directory=True)
    html = (BOOK / PLANTED_FROM).read_text(encoding="utf-8")
    assert 'class="proof theorem admonition"' in html and "</body>" in html, f"{PLANTED_FROM} changed its form"
    html = html.replace('class="proof theorem admonition"', 'class="admonition"', 1)
    (root / PLANTED).write_text(html.replace("</body>", FAULTS + "\n</body>"), encoding="utf-8")
    server = _serve(root)
    try:
        yield _visit(
            browser, root, f"http://127.0.0.1:{server.server_address[1]}", PLANTED, root.parent / "planted.png"
        )
    finally:
        server.shutdown()


def _fails(check: Callable[..., None], *args) -> str:
    with pytest.raises(AssertionError) as failure:
        check(*args)
    message = str(failure.value)
    assert message.startswith(PLANTED), f"the failure does not name the page first:\n{message}"
    return message


def test_planted_broken_tex_is_reported(planted):
    assert "Missing argument for \\frac" in _fails(check_math, planted)


def test_planted_undefined_macro_is_reported(planted):
    assert "undefined macro in \\plantedmacro" in _fails(check_math, planted)


def test_planted_missing_image_is_reported(planted):
    assert "planted-missing.png" in _fails(check_images, planted)


def test_planted_throwing_script_is_reported(planted):
    assert "planted fault" in _fails(check_errors, planted)


def test_planted_request_to_another_host_is_reported(planted):
    assert "https://example.org/planted.js" in _fails(check_offline, planted)


def test_planted_missing_theorem_box_is_reported(planted):
    assert "'theorem'" in _fails(check_boxes, planted, (ROOT / PLANTED_FROM).with_suffix(".ipynb"))
