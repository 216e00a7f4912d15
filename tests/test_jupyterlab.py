"""The live explorer of chapter 8 in a real JupyterLab, driven in headless Chromium as a reader uses it.

The test starts the environment's own JupyterLab (``python -m jupyterlab`` of the interpreter running
pytest, so the kernel is the environment's) on a free port of 127.0.0.1 with a random token, serving a
temporary folder that holds a copy of ``chapters/08_interactive.ipynb`` with its outputs and stored widget
state cleared (JupyterLab's autosave never touches the chapter, and a figure on the page can only come from
this run). In Chromium it opens the copy, runs the setup cell and the explorer cell, waits for the figure,
types a new decay start τ into the slider's readout and asserts that the figure, the status line and the
readout all follow. The server, the kernel and the browser are stopped whatever happens.

Everything runs against one deadline (``DEADLINE_S``), so a hang fails the test in bounded time. A screenshot
of the explorer cell after the change goes to $LIPNB_SCREENSHOTS (default: artifacts/screenshots/).
Chromium is the system's (Debian's chromium); no browser is ever downloaded. Skips when Chromium,
playwright or JupyterLab is absent.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = ROOT / "chapters" / "08_interactive.ipynb"
SCREENSHOTS = Path(os.environ.get("LIPNB_SCREENSHOTS", ROOT / "artifacts" / "screenshots")).resolve()
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
DEADLINE_S = 150  # the whole test, server start to the new figure
NEW_TAU = "400"  # the chapter's default τ is 6000

sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="the playwright package is not installed (it drives the system's Chromium; no browser download)",
)
pytest.importorskip("jupyterlab", reason="JupyterLab is not installed (it is in requirements-lock.txt)")
BROWSER = shutil.which("chromium")
if BROWSER is None:
    pytest.skip(
        "chromium not installed: apt-get install chromium (playwright never downloads a browser)",
        allow_module_level=True,
    )


def explorer_cells(notebook: dict) -> tuple[int, int]:
    """Indices of the cell that imports the explorer and of the cell that shows it."""
    sources = ["".join(cell["source"]) for cell in notebook["cells"]]
    setup = next(i for i, s in enumerate(sources) if "import Explorer" in s and "setup()" in s)
    explorer = next(i for i, s in enumerate(sources) if s.rstrip().endswith(".widget()"))
    assert setup < explorer, (setup, explorer)
    return setup, explorer


def cleared(notebook: dict) -> dict:
    """The notebook without outputs, execution counts or stored widget state."""
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    notebook["metadata"].pop("widgets", None)
    return notebook


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def ms(self, at_most: float) -> float:
        """Milliseconds for the next wait: at most `at_most` seconds, and never past the deadline."""
        left = self.end - time.monotonic()
        if left <= 0:
            pytest.fail(f"the test ran past its {DEADLINE_S} s deadline")
        return 1000 * min(at_most, left)


@pytest.fixture
def deadline() -> Deadline:
    return Deadline(DEADLINE_S)


@pytest.fixture
def lab(tmp_path: Path, deadline: Deadline) -> Iterator[str]:
    """A JupyterLab serving a copy of the chapter in tmp_path/root; yields the copy's URL, token included."""
    root = tmp_path / "root"
    root.mkdir()
    notebook = cleared(json.loads(CHAPTER.read_text(encoding="utf-8")))
    (root / CHAPTER.name).write_text(json.dumps(notebook, indent=1, ensure_ascii=False), encoding="utf-8")
    # Settings of this run only (nothing read from or written to ~/.jupyter): no news toast over the
    # figure, every cell attached to the page (no windowing), workspaces kept in the temporary folder.
    settings = tmp_path / "settings"
    for name, value in {
        "apputils-extension/notification": {"fetchNews": "false"},
        "notebook-extension/tracker": {"windowingMode": "none"},
    }.items():
        path = settings / "@jupyterlab" / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value), encoding="utf-8")
    env = dict(
        os.environ,
        JUPYTER_PREFER_ENV_PATH="1",
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        JUPYTER_DATA_DIR=str(tmp_path / "data"),
        IPYTHONDIR=str(tmp_path / "ipython"),
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"),
    )
    port, token = free_port(), secrets.token_hex(16)
    log = tmp_path / "jupyterlab.log"
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        "--allow-root",
        "--ServerApp.terminals_enabled=False",
        "--LabApp.extension_manager=readonly",
        f"--IdentityProvider.token={token}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    with log.open("wb") as out:
        server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=root)
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited with {server.returncode}:\n{log.read_text(errors='replace')}")
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            deadline.ms(60)  # fails once the deadline has passed
            time.sleep(0.25)
        yield f"{base}/lab/tree/{CHAPTER.name}?token={token}"
    finally:
        # Printed, so shown with a failure: what the server said.
        print("--- JupyterLab's log (last 60 lines) ---", *log.read_text(errors="replace").splitlines()[-60:], sep="\n")
        # Shut down through the API (stops the kernel too), then make sure the process is gone.
        try:
            request = urllib.request.Request(f"{base}/api/shutdown?token={token}", method="POST")
            urllib.request.urlopen(request, timeout=5).close()
        except OSError:
            pass
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


