"""Deep (MLP) Lipschitz certificates of lipnb.certify_deep against the independent eclipse-nn package.

Networks: ``lipnb.MLP.init(d, [m] * (L − 1), σ, seed=0)`` (LeCun init, "random") and the same network after
2000 steps of full-batch GD at the constant step 1/m on ``lipnb.data.teacher(d, n_train=256, seed=0)``
("trained"), for depth L ∈ {3, 4} (2 and 3 hidden layers of width m), d ∈ {2, 5}, ReLU and tanh, widths
m = 16–256 (trained: up to 128) and m = 512 for random ReLU nets in d = 5. For each network, the value and
wall time of

* lipnb (every value a certified upper bound, recomputed in float64 from the multipliers):
  ``product_bound``, ``eclipse_fast``, ``eclipse`` (per-layer SDPs, default solver Clarabel, and with
  ``solver="SCS"``), ``lipsdp`` (one SDP of size d + Σ n_l, Clarabel and SCS), and the lower bound of
  ``certify_mlp`` (``lower_bound``: ‖∇f‖ at the data and random points, Adam ascent on ‖∇f‖ for tanh) plus a
  stronger run of the same function (more restarts and steps, another seed);
* eclipse-nn 0.1.7 (Xu & Sivaranjani): ``LipConstEstimator(weights=…).estimate("ECLipsE_Fast")`` and
  ``estimate("ECLipsE")`` (which falls back on ECLipsE-Fast when its SCS solution fails its own acceptance
  test; the fallback is recorded); and, as cross-checks, eclipse-nn's own multipliers certified by
  ``lipnb.certify_deep.sequential_bound``: ECLipsE-Fast's closed form, and eclipse-nn's per-stage SDP
  (``eclipse_nn.eclipsE.sdp``) run through every layer without that test.

Each SDP method runs only up to the width where it still takes seconds (the limits below were measured on
the 2-core development machine); one "probe" network (L = 3, d = 2, ReLU, random) is also run one width
further to show where it stops being practical. Random ReLU and random tanh networks have the same weights
(same seed, same shapes) and the same slope range [0, 1], so their upper bounds coincide; only the lower
bounds differ.

The script exits with status 1 if any lipnb upper bound is below the best lower bound. eclipse-nn values
below it, and violations of the orderings eclipse_fast ≤ product and lipsdp ≤ eclipse, are reported.

eclipse-nn is an optional benchmark dependency, not in requirements-lock.txt; install it without touching
torch: ``.venv/bin/pip install --no-deps eclipse-nn==0.1.7`` (its other dependencies are already there).

    .venv/bin/python benchmarks/certify_deep_speed.py          # full run (≈ 7 min on 2 idle cores)
    .venv/bin/python benchmarks/certify_deep_speed.py --quick  # L = 3, widths 16 and 32, 500 GD steps; no file
"""

from __future__ import annotations

import os

# One BLAS thread, set before NumPy loads OpenBLAS: the certificates factor many small matrices, and on a
# small shared machine a threaded BLAS waits for cores (eclipse_fast at m = 128: 17.5 s with two OpenBLAS
# threads under load, 0.4 s with one).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import contextlib  # noqa: E402
import datetime as _dt  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from importlib import metadata  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from machine import cpu_model, git_state  # noqa: E402

import lipnb  # noqa: E402
from lipnb import MLP, data, schedules  # noqa: E402
from lipnb.certificates import eclipse, eclipse_fast, lipsdp, lower_bound, product_bound, sequential_bound  # noqa: E402

try:
    from eclipse_nn.eclipsE import sdp as enn_stage_sdp
    from eclipse_nn.LipConstEstimator import LipConstEstimator
