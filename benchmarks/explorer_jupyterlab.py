"""Screenshot of the live explorer of chapters/08_interactive in JupyterLab, before and after a change.

Drives a real JupyterLab (not part of the project's environment: ``pip install jupyterlab==4.6.6`` into a
scratch environment that also has the lock file's packages and lipnb) in headless Chromium through
Playwright: opens a copy of the chapter, runs its setup cell and the explorer cell, waits for the figure,
types τ = 400 into the decay-start slider's readout as a reader can, and waits for the new figure. It
prints the status line before and after, the time from the change to the new figure as the browser sees
it (the explorer's 0.25 s debounce included), any page error, and writes the screenshots.

Usage, with JupyterLab serving the repository root on port 8899 without a token::

    jupyter lab --no-browser --port 8899 --ServerApp.token='' --ServerApp.root_dir=. &
    python benchmarks/explorer_jupyterlab.py --out benchmarks

The copy lives under artifacts/ (ignored by git), so that JupyterLab's autosave never rewrites the chapter.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
COPY = Path("artifacts/jupyterlab/08_interactive.ipynb")
SETUP_CELL, EXPLORER_CELL = 2, 4  # cell indices in chapters/08_interactive.ipynb
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--no-first-run"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default="http://127.0.0.1:8899")
    ap.add_argument("--out", type=Path, default=ROOT / "artifacts")
    ap.add_argument("--browser", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = ap.parse_args()
    (ROOT / COPY).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "chapters" / "08_interactive.ipynb", ROOT / COPY)
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.browser, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{args.url}/lab/tree/{COPY.as_posix()}")
        page.wait_for_function("() => document.querySelectorAll('.jp-Notebook .jp-Cell').length > 10",
                               timeout=60_000)
        time.sleep(2)
        for _ in range(10):  # JupyterLab's "get notified about news?" toast would cover the figure
            no = page.locator(".jp-toast-button", has_text="No")
            if no.count():
                no.first.click()
                break
            time.sleep(0.5)
        cells = page.locator(".jp-Notebook .jp-Cell")
        for index in (SETUP_CELL, EXPLORER_CELL):
            cells.nth(index).scroll_into_view_if_needed()
            cells.nth(index).locator(".jp-InputArea-editor").click()
            page.keyboard.press("Control+Enter")
            time.sleep(1)
        cell = cells.nth(EXPLORER_CELL)
        image = cell.locator("img.widget-image")
        image.wait_for(timeout=120_000)
        page.wait_for_function("(el) => el.complete && el.naturalWidth > 0", arg=image.element_handle(),
                               timeout=120_000)
        status = cell.locator(".widget-html-content").first
        print("before:", status.inner_text())
        cell.screenshot(path=str(args.out / "explorer_jupyterlab_before.png"))
        src = image.get_attribute("src")
        readout = cell.locator(".widget-slider", has_text="τ (decay start)").locator(".widget-readout")
        readout.click()
        page.keyboard.press("Control+a")
        page.keyboard.type("400")
        t0 = time.perf_counter()
        page.keyboard.press("Enter")
        page.wait_for_function("([el, s]) => el.src !== s", arg=[image.element_handle(), src], timeout=60_000)
        print(f"new figure {time.perf_counter() - t0:.2f} s after the change (0.25 s debounce included)")
        time.sleep(0.5)
        print("after: ", status.inner_text())
        cell.screenshot(path=str(args.out / "explorer_jupyterlab.png"))
        browser.close()
    if errors:
        sys.exit(f"page errors: {errors}")


if __name__ == "__main__":
    main()
