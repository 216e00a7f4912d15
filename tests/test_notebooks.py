"""Static checks of the committed chapters: what nbval and the book rely on, named per notebook and cell.

nbval re-runs each notebook and compares outputs; the book renders the stored outputs. Both silently
assume what is checked here: every chapter is in the table of contents, every code cell has a stored
execution, no stored output is an error or a stderr stream, figures are PNG (not SVG), and the first code
cell is the Colab install cell that nbval and the book skip.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
COLAB_TAGS = {"nbval-skip", "remove-cell"}


def _code_cells(path: Path) -> list[tuple[int, dict]]:
    nb = json.loads(path.read_text())
    return [(i, c) for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code" and "".join(c["source"]).strip()]


def test_there_are_chapters():
    assert CHAPTERS, "no notebooks under chapters/"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_listed_in_toc(path):
    toc = (ROOT / "_toc.yml").read_text()
    assert f"chapters/{path.stem}" in toc, f"{path.name} is not listed in _toc.yml, so the book does not show it"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_first_code_cell_is_the_colab_install_cell(path):
    index, first = _code_cells(path)[0]
    src = "".join(first["source"])
    tags = set(first.get("metadata", {}).get("tags", []))
    where = f"{path.name}, cell {index}"
    assert COLAB_TAGS <= tags, (
        f"{where}: the Colab install cell must be tagged {sorted(COLAB_TAGS)}; has {sorted(tags)}"
    )
    assert '"google.colab" in sys.modules' in src, f"{where}: the install must run only in Colab"
    assert 'find_spec("lipnb") is None' in src, f"{where}: the install must run only when lipnb is missing"
    assert "pip" in src and "lipnb-book" in src, f"{where}: the cell must install lipnb from the repository"
    second_index, second = _code_cells(path)[1]
    assert re.search(r"^import lipnb|^from lipnb", "".join(second["source"]), re.M), (
        f"{path.name}, cell {second_index}: the cell after the install cell must import lipnb"
    )


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_code_cell_has_stored_outputs_and_no_errors(path):
    for index, cell in _code_cells(path):
        where = f"{path.name}, cell {index}"
        tags = set(cell.get("metadata", {}).get("tags", []))
        if COLAB_TAGS <= tags:
            continue
        assert cell.get("execution_count") is not None, f"{where}: never executed; run `make execute`"
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", f"{where}: the stored output is an error ({out.get('ename')})"
            assert not (out["output_type"] == "stream" and out.get("name") == "stderr"), (
                f"{where}: stderr in a stored output (a warning or progress bar) fails the book build"
            )
            assert "image/svg+xml" not in out.get("data", {}), f"{where}: SVG figure; nbval compares SVG text"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_execution_counts_are_in_order(path):
    """A notebook saved from an editor after out-of-order runs would not match a clean re-execution."""
    counts = [c["execution_count"] for _, c in _code_cells(path) if c.get("execution_count") is not None]
    assert counts == sorted(counts) and len(set(counts)) == len(counts), (
        f"{path.name}: execution counts {counts} are out of order; re-execute it with `make execute`"
    )
