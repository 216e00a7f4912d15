"""Settings that make a chapter's printed numbers reproducible.

Every chapter calls :func:`setup` once, right after importing lipnb: it fixes the torch thread count
(CPU reductions may differ in their last digits between thread counts; one thread by default, as fast
as two for the chapters' small networks and never oversubscribing a busy machine), seeds the global generators
for any code that uses them (lipnb itself always takes explicit seeds), selects float64 as torch's
default dtype, and makes matplotlib draw PNG figures (nbval skips PNG outputs; an SVG would be compared
byte for byte and fail on every re-run).
"""

from __future__ import annotations

import random

import numpy as np
import torch

from ._validate import check_int

__all__ = ["setup", "fmt"]


def setup(threads: int = 1, seed: int = 0) -> None:
    """Fix threads, seeds, dtype and figure format for a deterministic notebook."""
    threads = check_int("threads", threads, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    torch.set_num_threads(threads)
    torch.set_default_dtype(torch.float64)
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    import matplotlib

    matplotlib.rcParams.update(
        {"figure.dpi": 100, "savefig.dpi": 100, "figure.figsize": (7.5, 3.6), "axes.grid": True, "grid.alpha": 0.3}
    )
    try:
        from IPython import get_ipython

        ip = get_ipython()
    except ImportError:
        ip = None
    if ip is not None:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        # MPLBACKEND=Agg (set by `make test`) would otherwise keep figures out of the stored outputs.
        ip.run_line_magic("matplotlib", "inline")
        set_matplotlib_formats("png")


def fmt(value: float, digits: int = 4) -> str:
    """A number rounded to ``digits`` significant digits, for printed tables that nbval compares."""
    value = float(value)
    if value == 0 or not np.isfinite(value):
        return str(value)
    return f"{value:.{digits}g}"