# Resolves to "image" once the explorer's figure has loaded, or to the text of an error output of the cells
# run, so that a failing import fails the test at once with its traceback instead of at the deadline.
_FIGURE_OR_ERROR = """([setup, explorer]) => {
  const cells = document.querySelectorAll('.jp-Notebook .jp-Cell');
  for (const index of [setup, explorer]) {
    const error = cells[index].querySelector('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]');
    if (error && /Error|Traceback/.test(error.textContent)) return error.textContent;
  }
  const image = cells[explorer].querySelector('img.widget-image');
  return image && image.complete && image.naturalWidth > 0 && image.src.startsWith('blob:') ? 'image' : null;
}"""


# Resolves to "ready" once the notebook's kernel is up and idle, or to "dialog" while JupyterLab asks which
# kernel to start (it does when the page asked the server for the kernel specs and got no answer in time).
_KERNEL_READY = """() => {
  if (document.querySelector('.jp-Dialog')) return 'dialog';
  const name = document.querySelector('.jp-NotebookPanel-toolbar .jp-Toolbar-kernelName');
  const state = document.querySelector('.jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator');
  return name && /Python/.test(name.textContent) && state && state.dataset.status === 'idle' ? 'ready' : null;
}"""


def wait_for_kernel(page, deadline: Deadline) -> None:
    """Wait until the notebook's kernel is idle. A "Select Kernel" dialog is answered with its default, the
    notebook's python3, as a reader would; any other dialog fails the test with its text."""
    while page.wait_for_function(_KERNEL_READY, timeout=deadline.ms(60)).json_value() == "dialog":
        dialog = page.locator(".jp-Dialog").first
        text = dialog.inner_text()
        if "Select Kernel" not in text:
            pytest.fail(f"JupyterLab opened a dialog: {text!r}")
        dialog.locator(".jp-mod-accept").click(timeout=deadline.ms(10))
        dialog.wait_for(state="detached", timeout=deadline.ms(10))


def run_cell(page, cell, deadline: Deadline) -> None:
    """Run `cell` as a reader does (click into it, Ctrl+Enter) and wait until the kernel has taken it: its
    prompt shows [*] or a number. A key press that JupyterLab took before the editor was ready is retried."""
    prompt = cell.locator(".jp-InputPrompt")
    for _ in range(5):
        cell.scroll_into_view_if_needed(timeout=deadline.ms(10))
        cell.locator(".jp-InputArea-editor").click(timeout=deadline.ms(10))
        page.keyboard.press("Control+Enter")
        try:
            page.wait_for_function(
                "(el) => /\\[(\\*|\\d+)\\]/.test(el.textContent)", arg=prompt.element_handle(), timeout=deadline.ms(5)
            )
            return
        except sync_api.TimeoutError:
            continue
    pytest.fail(f"JupyterLab never ran the cell (its prompt: {prompt.inner_text()!r})")


def test_explorer_redraws_in_jupyterlab(lab: str, deadline: Deadline) -> None:
    setup, explorer = explorer_cells(json.loads(CHAPTER.read_text(encoding="utf-8")))
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=BROWSER, args=FLAGS, timeout=deadline.ms(30))
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(f"uncaught {error.name}: {error.message}"))
            # Printed, so shown with a failure: what the page said.
            page.on("console", lambda message: print(f"console {message.type}: {message.text}"))
            page.goto(lab, timeout=deadline.ms(60))
            page.wait_for_function(
                f"() => document.querySelectorAll('.jp-Notebook .jp-Cell').length > {explorer}", timeout=deadline.ms(60)
            )
            wait_for_kernel(page, deadline)
            cells = page.locator(".jp-Notebook .jp-Cell")
            for index in (setup, explorer):
                run_cell(page, cells.nth(index), deadline)
            found = page.wait_for_function(_FIGURE_OR_ERROR, arg=[setup, explorer], timeout=deadline.ms(90))
            assert found.json_value() == "image", f"a cell failed in JupyterLab:\n{found.json_value()}"

            cell = cells.nth(explorer)
            image = cell.locator("img.widget-image")
            status = cell.locator(".widget-html-content").first
            page.wait_for_function(
                "(el) => el.textContent.includes('certified')", arg=status.element_handle(), timeout=deadline.ms(30)
            )
            before_src, before_status = image.get_attribute("src"), status.inner_text()
            slider = cell.locator(".widget-slider", has_text="τ (decay start)")
            readout = slider.locator(".widget-readout")
            before_tau = readout.inner_text()
            assert before_tau != NEW_TAU, before_tau
            readout.click(timeout=deadline.ms(10))
            page.keyboard.press("Control+a")
            page.keyboard.type(NEW_TAU)
            page.keyboard.press("Enter")
            # A new figure, and a status line that is neither the old one nor "retraining…".
            page.wait_for_function(
                "([el, src]) => el.src !== src && el.complete && el.naturalWidth > 0",
                arg=[image.element_handle(), before_src],
                timeout=deadline.ms(60),
            )
            page.wait_for_function(
                "([el, old]) => el.innerText !== old && el.innerText.includes('certified')",
                arg=[status.element_handle(), before_status],
                timeout=deadline.ms(30),
            )
            after_status, after_tau = status.inner_text(), readout.inner_text()
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            cell.screenshot(path=str(SCREENSHOTS / "jupyterlab_explorer.png"), timeout=deadline.ms(20))
        finally:
            browser.close()
    assert after_tau == NEW_TAU, (before_tau, after_tau)
    assert after_status != before_status, (before_status, after_status)
    assert not errors, errors
