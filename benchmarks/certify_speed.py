"""Speed and tightness of lipnb.certify's Lipschitz certificates (and of ECLipsE, if installed).

For widths m ∈ {16, 64, 256, 1024, 4096}, random (lecun init) and trained networks in d = 1, 2, 5:
the value and wall time of each method that applies, the best lower bound, and the tightness ratio
upper / lower. Writes benchmarks/results/certify_speed.json and prints markdown tables.

    .venv/bin/python benchmarks/certify_speed.py            # full run (~10 min on 2 cores)
    .venv/bin/python benchmarks/certify_speed.py --quick    # widths 16 and 256 only
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from lipnb import TwoLayerNet, data, schedules, train
from lipnb.certificates import exact_1d, exact_2d, lipsdp, lower_bound, product_bound, smooth_1d

WIDTHS = (16, 64, 256, 1024, 4096)
SETTINGS = (  # (d, activation)
    (1, "relu"),
    (1, "tanh"),
    (2, "relu"),
    (5, "relu"),
    (5, "tanh"),
)
# Textbook LipSDP is an (m + d)-sized LMI; Clarabel's KKT system then has a dense block of order
# (m + d)² / 2, so its time grows like m⁶: ~2 s at m = 32, ~25 s at m = 64. Run it at m = 16 everywhere
# and once at m = 64 (d = 2, ReLU, random) to show the trend.
TEXTBOOK_MAX = 16
SCS_MAX = 1024  # SCS on the reduced form takes ~50 s at m = 4096
ECLIPSE_SDP_MAX = 16  # ECLipsE's SDP (2m × 2m, SCS) fails and falls back at m = 64 after ~20 s
ECLIPSE_FAST_MAX = 256  # ECLipsE-Fast takes a general (non-symmetric) m × m eigendecomposition

try:
    from eclipse_nn.LipConstEstimator import LipConstEstimator
except ImportError:  # the package is optional
    LipConstEstimator = None


def timed(fn, *args, **kw):
    t = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t


def trained_net(d: int, m: int, act: str) -> tuple[TwoLayerNet, torch.Tensor]:
    ds = data.noisy_sine(n_train=64, n_test=10, seed=0) if d == 1 else data.teacher(d, n_train=256, n_test=10, seed=0)
    net = TwoLayerNet.init(d, m, act, seed=0)
    # the curvature of the risk grows like m (∂f/∂B_i = σ(z_i)), so a stable constant step is ~1/m
    trained, _ = train(net, ds.x_train, ds.y_train, schedules.constant(1.0 / m), steps=2000)
    return trained, ds.x_train


def eclipse(net: TwoLayerNet, which: str) -> float:
    est = LipConstEstimator(
        weights=[net.A.clone(), net.B[None].clone()], alphas=[net.activation.slope_lo], betas=[net.activation.slope_hi]
    )
    return float(est.estimate(which))


def run_one(d: int, act: str, m: int, kind: str) -> dict:
    if kind == "random":
        net, pts = TwoLayerNet.init(d, m, act, seed=0), None
    else:
        net, pts = trained_net(d, m, act)
    row: dict = {"d": d, "activation": act, "m": m, "net": kind, "values": {}, "times_s": {}}

    def record(name, fn, *args, **kw):
        out, t = timed(fn, *args, **kw)
        row["values"][name] = float(out.upper) if hasattr(out, "upper") else float(out)
        row["times_s"][name] = t
        return out

    record("product", product_bound, net)
    record("lipsdp_clarabel", lipsdp, net)
    if m <= SCS_MAX:
        record("lipsdp_scs", lipsdp, net, solver="SCS")
    if m <= TEXTBOOK_MAX or (m == 64 and d == 2 and act == "relu" and kind == "random"):
        record("lipsdp_textbook", lipsdp, net, "textbook")
    if LipConstEstimator is not None and act == "relu" and m <= ECLIPSE_FAST_MAX:
        record("eclipse_fast", eclipse, net, "ECLipsE_Fast")
        if m <= ECLIPSE_SDP_MAX:
            record("eclipse", eclipse, net, "ECLipsE")
    exact = None
    if d == 1 and act == "relu":
        exact = record("exact_1d", exact_1d, net)
    elif d == 2 and act == "relu":
        exact = record("exact_2d", exact_2d, net)
    elif d == 1:
        exact = record("smooth_1d", smooth_1d, net)
    (lb, _), t = timed(lower_bound, net, pts)
    row["values"]["lower_bound"], row["times_s"]["lower_bound"] = lb, t
    lower = max(lb, exact.lower) if exact is not None else lb
    row["lower"] = lower
    uppers = {k: v for k, v in row["values"].items() if k not in ("lower_bound", "eclipse_fast", "eclipse")}
    row["best_upper_method"] = min(uppers, key=uppers.get)
    row["ratio"] = {k: v / lower for k, v in row["values"].items() if k != "lower_bound"}
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="widths 16 and 256 only")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "certify_speed.json"))
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    # One intra-op thread: on a small shared machine torch's thread pool spends more time waiting for
    # cores than computing on these small tensors (e.g. torch.tanh on 10⁴ numbers: 50 µs vs 20+ ms).
    torch.set_num_threads(1)
    t_start = time.perf_counter()
    widths = (16, 256) if args.quick else WIDTHS
    rows = []
    for d, act in SETTINGS:
        for m in widths:
            for kind in ("random", "trained"):
                row = run_one(d, act, m, kind)
                rows.append(row)
                print(
                    json.dumps({k: row[k] for k in ("d", "activation", "m", "net")}),
                    {k: f"{v:.4g} ({row['times_s'][k]:.3g}s)" for k, v in row["values"].items()},
                    flush=True,
                )
    # the exact 1-D goal: m = 10^4 in under 10 ms (median of 50 calls)
    big = TwoLayerNet.init(1, 10_000, "relu", seed=0)
    exact_1d(big)
    ts = [timed(exact_1d, big)[1] for _ in range(50)]
    big2 = TwoLayerNet.init(2, 4096, "relu", seed=0)
    meta = {
        "exact_1d_m10000_median_s": float(np.median(ts)),
        "exact_2d_m4096_s": timed(exact_2d, big2)[1],
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__} (1 thread)",
        "wall_s": time.perf_counter() - t_start,
        "load_average_at_end": os.getloadavg(),
        "eclipse_nn": None if LipConstEstimator is None else "0.1.7",
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    print_tables(rows, meta)


def print_tables(rows: list[dict], meta: dict) -> None:
    cols = [
        "product",
        "lipsdp_clarabel",
        "lipsdp_scs",
        "lipsdp_textbook",
        "eclipse_fast",
        "eclipse",
        "exact_1d",
        "exact_2d",
        "smooth_1d",
        "lower_bound",
    ]
    present = [c for c in cols if any(c in r["values"] for r in rows)]
    print(
        f"\nexact_1d, m = 10^4: median {meta['exact_1d_m10000_median_s'] * 1e3:.2f} ms; "
        f"exact_2d, m = 4096: {meta['exact_2d_m4096_s']:.2f} s\n"
    )
    print("| d | σ | m | net | " + " | ".join(present) + " | best upper / lower |")
    print("|" + "---|" * (len(present) + 5))
    for r in rows:
        cells = []
        for c in present:
            if c in r["values"]:
                cells.append(f"{r['values'][c]:.4g} ({_fmt_t(r['times_s'][c])})")
            else:
                cells.append("–")
        best = r["values"][r["best_upper_method"]] / r["lower"]
        print(f"| {r['d']} | {r['activation']} | {r['m']} | {r['net']} | " + " | ".join(cells) + f" | {best:.4g} |")


def _fmt_t(t: float) -> str:
    return f"{t * 1e3:.2g} ms" if t < 0.1 else f"{t:.2g} s"


if __name__ == "__main__":
    main()