except ImportError:  # the package is optional
    LipConstEstimator = enn_stage_sdp = None

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "certify_deep_speed.json"
DEPTHS = (3, 4)
DIMS = (2, 5)
ACTIVATIONS = ("relu", "tanh")
WIDTHS = (16, 32, 64, 128, 256)
TRAINED_MAX = 128  # training dominates beyond: 2000 GD steps of a depth-4 width-256 net take ~8 s on one core
WIDE = 512  # random ReLU nets, d = 5 only: the fast methods still run; lipnb's eclipse_fast takes seconds
STEPS = 2000
# Width limits, measured on the development machine (one thread, idle): with Clarabel (lipnb's default
# solver, interior point) eclipse and lipsdp take 0.2–0.6 s at m = 16 and 4–10 s at m = 32; with SCS (first
# order) 1–10 s at m = 32 and 15–20 s at m = 64; eclipse-nn's ECLipsE (SCS, 2m × 2m) 0.1–3.4 s up to m = 64
# and 45 s at m = 128. Where lipsdp with SCS falls back, lipsdp with Clarabel runs too (up to m = 32).
LIMITS = {"eclipse": 16, "lipsdp": 16, "eclipse_scs": 32, "lipsdp_scs": 32, "enn_sdp": 32, "enn": 64}
PROBE = (3, 2, "relu", "random")  # (L, d, σ, net): each SDP method also runs at twice its limit here
LIPNB_UPPER = ("product", "eclipse_fast", "eclipse", "eclipse_scs", "lipsdp", "lipsdp_scs")
ENN_CERTIFIED = ("enn_fast_cert", "enn_sdp")  # eclipse-nn's multipliers, certified by lipnb.sequential_bound
LOWER = ("lower", "lower_strong")
STRONG = {"restarts": 128, "steps": 500, "seed": 1}
COLUMNS = {  # key: table heading
    "product": "product",
    "eclipse_fast": "eclipse_fast",
    "eclipse": "eclipse",
    "eclipse_scs": "eclipse (SCS)",
    "lipsdp": "lipsdp",
    "lipsdp_scs": "lipsdp (SCS)",
    "enn_fast": "eclipse-nn Fast",
    "enn": "eclipse-nn ECLipsE",
    "enn_sdp": "eclipse-nn SDP, certified",
    "lower": "lower",
    "lower_strong": "lower (strong)",
}


