"""``replication fit``: fit a scaling law to the runs in a CSV."""
from __future__ import annotations

import argparse
import json

from replication.errors import ArgumentParser, ReplicationError, check_choice, check_int, finite_float
from replication.fit.approach1 import fit_approach1
from replication.fit.approach2 import fit_approach2
from replication.fit.approach3 import fit_approach3
from replication.fit.laws import fit_compute_optimal, fit_prefactors
from replication.fit.observations import observations, read_csv
from replication.fit.result import FitResult
from replication.fit.vertex import DEFAULT_ESTIMATOR, VERTEX_ESTIMATORS

#: Each kind and the options it reads. An option given to a kind that does not read it is an error: it
#: would be ignored, and the user would believe it had been applied.
OPTIONS = {
    "prefactor": ("a", "b", "space"),
    "powerlaw": ("bootstrap", "seed"),
    "approach1": ("tail", "grid_points", "bootstrap", "seed"),
    "approach2": ("budgets", "snap_tol", "on_edge", "estimator", "bootstrap", "seed"),
    "approach3": ("method", "grid", "delta", "bootstrap", "seed"),
}
KINDS = tuple(OPTIONS)


def _budgets(text: str) -> list[float]:
    values = [finite_float(v) for v in text.split(",") if v.strip()]
    if not values:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, e.g. 6e18,1e19,3e19; got {text!r}")
    return values


def run_fit(kind: str, data, **options) -> FitResult:
    """One ``replication fit`` kind on a DataFrame, with the options given (the rest keep the fitter's
    defaults; the prefactor exponents default to 0.5)."""
    check_choice("kind", kind, KINDS)
    for name in options:
        if name not in OPTIONS[kind]:
            readers = ", ".join(k for k, names in OPTIONS.items() if name in names)
            raise ReplicationError(f"--{name.replace('_', '-')} does not apply to {kind}; it applies to: {readers}")
    if "seed" in options:  # also where no bootstrap reads it, so that a bad seed never passes unseen
        check_int("seed", options["seed"], 0)
    if kind == "prefactor":
        N, D, _, C = observations(data, need_loss=False)
        return fit_prefactors(C, N, D, options.pop("a", 0.5), options.pop("b", 0.5), **options)
    if kind == "powerlaw":
        N, D, _, C = observations(data, need_loss=False)
        return fit_compute_optimal(C, N, D, **options)
    fitter = {"approach1": fit_approach1, "approach2": fit_approach2, "approach3": fit_approach3}[kind]
    return fitter(data, **options)


def main(argv: list[str]) -> int:
    p = ArgumentParser(
        prog="replication fit", argument_default=argparse.SUPPRESS,
        description="Fit a scaling law to a CSV with columns N (parameters), D (tokens), loss, and optionally "
                    "C (FLOPs, default 6ND). prefactor/powerlaw read optimal (N, D, C) rows; approach1 reads "
                    "training curves (optional columns run, horizon); approach2 IsoFLOP runs; approach3 final "
                    "losses. Each option names the kinds that read it; giving it to another kind is an error.")
    p.add_argument("kind", choices=KINDS)
    p.add_argument("--data", required=True, help="CSV file")
    p.add_argument("--json", action="store_true", default=False, help="print the result as JSON")
    p.add_argument("--bootstrap", type=int, metavar="K", help="powerlaw, approach1-3: bootstrap resamples for "
                   "intervals, 0 or 2 to 1,000,000 (default 0: none)")
    p.add_argument("--seed", type=int, help="powerlaw, approach1-3: seed of the bootstrap and of --grid K, >= 0 "
                   "(default 0)")
    p.add_argument("--a", type=finite_float, help="prefactor: fixed exponent of N_opt, in [0, 2] (default 0.5)")
    p.add_argument("--b", type=finite_float, help="prefactor: fixed exponent of D_opt, in [0, 2] (default 0.5)")
    p.add_argument("--space", choices=("linear", "log"),
                   help="prefactor: least squares in linear or log space (default linear)")
    p.add_argument("--budgets", type=_budgets,
                   help="approach2: snap C to these budgets, e.g. 6e18,1e19 (default: group equal C)")
    p.add_argument("--snap-tol", type=finite_float,
                   help="approach2: keep points within a factor 1±tol of a budget, tol in (0, 1) (default 0.1)")
    p.add_argument("--on-edge", choices=("exclude", "raise"), help="approach2: a budget without an interior "
                   "minimum is excluded (listed) or an error (default exclude)")
    p.add_argument("--estimator", choices=VERTEX_ESTIMATORS, help="approach2: how each budget's minimum is found: "
                   "a parabola through every run (all, the paper's), through the 5 sizes nearest the lowest loss "
                   "(window), an Akima spline (spline), or the parametric form along the IsoFLOP line (profile) "
                   f"(default {DEFAULT_ESTIMATOR})")
    p.add_argument("--method", choices=("huber", "likelihood"), help="approach3: Chinchilla's Huber-LSE grid fit "
                   "(default) or Besiroglu et al.'s Huber likelihood")
    p.add_argument("--grid", help="approach3: 'chinchilla' (the paper's 4,500 starts, default) or a number of "
                   "them in [1, 4500]")
    p.add_argument("--delta", type=finite_float, help="approach3: Huber delta, in [1e-6, 10] (default 1e-3)")
    p.add_argument("--tail", type=finite_float,
                   help="approach1: fraction of each schedule used, in (0, 1] (default 0.15)")
    p.add_argument("--grid-points", type=int,
                   help="approach1: log-spaced FLOP grid size, 2 to 1,000,000 (default 1500)")
    args = vars(p.parse_args(argv))
    kind, path, as_json = args.pop("kind"), args.pop("data"), args.pop("json")
    data = read_csv(path, "--data")
    result = run_fit(kind, data, **args)
    if as_json:
        print(json.dumps(result.to_dict(), indent=2, default=float))
    else:
        print(result)
    return 0
