"""Plant each kind of fault in a temporary copy and prove that the test command catches it, by name.

A guard that never fires guards nothing. Each test copies a real chapter (or a one-page book) to a
temporary folder, plants one fault, runs the same tool `make test` / `make book` run (strict nbval, or
the warnings-as-errors book build) in a subprocess, and asserts that it fails with a message naming the
notebook and the cell (or the page).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "chapters" / "00_quickstart.ipynb"
BIN = Path(sys.executable).parent
ENV = {**os.environ, "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0"}


def _nbval(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", "--nbval-current-env", "-p", "no:cacheprovider", "-q", str(path)],
        cwd=path.parent,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _planted(tmp_path: Path, plant) -> tuple[Path, int]:
    """A copy of the chapter's head (up to its first printed table, to keep the test fast), planted."""
    nb = json.loads(SOURCE.read_text())
    nb["cells"] = nb["cells"][: _printing_cell(nb) + 1]
    index = plant(nb)
    out = tmp_path / "planted_chapter.ipynb"
    out.write_text(json.dumps(nb))
    return out, index


def _printing_cell(nb: dict) -> int:
    """The index of the first code cell whose stored output is printed text (a table of numbers)."""
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code" and any(o.get("output_type") == "stream" for o in cell.get("outputs", [])):
            return i
    raise AssertionError("the chapter prints nothing")


def _code_index(nb: dict, i: int) -> int:
    """nbval names cells by their position among the code cells ("Cell 2")."""
    return sum(c["cell_type"] == "code" for c in nb["cells"][:i])


def _assert_named(result: subprocess.CompletedProcess, index: int) -> None:
    text = result.stdout + result.stderr
    assert result.returncode != 0, f"the planted fault was not caught:\n{text[-2000:]}"
    assert "planted_chapter.ipynb" in text, "the failure does not name the notebook"
    assert f"Cell {index}" in text or f"cell {index}" in text, f"the failure does not name cell {index}"


def test_a_changed_printed_number_fails_nbval(tmp_path):
    def plant(nb):
        i = _printing_cell(nb)
        for out in nb["cells"][i]["outputs"]:
            if out.get("output_type") == "stream":
                out["text"] = (
                    ["R_x = 0.12345\n" if "R_x" in line else line for line in out["text"]]
                    if isinstance(out["text"], list)
                    else out["text"].replace("R_x = ", "R_x = 1")
                )
        return _code_index(nb, i)

    path, index = _planted(tmp_path, plant)
    _assert_named(_nbval(path), index)


def test_a_cell_that_raises_fails_nbval(tmp_path):
    def plant(nb):
        i = _printing_cell(nb)
        nb["cells"][i]["source"] = ["raise RuntimeError('planted fault')\n"]
        return _code_index(nb, i)

    path, index = _planted(tmp_path, plant)
    result = _nbval(path)
    _assert_named(result, index)
    assert "planted fault" in result.stdout + result.stderr


def test_a_missing_output_fails_nbval(tmp_path):
    def plant(nb):
        i = _printing_cell(nb)
        nb["cells"][i]["outputs"] = []
        return _code_index(nb, i)

    path, index = _planted(tmp_path, plant)
    _assert_named(_nbval(path), index)


def test_the_unplanted_copy_passes(tmp_path):
    """The control: the same copy without a fault passes, so the failures above are the faults' doing."""
    path, _ = _planted(tmp_path, lambda nb: 0)
    result = _nbval(path)
    assert result.returncode == 0, (result.stdout + result.stderr)[-2000:]


@pytest.mark.skipif(shutil.which("jupyter-book", path=str(BIN)) is None, reason="jupyter-book is not installed")
def test_a_broken_cross_reference_fails_the_book_build(tmp_path):
    for name in ("_config.yml", "references.bib"):
        shutil.copy(ROOT / name, tmp_path / name)
    for name in ("_ext", "_assets"):  # the local extension and the static files that _config.yml names
        shutil.copytree(ROOT / name, tmp_path / name)
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: page\n")
    (tmp_path / "intro.md").write_text("# Intro\n\nA page.\n")
    (tmp_path / "page.md").write_text("# Page\n\nSee {prf:ref}`thm-that-does-not-exist`.\n")
    result = subprocess.run(
        [str(BIN / "jupyter-book"), "build", str(tmp_path), "--all", "--warningiserror", "--keep-going"],
        capture_output=True,
        text=True,
        timeout=600,
        env=ENV,
    )
    text = result.stdout + result.stderr
    assert result.returncode != 0, text[-2000:]
    assert "page" in text and "thm-that-does-not-exist" in text, text[-2000:]
