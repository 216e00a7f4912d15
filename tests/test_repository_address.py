"""One source for the repository's public address: ``repository.url`` (and ``repository.branch``) in _config.yml.

The address is also written in the README's Binder and Colab badges, in each chapter's Colab install cell
(``pip install git+https://github.com/OWNER/NAME``), and wherever else a file below links to the repository.
Every GitHub address in those files (github.com/OWNER/NAME, OWNER.github.io/NAME, raw.githubusercontent.com,
Binder's /v2/gh/OWNER/NAME/BRANCH and Colab's /github/OWNER/NAME/blob/BRANCH) must name the repository of
_config.yml, and the branch where it names one, unless it is another project's, listed in OTHER_PROJECTS.

A fork changes _config.yml's repository.url (and branch) and runs `make test`: this test lists every place
that still names another address, with file and line (for a notebook: cell and line in the cell).

Notebook outputs are not checked: they are generated, and hold other projects' addresses (plotly.js names its
sources). Neither is _assets/ (vendored scripts).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "_config.yml"
# The files that may name the repository (notebooks: their cells' sources).
CHECKED = [
    "README.md",
    "intro.md",
    "_config.yml",
    "requirements.txt",
    "pyproject.toml",
    ".github/workflows/*.yml",
    "chapters/*.ipynb",
]
# github.com/OWNER/NAME of other projects that the checked files may link to, lower case.
OTHER_PROJECTS: set[str] = set()

_NAME = r"[A-Za-z0-9_.-]+"
# Each pattern captures owner, repo and, where the address names one, branch.
PATTERNS = {
    "GitHub": re.compile(
        rf"(?<![\w.-])(?:www\.)?github\.com/(?P<owner>{_NAME})/(?P<repo>{_NAME})(?:/(?:blob|tree)/(?P<branch>{_NAME}))?"
    ),
    "GitHub Pages": re.compile(rf"(?<![\w.-])(?P<owner>[A-Za-z0-9-]+)\.github\.io/(?P<repo>{_NAME})"),
    "raw GitHub": re.compile(
        rf"raw\.githubusercontent\.com/(?P<owner>{_NAME})/(?P<repo>{_NAME})/(?:refs/heads/)?(?P<branch>{_NAME})"
    ),
    "Binder": re.compile(rf"mybinder\.org/v2/gh/(?P<owner>{_NAME})/(?P<repo>{_NAME})/(?P<branch>{_NAME})"),
    "Colab": re.compile(
        rf"colab\.research\.google\.com/github/(?P<owner>{_NAME})/(?P<repo>{_NAME})(?:/blob/(?P<branch>{_NAME}))?"
    ),
}


@dataclass(frozen=True)
class Repository:
    owner: str
    name: str
    branch: str

    @property
    def slug(self) -> str:
        return f"{self.owner}/{self.name}".lower()


def configured(config: Path = CONFIG) -> Repository:
    """The repository that _config.yml names."""
    repository = yaml.safe_load(config.read_text(encoding="utf-8"))["repository"]
    found = re.fullmatch(rf"https://github\.com/({_NAME})/({_NAME}?)(?:\.git)?/?", repository["url"])
    assert found, f"_config.yml: repository.url must be https://github.com/OWNER/NAME, is {repository['url']!r}"
    return Repository(found[1], found[2], str(repository.get("branch", "main")))


def addresses(text: str) -> list[tuple[int, str, str, str | None]]:
    """(line, kind, owner/name, branch or None) of every GitHub, Binder and Colab address in `text`."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        for kind, pattern in PATTERNS.items():
            for match in pattern.finditer(line):
                repo = match["repo"].rstrip(".").removesuffix(".git")
                found.append((number, kind, f"{match['owner']}/{repo}", match.groupdict().get("branch")))
    return found


def disagreements(text: str, repository: Repository, others: set[str] = OTHER_PROJECTS) -> list[tuple[int, str]]:
    """(line, what is wrong) for every address in `text` that names another repository than `repository` (and
    is not one of `others`), or another branch."""
    problems = []
    for line, kind, slug, branch in addresses(text):
        if slug.lower() in others:
            continue
        if slug.lower() != repository.slug:
            problems.append((line, f"{kind} address names {slug}, not {repository.owner}/{repository.name}"))
        elif branch is not None and branch != repository.branch:
            problems.append((line, f"{kind} address names branch {branch}, not {repository.branch}"))
    return problems


def file_disagreements(path: Path, where: str, repository: Repository, others: set[str] = OTHER_PROJECTS) -> list[str]:
    """disagreements() in a file, as "where:line: ...", or for a notebook in its cells' sources, as
    "where, cell N, line M: ..."."""
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".ipynb":
        return [f"{where}:{line}: {problem}" for line, problem in disagreements(text, repository, others)]
    return [
        f"{where}, cell {index}, line {line}: {problem}"
        for index, cell in enumerate(json.loads(text)["cells"])
        for line, problem in disagreements("".join(cell["source"]), repository, others)
    ]


def checked_files() -> list[Path]:
    files = sorted({path for pattern in CHECKED for path in ROOT.glob(pattern) if path.is_file()})
    assert files, "no files to check"
    return files


