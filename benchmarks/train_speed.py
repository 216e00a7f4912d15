"""Speed of lipnb's training core against the idiomatic PyTorch loop, on the same machine and weights.

For each configuration (d, width m) the sweep trains S networks (seeds 0, …, S − 1) for T steps of
full-batch gradient descent on N points, float64, MSE, ReLU, an eventual-exponential schedule:

* lipnb: the S networks as one ensemble, ``lipnb.train(TwoLayerNet.init(..., ensemble=S), ...)``, once
  with the full History (``log_every=1``) and once logging only the two ends (``log_every=T``);
* PyTorch: the same S networks one at a time, each an ``nn.Sequential`` built from the same weights
  (``TwoLayerNet.member(i).to_torch_module()``), trained by ``torch.optim.SGD`` + ``LambdaLR`` +
  ``nn.MSELoss`` with the usual zero_grad / forward / loss / backward / step / scheduler.step loop.

Both sides must end at the same training loss, to ``--tol`` relative (1e-8) for every member; the
script exits with status 1 when they do not. Times are the minimum over ``--repeats`` interleaved runs
after a warm-up. Beside the times it reports the machine's float64 GEMM throughput and memory bandwidth
and the FLOP rate lipnb achieves (analytic count, see ``step_flops``). A last row trains one large
network (width ``--large-width``) both ways.

Run from the repository root: ``.venv/bin/python benchmarks/train_speed.py`` (``--help`` for the options).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import inspect
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from machine import cpu_model, git_state

import lipnb
from lipnb import TwoLayerNet
from lipnb.schedules import Schedule, eventual_exponential

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "train_speed.json"


# ---------------------------------------------------------------------------------------- machine
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}


def matmul_gflops(clock: Callable[[], float], n: int = 2048, repeats: int = 5) -> dict[str, float]:
    """Best and median float64 GEMM rate (GFLOP/s) of an n×n by n×n product, 2n³ FLOPs each."""
    a = torch.randn(n, n, dtype=torch.float64)
    b = torch.randn(n, n, dtype=torch.float64)
    c = torch.empty(n, n, dtype=torch.float64)
    torch.mm(a, b, out=c)
    rates = []
    for _ in range(repeats):
        t0 = clock()
        torch.mm(a, b, out=c)
        rates.append(2.0 * n**3 / (clock() - t0) / 1e9)
    return {"n": n, "best_gflops": max(rates), "median_gflops": statistics.median(rates)}


def bandwidth_gbs(clock: Callable[[], float], mbytes: int = 256, repeats: int = 5) -> dict[str, float]:
    """Best memory bandwidth (GB/s) of c = a + b on float64 arrays far larger than the caches
    (3 × ``mbytes`` MB moved per pass: two reads, one write)."""
    n = mbytes * 2**20 // 8
    a, b, c = (torch.ones(n, dtype=torch.float64) for _ in range(3))
    torch.add(a, b, out=c)
    rates = []
    for _ in range(repeats):
        t0 = clock()
        torch.add(a, b, out=c)
        rates.append(3 * 8 * n / (clock() - t0) / 1e9)
    return {"mbytes_per_array": mbytes, "best_gbs": max(rates), "median_gbs": statistics.median(rates)}


# ------------------------------------------------------------------------------------- workload
def dataset(d: int, n: int) -> tuple[torch.Tensor, torch.Tensor, str]:
    """E1 (noisy sine) for d = 1, E2 (random teacher) otherwise; N = n training points."""
    ds = lipnb.data.noisy_sine(n_train=n) if d == 1 else lipnb.data.teacher(d, n_train=n)
    return ds.x_train, ds.y_train, ds.name


def make_schedule(width: int, steps: int, lr_scale: float, rate: float) -> tuple[Schedule, float]:
    """α_t = lr for t < T/2, lr e^{−rate (t − T/2)} after, with lr = lr_scale / m (standard
    parameterization: the curvature along B grows like m, so a stable lr shrinks like 1/m)."""
    lr = lr_scale / width
    return eventual_exponential(lr, start=steps // 2, rate=rate), lr


def step_flops(members: int, width: int, d: int, n: int) -> dict[str, float]:
    """FLOPs of one loss-and-gradient evaluation for E members (the count stated in the README).

    GEMMs: Zᵀ = W [x | 1]ᵀ and ∇W = G [x | 1], 2·E·m·(d + 1)·N each; the two products with B,
    f = B σ(Z) and ∇B = σ(Z) g, 2·E·m·N each. Elementwise on (E, m, N): σ(z), σ'(z), ⊙ B, ⊙ g, 4·E·m·N.
    Terms without the factor N (norms, the update) are left out.
    """
    emn = members * width * n
    gemm = 4.0 * emn * (d + 1) + 4.0 * emn
    return {"gemm": gemm, "elementwise": 4.0 * emn, "total": gemm + 4.0 * emn}


def train_lipnb(
    net: TwoLayerNet, x: torch.Tensor, y: torch.Tensor, schedule: Schedule, steps: int, log_every: int
) -> np.ndarray:
    """Train the ensemble; return the final training loss of each member."""
    _, hist = lipnb.train(net, x, y, schedule, steps, log_every=log_every)
    return np.atleast_1d(np.asarray(hist.loss[-1], dtype=np.float64))


def train_torch(
    net: TwoLayerNet, x: torch.Tensor, y: torch.Tensor, schedule: Schedule, lr: float, steps: int
) -> np.ndarray:
    """Train each member of ``net`` one at a time, the idiomatic PyTorch way; return the final losses."""
    factors = (schedule.values(steps + 1) / lr).tolist()  # the cheapest lambda: a list lookup
    target = y[:, None]
    losses = []
    for i in range(net.members):
        model = net.member(i).to_torch_module()
        opt = torch.optim.SGD(model.parameters(), lr=lr)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: factors[t])
        loss_fn = torch.nn.MSELoss()
        for _ in range(steps):
            opt.zero_grad()
            loss = loss_fn(model(x), target)
            loss.backward()
            opt.step()
            sched.step()
        with torch.no_grad():
            losses.append(loss_fn(model(x), target).item())
    return np.asarray(losses, dtype=np.float64)


def timed(fn: Callable[[], np.ndarray]) -> tuple[float, float, np.ndarray]:
    """Wall time, process CPU time and result of ``fn()``. CPU time / wall time well below the thread
    count means the process waited for a core: foreign load, and a noisy measurement."""
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


def rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), np.finfo(np.float64).tiny)))


def compare(
    d: int,
    width: int,
    members: int,
    seed: int,
    steps: int,
    n: int,
    activation: str,
    lr_scale: float,
    rate: float,
    repeats: int,
    warmup: int,
    clock: str,
) -> dict[str, Any]:
    """Time lipnb (full history, ends only) and PyTorch on one configuration; check the final losses.

    Reported times (``time_s``, the ratios, the FLOP rates) are the minimum over the repeats on the
    chosen clock, ``"wall"`` or ``"cpu"`` (process CPU time); both clocks are kept in the result."""
    x, y, data_name = dataset(d, n)
    schedule, lr = make_schedule(width, steps, lr_scale, rate)
    ensemble = members if members > 1 else None
    net = TwoLayerNet.init(d, width, activation, seed=seed, ensemble=ensemble)

    warm_sched, _ = make_schedule(width, warmup, lr_scale, rate)
    train_lipnb(net, x, y, warm_sched, warmup, 1)
    train_torch(net.member(0) if ensemble else net, x, y, warm_sched, lr, warmup)

    times: dict[str, list[float]] = {"lipnb_full": [], "lipnb_ends": [], "torch": []}
    cpu: dict[str, list[float]] = {k: [] for k in times}
    finals: dict[str, list[np.ndarray]] = {k: [] for k in times}
    for _ in range(repeats):  # interleaved, so that a burst of foreign load hits all three alike
        for key, fn in (
            ("lipnb_full", lambda: train_lipnb(net, x, y, schedule, steps, 1)),
            ("lipnb_ends", lambda: train_lipnb(net, x, y, schedule, steps, steps)),
            ("torch", lambda: train_torch(net, x, y, schedule, lr, steps)),
        ):
            t, c, final = timed(fn)
            times[key].append(t)
            cpu[key].append(c)
            finals[key].append(final)

    chosen = times if clock == "wall" else cpu
    best = {k: min(v) for k, v in chosen.items()}
    flops = step_flops(net.members, width, d, n)
    evals = steps + 1  # T gradient steps plus the loss at θ_T
    diff = max(rel_diff(finals[k][r], finals["torch"][r]) for k in ("lipnb_full", "lipnb_ends") for r in range(repeats))
    return {
        "d": d,
        "width": width,
        "members": net.members,
        "n": n,
        "steps": steps,
        "data": data_name,
        "lr": lr,
        "schedule": schedule.description,
        "clock": clock,
        "time_s": best,
        "wall_s_all": times,
        "cpu_s_all": cpu,
        "spread": {k: max(v) / min(v) - 1.0 for k, v in chosen.items()},
        "cpu_per_wall": sum(map(sum, cpu.values())) / sum(map(sum, times.values())),
        "ratio_full": best["torch"] / best["lipnb_full"],
        "ratio_ends": best["torch"] / best["lipnb_ends"],
        "flops_per_step": flops,
        "gflops": {k: flops["total"] * evals / best[k] / 1e9 for k in best},
        "final_loss_lipnb": finals["lipnb_ends"][-1].tolist(),
        "final_loss_torch": finals["torch"][-1].tolist(),
        "max_rel_diff": diff,
        "loadavg_1min": os.getloadavg()[0],
    }


# -------------------------------------------------------------------------------------- report
def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| d | m | nets | lipnb full log (s) | lipnb ends only (s) | torch one by one (s) | "
        "ratio (full) | ratio (ends) | lipnb GFLOP/s | torch GFLOP/s | max rel. diff |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        t, g = r["time_s"], r["gflops"]
        lines.append(
            f"| {r['d']} | {r['width']} | {r['members']} | {t['lipnb_full']:.3f} | {t['lipnb_ends']:.3f} | "
            f"{t['torch']:.3f} | {r['ratio_full']:.2f} | {r['ratio_ends']:.2f} | {g['lipnb_ends']:.2f} | "
            f"{g['torch']:.2f} | {r['max_rel_diff']:.1e} |"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--steps", type=int, default=2000, help="GD steps T per network")
    p.add_argument("--n", type=int, default=256, help="training points N")
    p.add_argument("--widths", type=int, nargs="+", default=[16, 64, 256, 1024], help="hidden widths m")
    p.add_argument("--dims", type=int, nargs="+", default=[1, 5], help="input dimensions d")
    p.add_argument("--seeds", type=int, default=4, help="networks S per configuration (seeds 0..S-1)")
    p.add_argument("--activation", default="relu", help="activation σ (lipnb.ACTIVATIONS)")
    p.add_argument("--lr-scale", type=float, default=0.5, help="lr = lr_scale / m before the decay")
    p.add_argument("--rate", type=float, default=0.005, help="decay rate r of the schedule after T/2")
    p.add_argument("--large-width", type=int, default=4096, help="width of the single large network")
    p.add_argument("--large-d", type=int, default=5, help="input dimension of the single large network")
    p.add_argument("--large-steps", type=int, default=500, help="GD steps of the single large network")
    p.add_argument("--repeats", type=int, default=2, help="timed runs per side; the minimum is reported")
    p.add_argument("--warmup", type=int, default=20, help="untimed warm-up steps per side and configuration")
    p.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch intra-op threads")
    p.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="wall",
        help="clock of the reported times: wall (perf_counter) or cpu (process CPU time, for a "
        "machine under foreign load; needs --threads 1)",
    )
    p.add_argument("--tol", type=float, default=1e-8, help="largest accepted relative final-loss difference")
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: 100 steps (50 for the large network), one repeat, no results file unless --out is given",
    )
    p.add_argument("--out", type=Path, default=None, help=f"results JSON (default {DEFAULT_OUT} unless --quick)")
    args = p.parse_args(argv)
    if args.quick:
        args.steps, args.large_steps, args.repeats = 100, 50, 1
    for name in ("steps", "n", "seeds", "large_width", "large_d", "large_steps", "repeats", "threads"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1; got {getattr(args, name)}")
    if args.clock == "cpu" and args.threads != 1:
        p.error(
            f"--clock cpu counts the CPU time of all threads, spin-waiting included; use it with --threads 1 "
            f"(got --threads {args.threads})"
        )
    if min(args.widths) < 1 or min(args.dims) < 1:
        p.error("--widths and --dims must be positive integers")
    if args.out is None and not args.quick:
        args.out = DEFAULT_OUT
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    machine = {
        "cpu_model": cpu_model(),
        "nproc": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "lipnb": lipnb.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "blas": "mkl" if torch.backends.mkl.is_available() else "other",
        "loadavg_start": os.getloadavg(),
        **git_state(),
    }
    print(
        f"# {machine['cpu_model']}, nproc={machine['nproc']}, torch {machine['torch']} "
        f"({machine['torch_threads']} threads), load average {machine['loadavg_start'][0]:.2f}",
        flush=True,
    )
    gemm = matmul_gflops(CLOCKS[args.clock])
    bw = bandwidth_gbs(CLOCKS[args.clock])
    print(
        f"# float64 GEMM {gemm['n']}³: best {gemm['best_gflops']:.1f} GFLOP/s; "
        f"memory bandwidth (a + b): best {bw['best_gbs']:.1f} GB/s",
        flush=True,
    )

    rows, failures = [], []
    for d in args.dims:
        for width in args.widths:
            r = compare(
                d,
                width,
                args.seeds,
                0,
                args.steps,
                args.n,
                args.activation,
                args.lr_scale,
                args.rate,
                args.repeats,
                args.warmup,
                args.clock,
            )
            rows.append(r)
            ok = r["max_rel_diff"] <= args.tol
            if not ok:
                failures.append(f"d={d} m={width}: max rel diff {r['max_rel_diff']:.3e} > {args.tol:g}")
            print(
                f"  d={d} m={width:5d}: lipnb {r['time_s']['lipnb_ends']:.3f}s (full log "
                f"{r['time_s']['lipnb_full']:.3f}s), torch {r['time_s']['torch']:.3f}s, "
                f"ratio {r['ratio_ends']:.2f} ({r['ratio_full']:.2f}), rel diff {r['max_rel_diff']:.1e}, "
                f"cpu/wall {r['cpu_per_wall']:.2f}, load {r['loadavg_1min']:.2f}"
                f"{'' if ok else '  <-- MISMATCH'}",
                flush=True,
            )

    large = compare(
        args.large_d,
        args.large_width,
        1,
        0,
        args.large_steps,
        args.n,
        args.activation,
        args.lr_scale,
        args.rate,
        args.repeats,
        args.warmup,
        args.clock,
    )
    if large["max_rel_diff"] > args.tol:
        failures.append(f"large network: max rel diff {large['max_rel_diff']:.3e} > {args.tol:g}")

    tot = {k: sum(r["time_s"][k] for r in rows) for k in ("lipnb_full", "lipnb_ends", "torch")}
    sweep = {
        "networks": sum(r["members"] for r in rows),
        "total_time_s": tot,
        "ratio_full": tot["torch"] / tot["lipnb_full"],
        "ratio_ends": tot["torch"] / tot["lipnb_ends"],
        "geomean_ratio_full": float(np.exp(np.mean([np.log(r["ratio_full"]) for r in rows]))),
        "geomean_ratio_ends": float(np.exp(np.mean([np.log(r["ratio_ends"]) for r in rows]))),
        "min_ratio_ends": min(r["ratio_ends"] for r in rows),
        "median_spread": statistics.median(s for r in rows + [large] for s in r["spread"].values()),
        "cpu_per_wall": statistics.mean(r["cpu_per_wall"] for r in rows + [large]),
    }
    machine["loadavg_end"] = os.getloadavg()

    print()
    print(
        f"Sweep: {sweep['networks']} networks, T = {args.steps}, N = {args.n}, {args.activation}, float64, "
        f"{machine['torch_threads']} thread(s); times are the best of {args.repeats} on the {args.clock} clock."
    )
    print()
    print(table(rows))
    print()
    print(
        f"Sweep total: lipnb {tot['lipnb_ends']:.2f}s (full log {tot['lipnb_full']:.2f}s), torch "
        f"{tot['torch']:.2f}s -> ratio {sweep['ratio_ends']:.2f}x (full log {sweep['ratio_full']:.2f}x); "
        f"geometric mean of the per-configuration ratios {sweep['geomean_ratio_ends']:.2f}x"
    )
    print()
    print(f"Single large network (d={args.large_d}, m={args.large_width}, T={args.large_steps}):")
    print()
    print(table([large]))
    print()
    print(
        f"Machine: float64 GEMM {gemm['best_gflops']:.1f} GFLOP/s (best; median {gemm['median_gflops']:.1f}), "
        f"bandwidth {bw['best_gbs']:.1f} GB/s; median repeat spread {100 * sweep['median_spread']:.1f}%, "
        f"mean CPU time / wall time {sweep['cpu_per_wall']:.2f}; "
        f"load average {machine['loadavg_start'][0]:.2f} -> {machine['loadavg_end'][0]:.2f}; "
        f"wall {time.perf_counter() - started:.0f}s"
    )

    results = {
        "benchmark": "train_speed",
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(["python", "benchmarks/train_speed.py", *(sys.argv[1:] if argv is None else argv)]),
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": machine,
        "matmul": gemm,
        "bandwidth": bw,
        "flop_count": " ".join(inspect.getdoc(step_flops).split()),
        "configs": rows,
        "sweep": sweep,
        "single_large": large,
        "agreement_ok": not failures,
        "failures": failures,
        "wall_s": time.perf_counter() - started,
    }
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1) + "\n")
        print(f"wrote {args.out}")
    if failures:
        print("FINAL LOSSES DISAGREE:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