# ---------------------------------------------------------------------------------------- machine
def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for pkg in ("torch", "numpy", "scipy", "cvxpy", "clarabel", "scs", "eclipse-nn"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


# ---------------------------------------------------------------------------------------- eclipse-nn
def _enn_args(net: MLP) -> dict[str, Any]:
    """eclipse-nn wants the weight matrices (n_out, n_in) as float64 tensors and one slope range per hidden layer."""
    k = net.depth - 1
    return {
        "weights": [w.detach().clone() for w in net.weights],
        "alphas": [float(net.activation.slope_lo)] * k,
        "betas": [float(net.activation.slope_hi)] * k,
    }


def enn_fast(net: MLP) -> float:
    return float(LipConstEstimator(**_enn_args(net)).estimate("ECLipsE_Fast"))


def enn_eclipse(net: MLP) -> tuple[float, dict[str, bool]]:
    """eclipse-nn's ECLipsE and whether it fell back on ECLipsE-Fast (it says so on stdout)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        value = float(LipConstEstimator(**_enn_args(net)).estimate("ECLipsE"))
    return value, {"fell_back_on_fast": "boundary solution" in out.getvalue()}


def _enn_chain(net: MLP, stage_sdp: bool) -> tuple[list[np.ndarray], float, list[dict[str, Any]]]:
    """eclipse-nn's sequential loop, its per-stage multipliers mapped to lipnb's stage, and its own value.

    The loop is eclipse-nn's (``eclipse_nn.eclipsE_fast.ECLipsE_Fast`` and ``eclipse_nn.eclipsE.ECLipsE``,
    m = (α+β)/2, X_0 = I): the diagonal L_i is l_i I with l_i = 1/(2m² λ_max(W_i X_{i−1}⁻¹ W_iᵀ)) (Fast), or
    the solution of eclipse-nn's stage SDP ``sdp`` on K_i = m² W_i X_{i−1}⁻¹ W_iᵀ + 10⁻¹⁰ I (``stage_sdp``),
    run through every layer without ECLipsE's acceptance test; then X_i = L_i − m² L_i W_i X_{i−1}⁻¹ W_iᵀ L_i
    and the value is √λ_max(W_Lᵀ W_L X_{L−1}⁻¹). For αβ = 0 this is lipnb's stage with Λ = L/2; lipnb
    normalizes W_i by ‖W_i‖ and rescales each stage to λ_max = 1, so the same multipliers read
    Λ_i = ‖W_i‖² L_i / (2 λ_max(X_{i−1})). Returns those Λ_i, eclipse-nn's value, and per stage (SDP only) the
    SCS status, s, min L_i and the smallest eigenvalue of its Schur matrix (ECLipsE rejects below −10⁻⁸).
    """
    args = _enn_args(net)
    alpha, beta = args["alphas"][0], args["betas"][0]
    if alpha * beta != 0.0:
        raise ValueError(f"the stage mapping assumes αβ = 0; got α = {alpha}, β = {beta}")
    mid2 = ((alpha + beta) / 2.0) ** 2
    Ws = args["weights"]
    X = torch.eye(net.d, dtype=torch.float64)
    lams, stages = [], []
    for W, Wn in zip(Ws[:-1], Ws[1:]):
        Xinv = torch.linalg.inv(X)
        K = W @ Xinv @ W.T
        if stage_sdp:
            Kep = mid2 * (K + K.T) / 2 + 1e-10 * torch.eye(W.shape[0], dtype=torch.float64)
            s, L, schur, status = enn_stage_sdp(W.shape[0], Wn, Kep)
            if L is None:
                stages.append({"status": status})
                return [], math.inf, stages
            stages.append(
                {
                    "status": status,
                    "s": s,
                    "min_L": float(torch.diagonal(L).min()),
                    "schur_min_eig": float(torch.linalg.eigvals(schur).real.min()),
                }
            )
        else:
            L = torch.eye(W.shape[0], dtype=torch.float64) / (2 * mid2 * torch.linalg.eigvals(K).real.max())
        x_max = float(torch.linalg.eigvalsh((X + X.T) / 2)[-1])
        lams.append(float(np.linalg.norm(W.numpy(), 2)) ** 2 * torch.diagonal(L).clamp_min(0).numpy() / (2 * x_max))
        X = L - mid2 * L @ W @ Xinv @ W.T @ L
    Wl = Ws[-1]
    value = float(torch.sqrt(torch.linalg.eigvals(Wl.T @ Wl @ torch.linalg.inv(X)).real.max()))
    return lams, value, stages


def enn_fast_certified(net: MLP) -> tuple[float, dict[str, Any]]:
    """ECLipsE-Fast's closed-form multipliers certified by ``lipnb.certify_deep.sequential_bound``."""
    lams, value, _ = _enn_chain(net, stage_sdp=False)
    return sequential_bound(net, lams), {"enn_chain": value}


SHRINKS = (1.0, 1 - 1e-9, 1 - 1e-7, 1 - 1e-6, 1 - 1e-5, 1 - 1e-4, 1 - 1e-3, 0.99)