def sources(path: Path) -> str:
    """The text of a file, or of a notebook the sources of its cells."""
    text = path.read_text(encoding="utf-8")
    return "\n".join("".join(cell["source"]) for cell in json.loads(text)["cells"]) if path.suffix == ".ipynb" else text


def test_every_address_names_the_configured_repository() -> None:
    repository = configured()
    files = checked_files()
    problems = [
        problem for path in files for problem in file_disagreements(path, path.relative_to(ROOT).as_posix(), repository)
    ]
    assert not problems, (
        f"_config.yml's repository.url names {repository.owner}/{repository.name} (branch {repository.branch}); "
        f"change these to agree (or list another project's repository in OTHER_PROJECTS):\n" + "\n".join(problems)
    )
    # The scan itself is not empty: the README's two badges and each chapter's install cell at least.
    count = sum(len(addresses(sources(path))) for path in files)
    chapters = len(list(ROOT.glob("chapters/*.ipynb")))
    assert count >= 2 + chapters, f"only {count} addresses found: the patterns no longer match the files"


def test_the_readme_badges_and_the_install_cells_are_found() -> None:
    kinds = {kind for _, kind, _, _ in addresses((ROOT / "README.md").read_text(encoding="utf-8"))}
    assert {"Binder", "Colab"} <= kinds, kinds
    for path in sorted(ROOT.glob("chapters/*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        install = [a for cell in cells if "pip" in "".join(cell["source"]) for a in addresses("".join(cell["source"]))]
        assert install, f"{path.name}: no install cell with the repository's address"


# --- the check itself can fail -------------------------------------------------------------------------

HOME = Repository("lipnb", "lipnb-book", "main")
PLANTED = """\
[![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/lipnb/lipnb-book/main?labpath=x)
[![Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/someone/lipnb-book/blob/main/a.ipynb)
the source is at https://github.com/LipNB/lipnb-book.git and https://github.com/lipnb/lipnb-book/tree/main/chapters.
pip install git+https://github.com/someone/lipnb-book
read it on https://someone.github.io/lipnb-book/ or binder https://mybinder.org/v2/gh/lipnb/lipnb-book/dev
the plotting library https://github.com/plotly/plotly.py is another project's; so is gist.github.com/a/b
"""


def test_a_planted_disagreement_is_reported_with_its_line(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(PLANTED, encoding="utf-8")
    assert file_disagreements(readme, "README.md", HOME, others={"plotly/plotly.py"}) == [
        "README.md:2: Colab address names someone/lipnb-book, not lipnb/lipnb-book",
        "README.md:4: GitHub address names someone/lipnb-book, not lipnb/lipnb-book",
        "README.md:5: GitHub Pages address names someone/lipnb-book, not lipnb/lipnb-book",
        "README.md:5: Binder address names branch dev, not main",
    ]
    # Without the exception, another project's address is reported too.
    assert (6, "GitHub address names plotly/plotly.py, not lipnb/lipnb-book") in disagreements(PLANTED, HOME, set())


def test_a_planted_disagreement_in_a_notebook_cell_is_reported_with_cell_and_line(tmp_path: Path) -> None:
    notebook = {
        "cells": [
            {"cell_type": "markdown", "source": ["# Title\n"]},
            {
                "cell_type": "code",
                "source": ["import sys\n", 'pip = "git+https://github.com/fork/lipnb-book"\n'],
                "outputs": [{"output_type": "stream", "text": ["https://github.com/other/project\n"]}],
            },
        ]
    }
    path = tmp_path / "x.ipynb"
    path.write_text(json.dumps(notebook), encoding="utf-8")
    assert file_disagreements(path, "chapters/x.ipynb", HOME) == [
        "chapters/x.ipynb, cell 1, line 2: GitHub address names fork/lipnb-book, not lipnb/lipnb-book"
    ]


def test_a_fork_that_changed_the_config_is_told_every_place(tmp_path: Path) -> None:
    """As after a fork's edit of _config.yml: the real files all disagree with the new address."""
    fork = Repository("someone", "lipnb-book", "main")
    problems = [
        problem
        for path in checked_files()
        if path.name != "_config.yml"
        for problem in file_disagreements(path, path.relative_to(ROOT).as_posix(), fork)
    ]
    assert any(problem.startswith("README.md:") and "Binder" in problem for problem in problems), problems
    assert any(problem.startswith("README.md:") and "Colab" in problem for problem in problems), problems
    for path in sorted(ROOT.glob("chapters/*.ipynb")):
        assert any(problem.startswith(f"chapters/{path.name}, cell ") for problem in problems), path.name


@pytest.mark.parametrize("url", ["https://gitlab.com/lipnb/lipnb-book", "https://github.com/lipnb"])
def test_a_config_url_that_is_no_github_repository_fails(url: str, tmp_path: Path) -> None:
    config = tmp_path / "_config.yml"
    config.write_text(f"repository:\n  url: {url}\n  branch: main\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="must be https://github.com/OWNER/NAME"):
        configured(config)
