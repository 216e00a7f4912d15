"""What the benchmark scripts record about the machine and the code they measured.

Imported by the scripts of this folder, which run as ``python benchmarks/<script>.py`` (so this folder
is first on ``sys.path``).
"""

from __future__ import annotations

import hashlib
import platform
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (``platform.processor()`` elsewhere)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_state() -> dict[str, Any]:
    """The commit measured, whether lipnb/ had uncommitted changes, and a hash of lipnb/*.py as run."""

    def git(*cmd: str) -> str:
        try:
            return subprocess.run(["git", *cmd], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    digest = hashlib.sha256()
    for path in sorted((ROOT / "lipnb").glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return {
        "commit": git("rev-parse", "HEAD") or None,
        "lipnb_dirty": bool(git("status", "--porcelain", "lipnb")),
        "lipnb_sha256": digest.hexdigest(),
    }
