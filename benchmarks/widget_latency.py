"""Latency of the interactive explorer (lipnb.widgets): from a slider change to the redrawn figure.

The explorer's ipywidgets front end is built headless with no debounce delay; the script then sets a
control's value, as a reader's released slider does, and times until the new PNG is in the image widget:
retraining with lipnb.train, certifying θ_0, θ_τ, θ_T, the Thm 5.1 / Lemma 4.1 bounds, the redraw and
the PNG encoding. (In a live notebook the debounce delay, 0.25 s by default, and the transfer of the PNG
to the browser come on top.) Three kinds of change, each repeated ``--repeats`` times:

* ``r``     — the decay rate r: only the T − τ steps after τ are retrained (the prefix is cached);
* ``tau``   — the decay start τ, alternating between two values: the prefix up to τ comes from the
  cache of prefixes at multiples of 250 steps, so at most 250 constant-rate steps plus the tail run;
* ``seed``  — a new initialization: the whole run of T steps (the worst case).

Default configuration: d = 1, N = 64 noisy-sine points, width 256, T = 2000, τ = 1000, ReLU, MSE.
The script prints the median and the spread of the wall-clock latency, the process CPU time per
update (robust to other load on the machine), and the load average, for each width in ``--widths``.

Run from the repository root: ``python -m benchmarks.widget_latency`` (``--help`` for the options);
``taskset -c 0,1`` pins it to two cores.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import torch

from lipnb.widgets import Config, Explorer


def measure(width: int, kind: str, repeats: int, threads: int) -> tuple[list[float], list[float]]:
    ui = Explorer(config=Config(width=width), threads=threads).widget(debounce=0)
    ctl = {"r": "rate", "tau": "start", "seed": "seed"}[kind]
    values = {"r": [0.002, 0.004, 0.006, 0.008], "tau": [750, 1000], "seed": list(range(repeats + 1))}[kind]
    ui.controls[ctl].value = values[1]  # warm-up: fills the prefix cache, as a reader's first move would
    walls, cpus = [], []
    for k in range(repeats):
        v = values[k % len(values)] if kind != "seed" else values[k + 2 if k + 2 <= repeats else 0]
        before = ui.image.value
        w0, c0 = time.perf_counter(), time.process_time()
        ui.controls[ctl].value = v
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
        if ui.image.value == before or "color:#b00" in ui.status.value:
            sys.exit(f"the figure did not change for {ctl} = {v}: {ui.status.value}")
    return walls, cpus


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--widths", type=int, nargs="+", default=[256, 4096])
    ap.add_argument("--kinds", nargs="+", default=["r", "tau", "seed"], choices=["r", "tau", "seed"])
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--threads", type=int, default=1, help="torch threads during an update (the explorer's default)")
    args = ap.parse_args()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"python {platform.python_version()}, torch {torch.__version__}, {cores} usable cores, "
        f"explorer threads {args.threads}, load average before {os.getloadavg()[0]:.1f}"
    )
    print(f"{'width':>6} {'change':>6} {'median wall s':>14} {'min–max wall s':>15} {'median CPU s':>13}")
    for width in args.widths:
        for kind in args.kinds:
            walls, cpus = measure(width, kind, args.repeats, args.threads)
            print(
                f"{width:>6} {kind:>6} {statistics.median(walls):>14.3f} "
                f"{min(walls):>7.3f}–{max(walls):<7.3f} {statistics.median(cpus):>13.3f}"
            )
    print(f"load average after {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