def enn_sdp_certified(net: MLP) -> tuple[float, dict[str, Any]]:
    """eclipse-nn's stage SDPs through every layer (no acceptance test), certified by ``sequential_bound``.

    An SDP optimum lies on the boundary of the PSD cone, so an SCS solution (eclipse-nn asks for eps 1e-6)
    may leave a stage slightly indefinite: the multipliers are then scaled by the first factor of
    ``SHRINKS`` that lets lipnb's Cholesky checks pass, as lipnb's own ``eclipse`` does with its solutions.
    """
    lams, value, stages = _enn_chain(net, stage_sdp=True)
    info: dict[str, Any] = {
        "stages": stages,
        "enn_chain": value,
        "accepted_by_enn": all(
            (st.get("s") or 0.0) >= 1e-20 and st.get("min_L", -1) >= 0 and st.get("schur_min_eig", -1) >= -1e-8
            for st in stages
        ),
    }
    if not lams:
        return math.inf, info
    for shrink in SHRINKS:
        bound = sequential_bound(net, [lam * shrink for lam in lams])
        if math.isfinite(bound):
            info["shrink"] = 1.0 - shrink
            return bound, info
    info["shrink"] = None
    return math.inf, info


# ---------------------------------------------------------------------------------------- one network
def timed(fn, *args, **kw):
    t = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t


def make_net(depth: int, d: int, act: str, m: int, kind: str, steps: int) -> tuple[MLP, torch.Tensor | None, dict]:
    net = MLP.init(d, [m] * (depth - 1), act, seed=0)
    if kind == "random":
        return net, None, {}
    ds = data.teacher(d, n_train=256, n_test=10, seed=0)
    # the curvature of the risk along the last layer grows like m (∂f/∂W_L = h_{L−1}), so a stable
    # constant step is ~1/m; at 1/m every setting here reaches the noise level (MSE ≈ 0.01) in 2000 steps
    trained, h = lipnb.train(net, ds.x_train, ds.y_train, schedules.constant(1.0 / m), steps=steps, log_every=steps)
    return trained, ds.x_train, {"lr": 1.0 / m, "steps": steps, "train_loss": float(h.loss[-1])}


def methods_for(depth: int, d: int, act: str, m: int, kind: str) -> list[str]:
    probe = (depth, d, act, kind) == PROBE
    names = ["product", "eclipse_fast", "eclipse", "eclipse_scs", "lipsdp", "lipsdp_scs"]
    if LipConstEstimator is not None:
        names += ["enn_fast", "enn_fast_cert", "enn", "enn_sdp"]
    return [k for k in names if k not in LIMITS or m <= LIMITS[k] or (probe and m <= 2 * LIMITS[k])]


def _fell_back(name: str, notes: dict[str, Any]) -> bool:
    """Whether the method returned a fallback value instead of its own (marked † in the table)."""
    if name == "enn":
        return bool(notes.get("fell_back_on_fast"))
    if name.startswith("lipsdp"):
        return "lipsdp_fallback" in notes
    if name.startswith("eclipse") and name != "eclipse_fast":
        return any("fell back" in st for st in notes.get("eclipse_status", []))
    return False


