"""Every number a chapter's prose states is one the chapter computes.

The prose of a chapter quotes its results ("the product bound grew from 4.4 to 65"); those numbers are
typed, the outputs next to them are computed. After `make execute` (a change to lipnb, a new machine)
the outputs can move while the prose stays, and the page then contradicts itself. This test reads every
markdown cell, leaves out mathematics, inline code, roles and links, and requires each decimal number
(and each integer of four or more digits) to appear in the same chapter's stored text outputs or in its
code, as written or as a printed number rounded to the digits the prose gives. A number the prose
derives by hand must therefore be printed by the chapter too.

The few numbers that are definitions rather than results are listed in ``CONSTANTS`` with the reason.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))

# Numbers that prose may state without the chapter printing them: mathematical constants and dates.
CONSTANTS = {
    "6.283": "2π, the Lipschitz constant of the target sin(2πx)",
    "6.28": "2π",
    "6.3": "2π, rounded",
    "1.1289": "sup |GELU'|, stated in the activations table of chapter 2",
    "0.1700": "the negative end of GELU's slope range, the activations table",
}
YEAR = re.compile(r"^(19|20)\d\d$")

_STRIP = [
    re.compile(r"\$\$.*?\$\$", re.S),  # display math
    re.compile(r"(?<!\\)\$[^$\n]+?(?<!\\)\$"),  # inline math
    re.compile(r"```.*?```", re.S),  # fenced blocks (directives keep their prose, options go below)
    re.compile(r"`[^`\n]*`"),  # inline code and the argument of roles such as {prf:ref}`…`
    re.compile(r"\]\([^)]*\)"),  # link targets
    re.compile(r"^:[a-z-]+:.*$", re.M),  # directive options (:label: …)
    re.compile(r"<[^>\n]+>"),  # inline HTML tags
]
_NUMBER = re.compile(r"(?<![\w.])(\d+\.\d+|\d{4,})(?![\w]|\.\d)")
# "Lemma 4.1", "Theorem 5.1", "§7": names of results and sections (the book's numbering), not results.
_NAMED = re.compile(
    r"(?:Lemmas?|Theorems?|Thms?|Propositions?|Props?|Corollar(?:y|ies)|Cors?|Claims?|Sections?|"
    r"Chapters?|Figures?|Tables?|Eqs?|§)\.?\s*(?:\d+\.\d+|\d+)"
    r"(?:\s*(?:/|and|,|–|-)\s*(?:\d+\.\d+|\d+))*"
)


def _prose(cell_source: str) -> str:
    text = cell_source
    # Directive fences (```{prf:theorem} … ```) hold prose: keep their bodies, drop only the fence lines.
    text = re.sub(r"^```\{[^}]+\}.*$|^```\s*$|^:::.*$", "", text, flags=re.M)
    for pattern in _STRIP:
        text = pattern.sub(" ", text)
    return _NAMED.sub(" ", text)


def _haystack(nb: dict) -> str:
    parts = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        parts.append("".join(cell["source"]))
        for out in cell.get("outputs", []):
            if "text" in out:
                parts.append("".join(out["text"]))
            for mime, value in out.get("data", {}).items():
                if mime in ("text/plain", "text/html", "text/markdown"):
                    parts.append("".join(value) if isinstance(value, list) else value)
    return "\n".join(parts)


def _numbers_in_prose(nb: dict) -> list[tuple[int, str]]:
    found = []
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "markdown":
            found.extend((index, n) for n in _NUMBER.findall(_prose("".join(cell["source"]))))
    return found


_ANY_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def _computed(number: str, haystack: str, values: list[float]) -> bool:
    """The prose number is in the outputs or code as written, or is a printed number rounded to its digits."""
    if number in haystack:
        return True
    decimals = len(number.split(".")[1]) if "." in number else 0
    x, half = float(number), 0.5 * 10.0**-decimals * (1 + 1e-9)
    return any(abs(abs(v) - x) <= half for v in values)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_number_in_the_prose_is_computed_by_the_chapter(path):
    nb = json.loads(path.read_text())
    haystack = _haystack(nb)
    values = [float(v) for v in _ANY_NUMBER.findall(haystack)]
    unknown = [
        (i, n)
        for i, n in _numbers_in_prose(nb)
        if n not in CONSTANTS and not YEAR.match(n) and not _computed(n, haystack, values)
    ]
    assert not unknown, (
        f"{path.name}: numbers in the prose that no output or code of the chapter contains "
        f"(stale after a re-execution, or derived by hand; print them or update the text):\n"
        + "\n".join(f"  markdown cell {i}: {n}" for i, n in unknown)
    )


def test_the_check_sees_stale_numbers():
    """The guard itself: a number that the outputs do not contain is reported, one that they do is not."""
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "source": ["print(x)\n"],
                "outputs": [{"output_type": "stream", "text": ["Lip = 5.442\n"]}],
            },
            {
                "cell_type": "markdown",
                "source": ["The slope is 5.442, not 5.443; see $x = 1.234$, `0.999` and Thm 5.1 / 5.2, Lemma 4.1."],
            },
        ]
    }
    numbers = [n for _, n in _numbers_in_prose(nb)]
    assert numbers == ["5.442", "5.443"]
    haystack = _haystack(nb)
    values = [float(v) for v in _ANY_NUMBER.findall(haystack)]
    assert _computed("5.442", haystack, values) and _computed("5.44", haystack, values)  # as printed, rounded
    assert not _computed("5.443", haystack, values) and not _computed("5.45", haystack, values)
