"""The static interactive figure of chapters/08_interactive works in the built HTML page, without a kernel.

A headless Chromium opens the built page (served on 127.0.0.1) inside a small harness page of the same
origin, waits for the plotly figure, presses the mouse on the last step of the decay-rate slider, and
reports the plotted loss curve before and after; the test asserts that the data and the title changed.
A second harness opens the page at three widths (800, 1200 and 1600 px) and asserts that the figure's
title, its legend, the panels' titles and the panels do not overlap. No Python browser driver is needed:
each harness writes its result into its own DOM, which Chromium prints with ``--dump-dom``.

Skips cleanly when Chromium or the built page is absent. The page is looked up in ``$LIPNB_BOOK_HTML``
(default: ``_build/html`` of the repository, as ``make book`` writes it).
"""

from __future__ import annotations

import functools
import html
import http.server
import json
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = "chapters/08_interactive.html"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--mute-audio",
)

HARNESS = """<!DOCTYPE html><html><body><pre id="result">pending</pre>
<iframe id="f" src="/%s" width="1200" height="2400"></iframe>
<script>
function report(o) { document.getElementById('result').textContent = JSON.stringify(o); }
var f = document.getElementById('f');
f.onload = function () {
  var w = f.contentWindow, d = f.contentDocument, t0 = Date.now();
  (function poll() {
    var gd = d.getElementById('lipnb-decay-grid');
    var sliders = d.querySelectorAll('#lipnb-decay-grid .slider-group');
    if (!gd || !gd.data || sliders.length < 2) {
      if (Date.now() - t0 < 30000) { setTimeout(poll, 100); return; }
      report({error: 'no plotly figure', plotly: typeof w.Plotly}); return;
    }
    var before = JSON.stringify(gd.data[3].y), title0 = gd.layout.title.text;
    var active0 = gd.layout.sliders.map(function (s) { return s.active; });
    var rail = sliders[1].querySelector('.slider-rail-touch-rect');
    var box = rail.getBoundingClientRect();
    var opts = {bubbles: true, cancelable: true, view: w, button: 0,
                clientX: box.right - 2, clientY: box.top + box.height / 2};
    rail.dispatchEvent(new w.MouseEvent('mousedown', opts));
    w.document.dispatchEvent(new w.MouseEvent('mouseup', opts));
    setTimeout(function () {
      report({changed: JSON.stringify(gd.data[3].y) !== before, title0: title0, title1: gd.layout.title.text,
              active0: active0, active1: gd.layout.sliders.map(function (s) { return s.active; }),
              n_steps: gd.layout.sliders[1].steps.length});
    }, 1500);
  })();
};
</script></body></html>"""


# The page at three widths; for each, the boxes of the title, the legend, the panels' titles and the panels.
WIDTHS = (800, 1200, 1600)
LAYOUT = """<!DOCTYPE html><html><body><pre id="result">pending</pre>
__FRAMES__
<script>
function box(e) { var r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }
var out = {}, frames = document.querySelectorAll('iframe'), t0 = Date.now();
function report() { document.getElementById('result').textContent = JSON.stringify(out); }
(function poll() {
  frames.forEach(function (f) {
    var d = f.contentDocument, gd = d && d.getElementById('lipnb-decay-grid');
    if (out[f.width] || !gd || !gd.data || !gd.querySelector('.gtitle')) return;
    out[f.width] = {figure: box(gd), title: box(gd.querySelector('.gtitle')),
                    legend: box(gd.querySelector('.legend .bg')),
                    panel_titles: Array.from(gd.querySelectorAll('.annotation')).map(box),
                    panels: Array.from(gd.querySelectorAll('.draglayer .nsewdrag')).map(box)};
  });
  if (Object.keys(out).length < frames.length && Date.now() - t0 < 30000) { setTimeout(poll, 100); return; }
  report();
})();
</script></body></html>""".replace(
    "__FRAMES__", "".join(f'<iframe src="/{PAGE}" width="{w}" height="1600"></iframe>' for w in WIDTHS)
)


def _browser() -> str | None:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def _serve(directory: Path) -> tuple[http.server.ThreadingHTTPServer, int]:
    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            if self.path in ("/__harness.html", "/__layout.html"):
                body = (HARNESS % PAGE if self.path == "/__harness.html" else LAYOUT).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            super().do_GET()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def _run_harness(harness: str, tmp_path: Path) -> dict:
    """Open ``harness`` of the built book in headless Chromium; the JSON it wrote into its result element."""
    browser = _browser()
    if browser is None:
        pytest.skip("no Chromium found (apt-get install chromium)")
    book = Path(os.environ.get("LIPNB_BOOK_HTML", ROOT / "_build" / "html"))
    if not (book / PAGE).is_file():
        pytest.skip(f"the built page {book / PAGE} is absent (build the book first)")
    server, port = _serve(book)
    try:
        out = subprocess.run(
            [
                browser,
                *FLAGS,
                f"--user-data-dir={tmp_path / 'profile'}",
                "--virtual-time-budget=60000",
                "--dump-dom",
                f"http://127.0.0.1:{port}/{harness}",
            ],
            capture_output=True,
            text=True,
            timeout=180,
        )
    finally:
        server.shutdown()
    found = re.search(r'<pre id="result">(.*?)</pre>', out.stdout, re.S)
    assert found, f"no result from the browser; stderr: {out.stderr[-2000:]}"
    return json.loads(html.unescape(found.group(1)))


def test_slider_changes_the_plotted_data(tmp_path: Path) -> None:
    result = _run_harness("__harness.html", tmp_path)
    assert "error" not in result, result
    assert result["active1"][1] == result["n_steps"] - 1 != result["active0"][1], result
    assert result["changed"], result
    assert result["title1"] != result["title0"], result


def _overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_title_legend_and_panels_do_not_overlap(tmp_path: Path) -> None:
    result = _run_harness("__layout.html", tmp_path)
    assert sorted(result) == sorted(str(w) for w in WIDTHS), result
    for width, boxes in result.items():
        title, legend, figure = boxes["title"], boxes["legend"], boxes["figure"]
        assert len(boxes["panel_titles"]) == 4 and len(boxes["panels"]) == 4, (width, boxes)
        # the title lies inside the figure (not cut at its top or right edge) and above the legend
        assert figure[0] <= title[0] and figure[1] <= title[1] and title[2] <= figure[2], (width, boxes)
        assert not _overlap(title, legend), (width, "title over legend", boxes)
        for other in boxes["panel_titles"] + boxes["panels"]:
            assert not _overlap(legend, other), (width, "legend over a panel", boxes)
            assert not _overlap(title, other), (width, "title over a panel", boxes)