def run_one(depth: int, d: int, act: str, m: int, kind: str, steps: int) -> dict:
    net, pts, train_info = make_net(depth, d, act, m, kind, steps)
    row: dict[str, Any] = {
        "depth": depth,
        "d": d,
        "activation": act,
        "m": m,
        "net": kind,
        **train_info,
        "values": {},
        "times_s": {},
        "notes": {},
    }

    def with_notes(fn, *args):
        notes: dict[str, Any] = {}
        return fn(*args, details=notes), notes

    calls = {
        "product": lambda: (product_bound(net), None),
        "eclipse_fast": lambda: (eclipse_fast(net), None),
        "eclipse": lambda: with_notes(eclipse, net),
        "eclipse_scs": lambda: with_notes(eclipse, net, "SCS"),
        "lipsdp": lambda: with_notes(lipsdp, net),
        "lipsdp_scs": lambda: with_notes(lipsdp, net, "SCS"),
        "enn_fast": lambda: (enn_fast(net), None),
        "enn_fast_cert": lambda: enn_fast_certified(net),
        "enn": lambda: enn_eclipse(net),
        "enn_sdp": lambda: enn_sdp_certified(net),
    }
    for name in methods_for(depth, d, act, m, kind):
        try:
            (value, notes), t = timed(calls[name])
        except Exception as exc:  # noqa: BLE001 -- eclipse-nn raises whatever its solver raises; keep going
            if not name.startswith("enn"):
                raise
            row["notes"][name] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        row["values"][name], row["times_s"][name] = float(value), t
        if notes:
            row["notes"][name] = notes
    if (
        _fell_back("lipsdp_scs", row["notes"].get("lipsdp_scs", {}))
        and "lipsdp" not in row["values"]
        and m <= 2 * LIMITS["lipsdp"]
    ):  # is it SCS or the LMI? Clarabel solves the same LMI
        (value, notes), t = timed(calls["lipsdp"])
        row["values"]["lipsdp"], row["times_s"]["lipsdp"], row["notes"]["lipsdp"] = float(value), t, notes
    for name, kw in (("lower", {}), ("lower_strong", STRONG)):
        (value, _), t = timed(lower_bound, net, pts, **kw)
        row["values"][name], row["times_s"][name] = value, t
    v = row["values"]
    lower = max(v[k] for k in LOWER)
    uppers = {k: v[k] for k in LIPNB_UPPER if k in v}
    best = min(uppers, key=uppers.get)
    row.update(lower=lower, best_upper_method=best, tightness=uppers[best] / lower)
    # a bound certified by lipnb below a lower bound (an attained ‖∇f(x)‖) would be a bug in lipnb;
    # 1e-12 is room for the rounding of the gradient itself
    row["violations"] = [k for k in LIPNB_UPPER + ENN_CERTIFIED if k in v and v[k] < lower * (1 - 1e-12)]
    row["enn_below_lower"] = [k for k in ("enn_fast", "enn") if k in v and v[k] < lower]
    row["ratios"] = {}
    for num, den in (
        ("eclipse_fast", "enn_fast"),
        ("eclipse", "enn"),
        ("eclipse_scs", "enn"),
        ("eclipse", "enn_sdp"),
        ("eclipse_scs", "enn_sdp"),
        ("enn_fast_cert", "enn_fast"),
    ):
        if num in v and den in v and math.isfinite(v[num]) and math.isfinite(v[den]):
            row["ratios"][f"{num}/{den}"] = v[num] / v[den]
    order = ["eclipse_fast > product"] if v["eclipse_fast"] > v["product"] else []
    for sdp_key, ecl_key in (("lipsdp", "eclipse"), ("lipsdp_scs", "eclipse_scs")):
        if sdp_key in v and ecl_key in v and v[sdp_key] > v[ecl_key] * (1 + 1e-6):
            order.append(f"{sdp_key} > {ecl_key}")
    row["ordering_violations"] = order
    return row


def warm_up() -> None:
    """First calls import and initialize cvxpy, both solvers and autograd; keep them out of the timings."""
    net = MLP.init(2, [4, 4], "tanh", seed=0)
    eclipse_fast(net), eclipse(net), eclipse(net, "SCS"), lipsdp(net), lipsdp(net, "SCS")
    lower_bound(net, None, restarts=2, steps=5)
    if LipConstEstimator is not None:
        enn_fast(net), enn_fast_certified(net), enn_eclipse(net), enn_sdp_certified(net)


# ---------------------------------------------------------------------------------------- tables
def _fmt_t(t: float) -> str:
    return f"{t * 1e3:.2g} ms" if t < 0.1 else f"{t:.2g} s"


RATIOS = (
    "eclipse_fast/enn_fast",
    "eclipse/enn",
    "eclipse_scs/enn",
    "eclipse/enn_sdp",
    "eclipse_scs/enn_sdp",
    "enn_fast_cert/enn_fast",
)


