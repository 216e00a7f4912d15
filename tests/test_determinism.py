"""Re-execute every chapter twice and diff the text outputs (``make check-determinism``).

nbval compares one fresh run with the committed outputs; this compares two fresh runs with each other,
so a chapter that prints something volatile (a timing, an address, an unseeded draw) is caught even
right after `make execute` stored it. Runs only with LIPNB_DETERMINISM=1 (it executes every chapter
twice, a few minutes on 2 cores).

Sanitization, and why it hides no real difference: images (PNG) are not compared — their pixels are
a rendering of numbers that are printed in the same chapter and compared there; cells tagged
``nbval-ignore-output`` (the live widget and the plotly grid, whose embedded ids are random) are not
compared — their numbers are printed by ordinary cells next to them; a cell's stdout is compared as one text
(a print may reach the notebook in several chunks, split differently from run to run); the Colab cell (``nbval-skip``)
does nothing outside Colab. Every other text output (stdout, text/plain, text/html) must be identical.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
SKIP_TAGS = {"nbval-ignore-output", "nbval-skip"}
pytestmark = pytest.mark.skipif(
    os.environ.get("LIPNB_DETERMINISM") != "1",
    reason="set LIPNB_DETERMINISM=1 (make check-determinism) to re-execute twice",
)


def _texts(nb: nbformat.NotebookNode) -> list[tuple[int, str]]:
    out = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or SKIP_TAGS & set(cell.metadata.get("tags", [])):
            continue
        streams: dict[str, str] = {}
        for o in cell.outputs:
            if o.output_type == "stream":  # a print may arrive in several chunks: compare the whole stream
                streams[o.name] = streams.get(o.name, "") + o.text
            elif o.output_type in ("execute_result", "display_data"):
                for mime in ("text/plain", "text/html", "text/markdown"):
                    if mime in o.get("data", {}):
                        out.append((i, f"{mime}: {o.data[mime]}"))
            elif o.output_type == "error":
                out.append((i, f"error: {o.ename}: {o.evalue}"))
        out.extend((i, f"{name}: {text}") for name, text in sorted(streams.items()))
    return out


def _run(path: Path) -> list[tuple[int, str]]:
    nb = nbformat.read(path, as_version=4)
    env = {"MPLBACKEND": "Agg", "PYTHONHASHSEED": "0"}
    os.environ.update(env)
    NotebookClient(
        nb, timeout=1200, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    return _texts(nb)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_two_runs_print_the_same(path):
    first, second = _run(path), _run(path)
    assert len(first) == len(second), f"{path.name}: the two runs produced different numbers of outputs"
    for (i, a), (j, b) in zip(first, second):
        assert (i, a) == (j, b), f"{path.name}, cell {i}: the two runs differ:\n--- first\n{a}\n--- second\n{b}"
