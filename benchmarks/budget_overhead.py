"""The cost of lipnb.torch.LipschitzBudget in an ordinary PyTorch training loop.

An ``nn.Sequential`` MLP (d → width → … → width → 1, ReLU) trained by ``torch.optim.Adam`` on synthetic
regression data in mini-batches, the usual zero_grad / forward / loss / backward / step loop, timed per
step in four variants on the same model, data and batches, in the same process:

* ``plain``: no budget;
* ``counting``: a budget before its start τ (it only measures each layer's step and adds up the paths);
* ``free``: a budget after τ whose target is far away (it measures every step, scales none back);
* ``binding``: a budget from step 0 with the target 1.5 times the product bound and the adaptive cap
  (rate 0.05, first cap Γ(1 − e^{−0.05}) about 0.007 against Adam's steps of about 0.1), so that every
  step is scaled back in every layer (the most work per step).

Each variant runs ``--steps`` steps after ``--warmup`` untimed ones, ``--repeats`` times, interleaved;
the time per step is the median over the repeats, and the overhead is variant / plain − 1. Both clocks are
recorded, wall time and the process's CPU time (``--clock`` picks the one reported; with one thread, CPU
time is the robust choice on a machine that other jobs share). The binding run
must end with the certified bound ≤ the target and the product of the operator norms ≤ the bound, or the
script exits with status 1.

Run from the repository root: ``.venv/bin/python benchmarks/budget_overhead.py`` (``--help`` for the options;
``--quick`` for a smoke test that writes no file).
"""

from __future__ import annotations

import argparse
import copy
import datetime as _dt
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch
from machine import cpu_model, git_state
from torch import nn

import lipnb
from lipnb.torch import LipschitzBudget

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "budget_overhead.json"
VARIANTS = ("plain", "counting", "free", "binding")


def make_model(d: int, width: int, depth: int, dtype: torch.dtype, seed: int) -> nn.Sequential:
    torch.manual_seed(seed)
    sizes = [d] + [width] * (depth - 1) + [1]
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        if i:
            layers.append(nn.ReLU())
        layers.append(nn.Linear(a, b))
    return nn.Sequential(*layers).to(dtype)


def product_bound(model: nn.Sequential) -> float:
    return math.prod(
        float(torch.linalg.matrix_norm(m.weight.detach().double(), ord=2)) for m in model if isinstance(m, nn.Linear)
    )


def run(
    variant: str,
    base: nn.Sequential,
    x: torch.Tensor,
    y: torch.Tensor,
    batches: torch.Tensor,
    lr: float,
    warmup: int,
    steps: int,
) -> tuple[float, float, LipschitzBudget | None, nn.Sequential]:
    """Wall and CPU seconds per step of ``steps`` timed steps (after ``warmup`` untimed ones) of one variant."""
    model = copy.deepcopy(base)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    budget = None
    total = warmup + steps
    if variant == "counting":
        budget = LipschitzBudget(model, opt, target=1e9, start=total + 1)
    elif variant == "free":
        budget = LipschitzBudget(model, opt, target=1e9, start=0)
    elif variant == "binding":
        budget = LipschitzBudget(model, opt, target=1.5 * product_bound(model), start=0, rate=0.05)
    loss_fn = nn.MSELoss()
    t0 = c0 = 0.0
    for t in range(total):
        if t == warmup:
            t0, c0 = time.perf_counter(), time.process_time()
        idx = batches[t]
        opt.zero_grad()
        loss_fn(model(x[idx]), y[idx]).backward()
        opt.step()
    return (time.perf_counter() - t0) / steps, (time.process_time() - c0) / steps, budget, model


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--depth", type=int, default=3, help="number of nn.Linear layers")
    p.add_argument("--d", type=int, default=32, help="input dimension")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--n", type=int, default=8192, help="training points")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--steps", type=int, default=300, help="timed steps per repeat and variant")
    p.add_argument("--warmup", type=int, default=30)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall", help="the clock of the reported medians")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--quick", action="store_true", help="60 steps, 3 repeats; writes no file")
    args = p.parse_args(argv)
    if args.quick:
        args.steps, args.repeats, args.warmup = 60, 3, 10
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    started = time.perf_counter()
    machine = {
        "cpu_model": cpu_model(),
        "nproc": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "lipnb": lipnb.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_start": os.getloadavg(),
        **git_state(),
    }
    print(
        f"# {machine['cpu_model']}, nproc={machine['nproc']}, torch {machine['torch']} "
        f"({machine['torch_threads']} threads), load average {machine['loadavg_start'][0]:.2f}",
        flush=True,
    )
    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.n, args.d, generator=g).to(dtype)
    y = torch.sin(x @ torch.randn(args.d, 1, generator=g).to(dtype) / math.sqrt(args.d))
    total = args.warmup + args.steps
    batches = torch.stack([torch.randperm(args.n, generator=g)[: args.batch] for _ in range(total)])
    base = make_model(args.d, args.width, args.depth, dtype, seed=0)

    times: dict[str, dict[str, list[float]]] = {"wall": {v: [] for v in VARIANTS}, "cpu": {v: [] for v in VARIANTS}}
    failures: list[str] = []
    for _ in range(args.repeats):  # interleaved, so that a burst of foreign load hits all variants alike
        for v in VARIANTS:
            wall, cpu, budget, model = run(v, base, x, y, batches, args.lr, args.warmup, args.steps)
            times["wall"][v].append(wall)
            times["cpu"][v].append(cpu)
            if v == "binding":
                cert = budget.certificate()
                if not (product_bound(model) <= cert.bound * (1 + 1e-12) and cert.bound <= cert.target):
                    failures.append(
                        f"bound violated: product {product_bound(model):.6g}, bound {cert.bound:.6g}, "
                        f"target {cert.target:.6g}"
                    )
                if cert.scaled_steps != total:
                    failures.append(f"binding variant scaled {cert.scaled_steps} of {total} steps")
    medians = {clock: {v: statistics.median(t) for v, t in per.items()} for clock, per in times.items()}
    overheads = {
        clock: {v: med[v] / med["plain"] - 1.0 for v in VARIANTS if v != "plain"} for clock, med in medians.items()
    }
    median, overhead = medians[args.clock], overheads[args.clock]
    params = sum(p.numel() for p in base.parameters())
    print(
        f"# MLP d={args.d}, width {args.width}, depth {args.depth} ({params} parameters), {args.dtype}, "
        f"batch {args.batch}, Adam; median of {args.repeats} x {args.steps} steps, {args.clock} clock"
    )
    for v in VARIANTS:
        extra = (
            ""
            if v == "plain"
            else (
                f"  overhead {100 * overhead[v]:+.1f} % "
                f"({1e6 * (median[v] - median['plain']):+.1f} us; other clock "
                f"{100 * overheads['cpu' if args.clock == 'wall' else 'wall'][v]:+.1f} %)"
            )
        )
        print(f"  {v:9s} {1e6 * median[v]:8.1f} us/step{extra}")
    result: dict[str, Any] = {
        "benchmark": "budget_overhead",
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "args": {k: str(v) for k, v in vars(args).items()},
        "machine": {**machine, "loadavg_end": os.getloadavg()},
        "parameters": params,
        "seconds_per_step": times,
        "median_seconds_per_step": medians,
        "overhead": overheads,
        "clock": args.clock,
        "failures": failures,
        "wall_s": time.perf_counter() - started,
    }
    if not args.quick:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1) + "\n")
        print(f"# written to {args.out}")
    for f in failures:
        print("FAILED:", f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