def print_tables(rows: list[dict]) -> None:
    present = [c for c in COLUMNS if any(c in r["values"] for r in rows)]
    print("\n| L | d | σ | m | net | " + " | ".join(COLUMNS[c] for c in present) + " | best upper / lower |")
    print("|" + "---|" * (len(present) + 6))
    for r in rows:
        cells = []
        for c in present:
            if c not in r["values"]:
                cells.append("–")
                continue
            mark = "†" if _fell_back(c, r["notes"].get(c, {})) else ""
            cells.append(f"{r['values'][c]:.4g}{mark} ({_fmt_t(r['times_s'][c])})")
        print(
            f"| {r['depth']} | {r['d']} | {r['activation']} | {r['m']} | {r['net']} | "
            + " | ".join(cells)
            + f" | {r['tightness']:.3g} ({COLUMNS[r['best_upper_method']]}) |"
        )
    print(
        "\n†: the method returned its fallback (eclipse-nn's ECLipsE: ECLipsE-Fast; lipnb's lipsdp: eclipse_fast; "
        "lipnb's eclipse: a scalar multiplier for a stage)."
    )
    print("\nRatios (< 1: the first is tighter), over the rows where both ran and are finite:\n")
    print("| ratio | rows | min | median | max |\n|---|---|---|---|---|")
    for k in RATIOS:
        vals = [r["ratios"][k] for r in rows if k in r["ratios"]]
        if vals:
            print(f"| {k} | {len(vals)} | {min(vals):.6g} | {float(np.median(vals)):.6g} | {max(vals):.6g} |")
    for name in ("enn", "lipsdp", "lipsdp_scs", "eclipse", "eclipse_scs"):
        ran = [r for r in rows if name in r["values"]]
        if ran:
            fell = [
                f"L={r['depth']} d={r['d']} {r['activation']} m={r['m']} {r['net']}"
                for r in ran
                if _fell_back(name, r["notes"].get(name, {}))
            ]
            where = f": {'; '.join(fell)}" if fell and len(fell) < len(ran) else ""
            print(f"{COLUMNS[name]} fell back in {len(fell)} of {len(ran)} rows{where}")
    diag = [r["notes"]["enn_sdp"] for r in rows if "enn_sdp" in r["notes"] and "stages" in r["notes"]["enn_sdp"]]
    if diag:
        eigs = [st["schur_min_eig"] for dg in diag for st in dg["stages"] if "schur_min_eig" in st]
        acc = sum(bool(dg["accepted_by_enn"]) for dg in diag)
        shrinks = [dg.get("shrink") for dg in diag]
        gaps = [
            abs(r["notes"]["enn_sdp"]["enn_chain"] / r["values"]["enn_sdp"] - 1)
            for r in rows
            if "enn_sdp" in r["values"] and math.isfinite(r["values"]["enn_sdp"])
        ]
        print(
            f"eclipse-nn's stage SDPs: smallest eigenvalue of its Schur matrix {min(eigs):.2g} to {max(eigs):.2g} "
            f"(ECLipsE rejects below -1e-8); every stage accepted in {acc} of {len(diag)} networks; multipliers "
            f"certified as returned in {sum(x == 0.0 for x in shrinks)}, after shrinking by "
            f"{max((x for x in shrinks if x), default=0):.0e} at most in {sum(bool(x) for x in shrinks)}, "
            f"not at all in "
            f"{sum(x is None for x in shrinks)}; eclipse-nn's own chain value vs the certified value: at most "
            f"{max(gaps, default=0):.2g} relative."
        )


