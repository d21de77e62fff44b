"""``replication fit``: fit a scaling law to the runs in a CSV."""
from __future__ import annotations

import argparse
import json

from replication.errors import ReplicationError, check_range
from replication.fit.approach1 import fit_approach1
from replication.fit.approach2 import fit_approach2
from replication.fit.approach3 import fit_approach3
from replication.fit.laws import fit_compute_optimal, fit_prefactors
from replication.fit.observations import observations, read_csv
from replication.fit.result import FitResult

KINDS = ("prefactor", "powerlaw", "approach1", "approach2", "approach3")


def _float_list(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ReplicationError(f"--budgets {text!r}: expected comma-separated numbers, e.g. 6e18,1e19,3e19") from None


def _grid_arg(text: str):
    if text == "chinchilla":
        return text
    try:
        return int(text)
    except ValueError:
        raise ReplicationError(f"--grid {text!r}; allowed: 'chinchilla' or a number of starts in [1, 4500]") from None


def run_fit(kind: str, data, *, method: str | None = None, bootstrap: int = 0, seed: int = 0, a: float = 0.5,
            b: float = 0.5, space: str = "linear", budgets=None, snap_tol: float = 0.1, on_edge: str = "exclude",
            grid="chinchilla", delta: float = 1e-3, tail: float = 0.15, grid_points: int = 1500) -> FitResult:
    """Dispatch one ``replication fit`` kind on a DataFrame, with the command's checks of its options."""
    if kind not in KINDS:
        raise ReplicationError(f"kind={kind!r}; allowed: {', '.join(KINDS)}")
    check_range("bootstrap", bootstrap, 0, 100_000)
    if method is not None and kind != "approach3":
        raise ReplicationError(f"--method applies to approach3 only; got kind {kind!r}")
    if kind == "prefactor":
        if bootstrap:
            raise ReplicationError("--bootstrap does not apply to prefactor (a closed-form fit with fixed exponents)")
        N, D, _, C = observations(data, need_loss=False)
        return fit_prefactors(C, N, D, a, b, space=space)
    if kind == "powerlaw":
        N, D, _, C = observations(data, need_loss=False)
        return fit_compute_optimal(C, N, D, bootstrap=bootstrap, seed=seed)
    if kind == "approach1":
        return fit_approach1(data, tail=tail, grid_points=grid_points, bootstrap=bootstrap, seed=seed)
    if kind == "approach2":
        return fit_approach2(data, budgets=budgets, snap_tol=snap_tol, on_edge=on_edge, bootstrap=bootstrap, seed=seed)
    return fit_approach3(data, method=method or "huber", delta=delta, grid=grid, bootstrap=bootstrap, seed=seed)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="replication fit",
        description="Fit a scaling law to a CSV with columns N (parameters), D (tokens), loss, and optionally "
                    "C (FLOPs, default 6ND). prefactor/powerlaw read optimal (N, D, C) rows; approach1 reads "
                    "training curves (optional columns run, horizon); approach2 IsoFLOP runs; approach3 final losses.")
    p.add_argument("kind", choices=KINDS)
    p.add_argument("--data", required=True, help="CSV file")
    p.add_argument("--method", choices=("huber", "likelihood"), default=None,
                   help="approach3: Chinchilla's Huber-LSE grid fit (default) or Besiroglu et al.'s Huber likelihood")
    p.add_argument("--bootstrap", type=int, default=0, metavar="K", help="bootstrap resamples for intervals (0: none)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--a", type=float, default=0.5, help="prefactor: fixed exponent of N_opt (default 0.5)")
    p.add_argument("--b", type=float, default=0.5, help="prefactor: fixed exponent of D_opt (default 0.5)")
    p.add_argument("--space", choices=("linear", "log"), default="linear", help="prefactor: least squares in linear or log space")
    p.add_argument("--budgets", type=_float_list, default=None, help="approach2: snap C to these budgets, e.g. 6e18,1e19")
    p.add_argument("--snap-tol", type=float, default=0.1, help="approach2: keep points within a factor 1±tol of a budget")
    p.add_argument("--on-edge", choices=("exclude", "raise"), default="exclude",
                   help="approach2: a budget without an interior minimum is excluded (listed) or an error")
    p.add_argument("--grid", type=_grid_arg, default="chinchilla", help="approach3: 'chinchilla' (4,500 starts) or a number of them")
    p.add_argument("--delta", type=float, default=1e-3, help="approach3: Huber delta")
    p.add_argument("--tail", type=float, default=0.15, help="approach1: fraction of each schedule used")
    p.add_argument("--grid-points", type=int, default=1500, help="approach1: log-spaced FLOP grid size")
    args = p.parse_args(argv)
    data = read_csv(args.data)
    if data.empty:
        raise ReplicationError(f"--data {args.data!r} has no rows")
    result = run_fit(args.kind, data, method=args.method, bootstrap=args.bootstrap, seed=args.seed, a=args.a, b=args.b,
                     space=args.space, budgets=args.budgets, snap_tol=args.snap_tol, on_edge=args.on_edge,
                     grid=args.grid, delta=args.delta, tail=args.tail, grid_points=args.grid_points)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, default=float))
    else:
        print(result)
    return 0
