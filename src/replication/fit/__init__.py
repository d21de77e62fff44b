"""The fitters: scaling laws from (N, D, loss) observations, by the Chinchilla paper's three
approaches, with bootstrap intervals.

- :func:`fit_prefactors`, :func:`chinchilla_law`: N_opt = k_N·C^a, D_opt = k_D·C^b with a and b
  fixed (Krasser 2023); :func:`fit_power_law`, :func:`fit_compute_optimal`: free exponents.
- :func:`fit_approach1`: the lower envelope of training curves.
- :func:`fit_approach2`: the minimum of each IsoFLOP profile (one of :data:`VERTEX_ESTIMATORS`) gives
  N*(C) and D*(C).
- :func:`fit_approach3`: L(N, D) = E + A/N^α + B/D^β, by Chinchilla's Huber-LSE objective over a
  grid of 4,500 starts, or by Besiroglu et al.'s Huber likelihood; :func:`frontier` is the
  compute-optimal allocation it implies.

Every fitter takes plain arrays or a DataFrame with columns ``N``, ``D``, ``loss`` and optionally
``C`` (default 6·N·D), and returns a :class:`FitResult`.
"""
from replication.fit.approach1 import fit_approach1
from replication.fit.approach2 import (NoInteriorMinimum, Vertex, batch_vertices, bootstrap_approach2, budget_labels,
                                       fit_approach2, parabola_vertex, resampled_exponents)
from replication.fit.approach3 import (BOOTSTRAP_NAMES, ESTIMATORS, bootstrap_approach3, bootstrap_estimators,
                                       compute_for_size, fit_approach3, frontier, predict_loss, refit_approach3)
from replication.fit.bootstrap import Bootstrap, run_bootstrap
from replication.fit.laws import (ScalingLaw, chinchilla_law, fit_compute_optimal, fit_power_law, fit_prefactor,
                                  fit_prefactors, fit_scaling_law)
from replication.fit.objectives import (PARAM_NAMES, chinchilla_grid, huber, huber_lse_objective,
                                        huber_nll_objective, params_to_theta, start_grid, theta_to_params)
from replication.fit.observations import inconsistent_rows, observations, read_csv
from replication.fit.optimize import default_workers
from replication.fit.result import CONVERGED, FAILED, MAX_ITERATIONS, FitResult
from replication.fit.vertex import DEFAULT_ESTIMATOR, VERTEX_ESTIMATORS, minima, profile_minimum
from replication.fit.synthetic import log_spaced, synthetic_curves, synthetic_isoflops, synthetic_points

__all__ = [
    "BOOTSTRAP_NAMES", "Bootstrap", "CONVERGED", "DEFAULT_ESTIMATOR", "ESTIMATORS", "FAILED", "FitResult",
    "MAX_ITERATIONS", "VERTEX_ESTIMATORS",
    "NoInteriorMinimum", "PARAM_NAMES", "ScalingLaw", "Vertex", "batch_vertices", "bootstrap_approach2",
    "bootstrap_approach3", "bootstrap_estimators", "budget_labels",
    "chinchilla_grid", "chinchilla_law", "compute_for_size", "default_workers", "fit_approach1", "fit_approach2",
    "fit_approach3", "fit_compute_optimal", "fit_power_law", "fit_prefactor", "fit_prefactors", "fit_scaling_law",
    "frontier", "huber", "huber_lse_objective", "huber_nll_objective", "inconsistent_rows", "log_spaced", "minima",
    "observations",
    "params_to_theta", "parabola_vertex", "predict_loss", "profile_minimum", "read_csv", "refit_approach3",
    "resampled_exponents",
    "run_bootstrap", "start_grid", "synthetic_curves",
    "synthetic_isoflops", "synthetic_points", "theta_to_params",
]