# ---------------------------------------------------------------------------------------- main
def _finite(obj: Any) -> Any:
    """JSON has no inf or nan: write them as the strings "inf", "-inf", "nan"."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--quick",
        action="store_true",
        help="depth 3, widths 16 and 32, 500 GD steps, no probes; writes no file unless --out is given",
    )
    ap.add_argument("--out", type=Path, default=None, help=f"result file (default {DEFAULT_OUT}; none with --quick)")
    args = ap.parse_args(argv)
    out = args.out if args.out is not None or args.quick else DEFAULT_OUT
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)  # small tensors: torch's pool only waits for the cores (see certify_speed.py)
    started = time.perf_counter()
    machine = {
        "cpu_model": cpu_model(),
        "nproc": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "blas_threads": 1,
        "platform": platform.platform(),
        "versions": versions(),
        "lipnb": lipnb.__version__,
        "loadavg_start": os.getloadavg(),
        **git_state(),
        "date_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M"),
        "command": " ".join([".venv/bin/python", "benchmarks/certify_deep_speed.py", *(argv or sys.argv[1:])]),
    }
    if LipConstEstimator is None:
        print(
            "# eclipse-nn is not installed: its columns are left out "
            "(.venv/bin/pip install --no-deps eclipse-nn==0.1.7)",
            flush=True,
        )
    print(
        f"# {machine['cpu_model']}, nproc={machine['nproc']}, 1 thread, load average "
        f"{machine['loadavg_start'][0]:.2f}, versions {machine['versions']}",
        flush=True,
    )
    warm_up()
    depths, widths, steps = ((3,), (16, 32), 500) if args.quick else (DEPTHS, WIDTHS, STEPS)
    configs = [
        (L, d, act, m, kind)
        for m in widths
        for L in depths
        for d in DIMS
        for act in ACTIVATIONS
        for kind in ("random", "trained")
        if kind == "random" or m <= TRAINED_MAX
    ]
    if not args.quick:  # (the probe's widths, twice each limit, are all in WIDTHS)
        configs += [(L, 5, "relu", WIDE, "random") for L in DEPTHS]
    rows = []
    for L, d, act, m, kind in configs:
        row = run_one(L, d, act, m, kind, steps)
        rows.append(row)
        cells = {k: f"{v:.4g} ({_fmt_t(row['times_s'][k])})" for k, v in row["values"].items()}
        print(json.dumps({k: row[k] for k in ("depth", "d", "activation", "m", "net")}), cells, flush=True)
        for k in row["violations"]:
            print(f"  VIOLATION: lipnb's {k} = {row['values'][k]:.6g} < lower bound {row['lower']:.6g}", flush=True)
        for k in row["enn_below_lower"]:
            print(
                f"  eclipse-nn's {k} = {row['values'][k]:.6g} is below the lower bound {row['lower']:.6g}", flush=True
            )
    machine["loadavg_end"] = os.getloadavg()
    machine["wall_s"] = time.perf_counter() - started
    summary = {
        "lipnb_violations": sum(len(r["violations"]) for r in rows),
        "max_rel_diff_enn_fast_cert": max(
            (abs(r["ratios"]["enn_fast_cert/enn_fast"] - 1) for r in rows if "enn_fast_cert/enn_fast" in r["ratios"]),
            default=None,
        ),
        "enn_below_lower": sum(len(r["enn_below_lower"]) for r in rows),
        "ordering_violations": [
            (r["depth"], r["d"], r["activation"], r["m"], r["net"], o) for r in rows for o in r["ordering_violations"]
        ],
    }
    print_tables(rows)
    print(
        f"\n{len(rows)} networks in {machine['wall_s']:.0f} s; load average {machine['loadavg_start'][0]:.2f} -> "
        f"{machine['loadavg_end'][0]:.2f}; lipnb bounds below the lower bound: {summary['lipnb_violations']}; "
        f"eclipse-nn values below it: {summary['enn_below_lower']}; eclipse-nn Fast vs its multipliers "
        f"certified by lipnb: {summary['max_rel_diff_enn_fast_cert']:.2g} relative at most; ordering violations: "
        f"{summary['ordering_violations'] or 'none'}"
    )
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(
            json.dumps(
                _finite(
                    {
                        "machine": machine,
                        "limits": LIMITS,
                        "probe": PROBE,
                        "strong_lower": STRONG,
                        "summary": summary,
                        "rows": rows,
                    }
                ),
                indent=1,
            )
        )
        print(f"written to {out}")
    return 1 if summary["lipnb_violations"] else 0


if __name__ == "__main__":
    sys.exit(main())
