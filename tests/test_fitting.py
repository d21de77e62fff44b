"""Fitters recover known constants from synthetic data; paper tables give the printed numbers."""
import dataclasses
import json
import math
import pickle

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize

import replication.fit as F
from replication.fit.approach3 import regenerate_table_a3
from replication.fit.stopping import sum_versus_mean
from replication.fit.vertex_bias import off_centre_bias
from replication.cli import main
from replication.errors import ReplicationError
from replication.papers.chinchilla import (CHINCHILLA, EQ10, EQ10_UNROUNDED, GOPHER, LOSS_CHINCHILLA, LOSS_GOPHER,
                               TABLE_3, TABLE_A3)

#: A known surface, close to but not equal to the paper's.
TRUE = {"A": 400.0, "B": 600.0, "E": 1.8, "alpha": 0.33, "beta": 0.30}
#: Its compute-optimal exponent a = β/(α+β) (the paper's eq. 4): 0.30/0.63.
TRUE_A = 10 / 21


@pytest.fixture(scope="module")
def clean():
    return F.synthetic_points(TRUE, n_points=80, seed=1)


@pytest.fixture(scope="module")
def noisy():
    return F.synthetic_points(TRUE, n_points=150, noise=0.01, seed=2)


# -- objectives ---------------------------------------------------------------------------------


def _fd_grad(fun, x, h=1e-6):
    g = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (fun(x + e) - fun(x - e)) / (2 * h)
    return g


@pytest.mark.parametrize("which", ["huber", "nll"])
def test_analytic_gradients_match_finite_differences(noisy, which):
    n, d, l = np.log(noisy.N.values), np.log(noisy.D.values), np.log(noisy.loss.values)
    theta = np.array([5.5, 6.2, 0.6, 0.31, 0.32])
    # a large delta keeps every residual in one Huber branch near x, so differences are smooth
    if which == "huber":
        x = theta
        obj = lambda t: F.huber_lse_objective(t, n, d, l, delta=0.5)  # noqa: E731
    else:
        x = np.r_[theta, math.log(0.05)]
        obj = lambda t: F.huber_nll_objective(t, n, d, l, delta=1.0)  # noqa: E731
    f, g = obj(x)
    fd = _fd_grad(lambda t: obj(t)[0][0], x)
    np.testing.assert_allclose(g[0], fd, rtol=1e-5, atol=1e-8)


def test_huber_is_quadratic_inside_and_linear_outside():
    np.testing.assert_allclose(F.huber(np.array([0.5e-3, -2e-3]), 1e-3), [0.125e-6, 1e-3 * (2e-3 - 0.5e-3)])


def test_chinchilla_grid_is_the_papers():
    g = F.chinchilla_grid()
    assert g.shape == (4500, 5)
    assert sorted(set(g[:, 0])) == [0, 5, 10, 15, 20, 25]
    assert sorted(set(g[:, 2])) == [-1, -0.5, 0, 0.5, 1]
    assert sorted(set(g[:, 3])) == [0, 0.5, 1, 1.5, 2]
    assert len({tuple(r) for r in g}) == 4500


# -- Approach 3 ---------------------------------------------------------------------------------


def test_approach3_huber_recovers_noiseless_surface(clean):
    r = F.fit_approach3(clean, grid=300)
    for k, v in TRUE.items():
        assert r[k] == pytest.approx(v, rel=1e-4), k
    assert r.fun < 1e-12
    assert r["a"] == pytest.approx(TRUE_A, rel=1e-4)


def test_approach3_full_grid_with_noise(noisy):
    r = F.fit_approach3(noisy, search="grid")  # all 4,500 starts
    assert r.details["starts"] == 4500
    assert r["alpha"] == pytest.approx(TRUE["alpha"], abs=0.02)
    assert r["beta"] == pytest.approx(TRUE["beta"], abs=0.02)
    assert r["E"] == pytest.approx(TRUE["E"], abs=0.05)
    assert r["a"] == pytest.approx(TRUE_A, abs=0.02)
    assert r.details["starts_at_best"] >= 1
    text = str(r)
    assert "alpha" in text and "objective" in text and "4500 starts" in text


def test_batched_search_matches_a_plain_scipy_loop(noisy):
    """The same starts through scipy one by one (analytic gradient) reach no better objective."""
    n, d, l = np.log(noisy.N.values), np.log(noisy.D.values), np.log(noisy.loss.values)
    starts = F.chinchilla_grid()[np.random.default_rng(3).choice(4500, 20, replace=False)]
    ours = F.fit_approach3(noisy, grid=starts)
    best = min(
        minimize(lambda t: tuple(v[0] for v in F.huber_lse_objective(t, n, d, l)), s, jac=True,
                 method="L-BFGS-B").fun
        for s in starts
    )
    assert ours.fun <= best * (1 + 1e-6)


def test_mean_objective_stalls_where_sum_converges(noisy):
    """Why the sum: with the mean, f ≈ 1e-5 and scipy's ftol·max(|f|, 1) test stops L-BFGS early."""
    n, d, l = np.log(noisy.N.values), np.log(noisy.D.values), np.log(noisy.loss.values)
    x0 = np.array([5.0, 5.0, 0.5, 0.5, 0.5])
    out = {}
    for name, scale in (("sum", 1.0), ("mean", 1.0 / n.size)):
        res = minimize(lambda t: tuple(v[0] * scale for v in F.huber_lse_objective(t, n, d, l)), x0, jac=True,
                       method="L-BFGS-B")
        out[name] = F.huber_lse_objective(res.x, n, d, l)[0][0]
    assert out["mean"] > 1.2 * out["sum"]


def test_approach3_likelihood_recovers_surface(noisy):
    r = F.fit_approach3(noisy, method="likelihood", grid=300)
    assert r["alpha"] == pytest.approx(TRUE["alpha"], abs=0.02)
    assert r["beta"] == pytest.approx(TRUE["beta"], abs=0.02)
    assert r["E"] == pytest.approx(TRUE["E"], abs=0.05)
    assert r.details["sigma"] > 0
    assert r.method == "approach3-likelihood" and "Besiroglu" in r.title
    assert r.x.size == 6 and math.exp(r.x[5]) == pytest.approx(r.details["sigma"], rel=1e-12)


@pytest.mark.parametrize("method", ["huber", "likelihood"])
def test_bootstrap_intervals_cover_truth(method):
    data = F.synthetic_points(TRUE, n_points=150, noise=0.02, seed=5)
    r = F.fit_approach3(data, method=method, grid=200, bootstrap=200, ci=(2.5, 97.5))
    for k in ("alpha", "beta", "E", "a"):
        lo, hi = r.ci[k]
        assert lo < r[k] < hi, k
        truth = TRUE_A if k == "a" else TRUE[k]
        assert lo <= truth <= hi, (k, lo, truth, hi)
    assert r.details["bootstrap_converged"].endswith("/200")


def test_bootstrap_resamples_really_refit():
    """Each resample must move off the warm start: intervals of the noiseless point estimate are wide."""
    data = F.synthetic_points(TRUE, n_points=100, noise=0.02, seed=6)
    r = F.fit_approach3(data, grid=100, bootstrap=100)
    lo, hi = r.ci["alpha"]
    assert hi - lo > 0.005


# -- frontier and the paper's numbers ------------------------------------------------------------


def test_frontier_matches_brute_force_minimum():
    law = F.frontier(TRUE)
    for C in (1e19, 1e22, 1e25):
        N = np.logspace(5, 14, 200_001)
        loss = F.predict_loss(TRUE, N, C / (6 * N))
        assert float(law.n_opt(C)) == pytest.approx(N[loss.argmin()], rel=2e-4)
        assert float(law.d_opt(C)) == pytest.approx(C / (6 * N[loss.argmin()]), rel=2e-4)


def test_eq10_implied_exponents_and_losses():
    law = F.frontier(EQ10_UNROUNDED)
    assert round(law.a, 2) == 0.46 and round(law.b, 2) == 0.54
    assert F.predict_loss(EQ10, GOPHER["N"], GOPHER["D"]) == pytest.approx(LOSS_GOPHER, abs=5e-4)
    assert F.predict_loss(EQ10, CHINCHILLA["N"], CHINCHILLA["D"]) == pytest.approx(LOSS_CHINCHILLA, abs=1e-3)


def test_table_a3_175b_misprint_is_found():
    bad = F.inconsistent_rows(TABLE_A3["N"], TABLE_A3["approach3_C"], TABLE_A3["approach3_D"])
    assert TABLE_A3["N"].iloc[bad].tolist() == [175e9]
    assert F.inconsistent_rows(TABLE_A3["N"], TABLE_A3["approach2_C"], TABLE_A3["approach2_D"]).size == 0
    assert F.inconsistent_rows(TABLE_3["N"], TABLE_3["C"], TABLE_3["D"]).size == 0


def test_frontier_and_compute_for_size_by_hand():
    """L = E + 4/N + 1/D: along N·D = C/6, 4/N + 6N/C is least at N = 2·(C/6)^½, so a = b = ½,
    k_N = 2/√6, k_D = 1/(2√6); a model of N parameters is optimal at C = 1.5·N², with D = N/4."""
    surface = {"A": 4.0, "B": 1.0, "E": 1.7, "alpha": 1.0, "beta": 1.0}
    law = F.frontier(surface)
    assert (law.a, law.b) == (0.5, 0.5)
    assert law.k_N == pytest.approx(2 / math.sqrt(6), rel=1e-12)
    assert law.k_D == pytest.approx(1 / (2 * math.sqrt(6)), rel=1e-12)
    C, D = F.compute_for_size(surface, [1e9, 1e11])
    np.testing.assert_allclose(C, [1.5e18, 1.5e22], rtol=1e-12)
    np.testing.assert_allclose(D, [2.5e8, 2.5e10], rtol=1e-12)


# -- power laws and prefactors -------------------------------------------------------------------


def test_prefactors_from_the_papers_tables():
    r1 = F.fit_prefactors(TABLE_3["C"], TABLE_3["N"], TABLE_3["D"], 0.5, 0.5)
    assert float(f"{r1['k_N']:.4g}") == 0.08772 and float(f"{r1['k_D']:.4g}") == 1.896
    r2 = F.fit_prefactors(TABLE_A3["approach2_C"], TABLE_A3["N"], TABLE_A3["approach2_D"], 0.49, 0.51, space="log")
    assert float(f"{r2['k_N']:.4g}") == 0.1444 and float(f"{r2['k_D']:.4g}") == 1.154
    assert "N_opt = 0.0877" in str(r1)


def test_power_law_exact_and_bootstrap():
    C = np.logspace(18, 24, 12)
    r = F.fit_power_law(C, 0.3 * C**0.47)
    assert r["a"] == pytest.approx(0.47, rel=1e-12) and r["k"] == pytest.approx(0.3, rel=1e-9)
    rng = np.random.default_rng(0)
    y = 0.3 * C**0.47 * np.exp(0.05 * rng.standard_normal(C.size))
    rb = F.fit_power_law(C, y, bootstrap=2000, ci=(2.5, 97.5))
    assert rb.ci["a"][0] < 0.47 < rb.ci["a"][1]
    assert rb.ci["a"][0] < rb["a"] < rb.ci["a"][1]


def test_compute_optimal_on_table3_gives_exponents_near_half():
    r = F.fit_compute_optimal(TABLE_3["C"], TABLE_3["N"], TABLE_3["D"])
    assert r["a"] == pytest.approx(0.50, abs=0.01) and r["b"] == pytest.approx(0.50, abs=0.01)


# -- Approach 2 ----------------------------------------------------------------------------------


def test_parabola_vertex():
    x = np.linspace(-1, 3, 9)
    coef, v, at_v, why = F.parabola_vertex(x, 2 + 0.5 * (x - 1.2) ** 2)
    assert why is None and v == pytest.approx(1.2) and at_v == pytest.approx(2.0)
    np.testing.assert_allclose(coef, [2 + 0.5 * 1.44, -1.2, 0.5], atol=1e-12)
    down = F.parabola_vertex(x, 1 - x**2)
    assert down.reason == "parabola opens downward" and math.isnan(down.x)
    np.testing.assert_allclose(down.coef, [1, 0, -1], atol=1e-12)  # in x, not in x - mean(x)
    assert F.parabola_vertex(x, (x - 5) ** 2).reason == "vertex outside the sampled sizes"
    assert F.parabola_vertex([1, 1, 2], [1, 2, 3]).reason == "2 distinct sizes, need 3"


def test_approach2_recovers_exponents():
    budgets = [1e18, 1e19, 1e20, 1e21]
    r = F.fit_approach2(F.synthetic_isoflops(TRUE, budgets))
    assert r["a"] == pytest.approx(TRUE_A, abs=1e-3)
    assert r["b"] == pytest.approx(1 - TRUE_A, abs=1e-3)
    np.testing.assert_allclose(r.table["N_star"], F.frontier(TRUE).n_opt(np.array(budgets)), rtol=0.01)
    noisy = F.fit_approach2(F.synthetic_isoflops(TRUE, budgets, sizes=15, noise=0.003, seed=1), bootstrap=200)
    assert noisy["a"] == pytest.approx(TRUE_A, abs=0.03)


def test_approach2_off_centre_sampling_biases_the_vertex():
    law = F.frontier(TRUE)
    err = {}
    for off in (0.0, 0.6):
        t = F.synthetic_isoflops(TRUE, [1e19, 1e20], span=2.0, offset=off)
        err[off] = F.fit_approach2(t, estimator="all").table["N_star"].iloc[1] / float(law.n_opt(1e20)) - 1
    assert abs(err[0.6]) > 2 * abs(err[0.0]) and abs(err[0.6]) > 0.03


def test_approach2_no_interior_minimum_is_typed_or_flagged():
    budgets = [1e18, 1e19, 1e20]
    t = pd.concat([F.synthetic_isoflops(TRUE, budgets[:2]),
                   F.synthetic_isoflops(TRUE, budgets[2:], offset=1.5)], ignore_index=True)
    with pytest.raises(F.NoInteriorMinimum) as info:
        F.fit_approach2(t, on_edge="raise")
    assert info.value.budget == 1e20 and isinstance(info.value, ReplicationError)
    r = F.fit_approach2(t)
    assert r.details["budgets_excluded"] == 1 and r.details["excluded"][0]["C"] == 1e20
    assert "excluded" in r.message and len(r.table) == 2 and r.details["parabola_N"].shape == (2, 3)


def test_approach2_snaps_to_budgets():
    t = F.synthetic_isoflops(TRUE, [1e19, 1e20, 1e21])
    t["C"] = t["C"] * np.random.default_rng(0).uniform(0.95, 1.05, len(t))
    r = F.fit_approach2(t, budgets=[1e19, 1e20, 1e21], snap_tol=0.1)
    assert r["a"] == pytest.approx(TRUE_A, abs=0.01)
    assert sorted(r.table["C"]) == [1e19, 1e20, 1e21]


# -- Approach 1 ----------------------------------------------------------------------------------


def test_approach1_recovers_exponent_from_training_curves():
    curves = F.synthetic_curves(TRUE, np.logspace(7, 9.5, 25), np.logspace(8.5, 11, 12))
    r = F.fit_approach1(curves)
    assert r.method == "approach1" and r.status == "converged"
    assert r["a"] == pytest.approx(TRUE_A, abs=0.02)
    assert r["b"] == pytest.approx(1 - TRUE_A, abs=0.02)
    assert r.details["runs"] == 300 and r.options["grid_points"] == 1500
    assert r.table["N"].is_monotonic_increasing or r.table["N"].iloc[-1] > r.table["N"].iloc[0]


def test_approach1_uses_only_the_tail_of_each_schedule():
    curves = F.synthetic_curves(TRUE, np.logspace(7, 9, 9), [1e9, 1e10], schedule_penalty=0.0)
    D0 = curves.groupby("run")["D"].transform("max")
    # poison the first 85% of each run: if those points were used the envelope would pick them
    early = curves["D"] < 0.85 * D0
    curves.loc[early, "loss"] = 0.5
    r = F.fit_approach1(curves)
    assert np.isfinite(r["a"]) and r["a"] == pytest.approx(TRUE_A, abs=0.1)


def test_approach1_needs_two_runs():
    one = F.synthetic_curves(TRUE, [1e8], [1e9])
    with pytest.raises(ReplicationError, match="at least 2 runs"):
        F.fit_approach1(one)


# -- input validation and the CLI ----------------------------------------------------------------


@pytest.mark.parametrize("frame, match", [
    (pd.DataFrame({"N": [1e8, 1e9], "loss": [3.0, 2.5]}), "missing column 'D'"),
    (pd.DataFrame({"N": [1e8, -1e9], "D": [1e9, 1e9], "loss": [3.0, 2.5]}), r"N\[1\]=-1000000000.0 is out of range"),
    (pd.DataFrame({"N": [1e8, 1e9], "D": [1e9, 1e9], "loss": [3.0, np.nan]}), "loss contains NaN"),
    (pd.DataFrame({"N": [1e8, 1e9], "D": [1e9, 1e9], "loss": [3.0, 2.0]}), "at least 5 points"),
    (pd.DataFrame({"N": ["a", "b"], "D": [1e9, 1e9], "loss": [3.0, 2.0]}), "N must be numeric"),
])
def test_bad_input_errors(frame, match):
    with pytest.raises(ReplicationError, match=match):
        F.fit_approach3(frame)


def test_other_bad_arguments():
    t = F.synthetic_points(TRUE, n_points=20)
    with pytest.raises(ReplicationError, match="method"):
        F.fit_approach3(t, method="mean")
    with pytest.raises(ReplicationError, match="grid"):
        F.fit_approach3(t, grid=0)
    with pytest.raises(ReplicationError, match="bootstrap"):
        F.fit_power_law([1e20, 1e21, 1e22], [1, 2, 3], bootstrap=1)
    with pytest.raises(ReplicationError, match="at least 2 points"):
        F.fit_power_law([1e20], [1])
    with pytest.raises(ReplicationError, match="on_edge"):
        F.fit_approach2(F.synthetic_isoflops(TRUE, [1e19, 1e20]), on_edge="ignore")


@pytest.mark.parametrize("kind, frame, extra", [
    ("prefactor", TABLE_3[["N", "D", "C"]], ["--a", "0.5", "--b", "0.5"]),
    ("powerlaw", TABLE_3[["N", "D", "C"]], ["--bootstrap", "50"]),
    ("approach2", F.synthetic_isoflops(TRUE, [1e18, 1e19, 1e20]), []),
    ("approach3", F.synthetic_points(TRUE, n_points=40), ["--grid", "50", "--method", "likelihood"]),
    ("approach1", F.synthetic_curves(TRUE, np.logspace(7, 9, 6), [1e9, 1e10]), ["--grid-points", "200"]),
])
def test_cli_kinds_json(tmp_path, capsys, kind, frame, extra):
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False)
    assert main(["fit", kind, "--data", str(path), "--json", *extra]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["success"] and out["n_points"] == len(frame)
    if kind == "prefactor":
        assert out["params"]["k_N"] == pytest.approx(0.08772, rel=1e-3)


@pytest.mark.parametrize("content, match", [
    ("N,loss\n1e8,3\n", "missing column 'D'"),
    ("N,D,loss\n1e8,1e9,3\n1e9,0,2\n", "out of range"),
    ("N,D,loss\n1e8,1e9,3\n1e9,1e10,\n", "NaN"),
    ("N,D,loss\n1e8,1e9,3\n", "at least 5 points"),
    ("N,D,loss\n", "no rows"),
])
def test_cli_errors_are_one_line(tmp_path, capsys, content, match):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    assert main(["fit", "approach3", "--data", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and match in err
    assert main(["fit", "approach3", "--data", str(tmp_path / "missing.csv")]) == 2
    assert "no such file" in capsys.readouterr().err


# -- chapter helpers (book/_lib) -----------------------------------------------------------------


def test_regenerate_table_a3_flags_only_the_175b_row():
    t = regenerate_table_a3(EQ10_UNROUNDED)
    assert t.loc[t["misprint"] != "", "N"].tolist() == [175e9]
    ok = t[t["misprint"] == ""]
    assert ok["C ours / printed"].between(1.0, 1.25).all()
    # Table A3 prints 1.71e24 FLOPs for 67B; the unrounded constants give about 2% more
    assert t.loc[t["N"] == 67e9, "C ours"].item() == pytest.approx(1.71e24, rel=0.03)


def test_off_centre_bias_grows_off_centre_and_flags_edges():
    t = off_centre_bias(EQ10_UNROUNDED, 1e20, [0.0, -0.8, 3.0], span=2.0)
    err = t["N*/N_opt - 1"].tolist()
    assert abs(err[1]) > 3 * abs(err[0])
    assert math.isnan(err[2]) and t["note"].iloc[2] == "vertex outside the sampled sizes"


def test_sum_versus_mean_table(noisy):
    t = sum_versus_mean(noisy, starts=8)
    assert t.loc["mean", "median iterations"] < t.loc["sum", "median iterations"]
    assert t.loc["sum", "best sum of Huber"] <= t.loc["mean", "best sum of Huber"]


def test_likelihood_start_must_be_a_huber_fit(noisy):
    h = F.fit_approach3(noisy, grid=50)
    lk = F.fit_approach3(noisy, method="likelihood", start=h)
    assert lk.details["start"] == "the given Huber-LSE fit"
    with pytest.raises(ReplicationError, match="start"):
        F.fit_approach3(noisy, method="huber", start=h)


def test_threads_change_only_rounding(noisy):
    one = F.fit_approach3(noisy, grid=200, bootstrap=50, workers=1)
    two = F.fit_approach3(noisy, grid=200, bootstrap=50, workers=2)
    assert two.fun == pytest.approx(one.fun, rel=1e-9)
    assert two.ci["alpha"] == pytest.approx(one.ci["alpha"], rel=1e-4)


# -- the result type -----------------------------------------------------------------------------


def test_a_converged_fit_says_converged(clean):
    r = F.fit_approach3(clean, grid=50, search="grid")
    assert r.status == "converged" and r.success
    assert r.method == "approach3-huber" and "50 starts" in r.title
    assert r.nit > 0
    r = F.fit_approach3(clean)  # the default search
    assert r.status == "converged" and r.success and "variable projection" in r.title
    closed = F.fit_compute_optimal(TABLE_3["C"], TABLE_3["N"], TABLE_3["D"])
    assert closed.status == "converged" and closed.message == "closed form"


def test_a_fit_stopped_by_maxiter_says_max_iterations(noisy):
    r = F.fit_approach3(noisy, grid=20, maxiter=1)
    assert r.status == "max-iterations" and not r.success
    assert r.nit == 1
    assert F.fit_approach3(noisy, grid=20, method="likelihood", maxiter=1).status == "max-iterations"


def test_fit_result_is_frozen(clean):
    r = F.fit_approach3(clean, grid=20, bootstrap=10)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.fun = 0.0
    with pytest.raises(TypeError):
        r.params["A"] = 1.0
    with pytest.raises(TypeError):
        r.details["extra"] = 1
    with pytest.raises(TypeError):
        r.ci["alpha"] = (0, 1)
    with pytest.raises(ValueError):
        r.x[0] = 0.0
    changed = dataclasses.replace(r, details={**r.details, "extra": 1})  # a new result, the old one untouched
    assert changed.details["extra"] == 1 and "extra" not in r.details
    back = pickle.loads(pickle.dumps(r))
    assert back.params == r.params and np.array_equal(back.x, r.x) and back.status == r.status


def test_x_is_the_optimisers_vector_and_exponents_are_derived(clean):
    r = F.fit_approach3(clean, grid=20)
    np.testing.assert_allclose(np.exp(r.x[:3]), [r["A"], r["B"], r["E"]], rtol=1e-12)
    assert tuple(r.x[3:]) == (r["alpha"], r["beta"])
    assert set(r.params) == {"A", "B", "E", "alpha", "beta"}
    assert (r["a"], r["b"]) == (r.a, r.b) == (r.law.a, r.law.b)
    with pytest.raises(KeyError):
        r["k"]


def test_fit_result_prints_short_and_without_arrays(clean):
    r = F.fit_approach2(F.synthetic_isoflops(TRUE, [1e18, 1e19, 1e20]), bootstrap=20)
    text = str(r)
    assert "array(" not in text and "budget_of_point" not in text and "parabola_N" not in text
    assert "status: converged" in text and "method: approach2" in text
    assert len(text.splitlines()) < 30
    assert set(r.to_dict()["law"]) == {"k_N", "a", "k_D", "b"}
    nested = dataclasses.replace(r, details={**r.details, "ours": {"N_opt": np.array([1.5, 2.5])}})
    assert "ours: {'N_opt': [1.5, 2.5]}" in str(nested)


def test_fit_result_refuses_an_unknown_status():
    with pytest.raises(ValueError, match="status"):
        F.FitResult(method="m", title="t", params={}, x=[], fun=0.0, objective="", status="ok", message="",
                    n_points=0)


# -- the bootstrap -------------------------------------------------------------------------------


def test_bootstrap_resamples_rows_in_one_batch():
    seen = []

    def refit(idx):
        seen.append(idx)
        return idx.mean(axis=1, keepdims=True)[idx[:, 0] != 0]  # leave out the resamples starting at row 0

    b = F.run_bootstrap(refit, rows=5, resamples=200, names=("mean",), seed=1, ci=(5, 95))
    assert seen[0].shape == (200, 5) and seen[0].min() >= 0 and seen[0].max() <= 4
    assert b.kept == int((seen[0][:, 0] != 0).sum()) and b.summary == f"{b.kept}/200"
    lo, hi = b.interval()["mean"]
    assert 0 <= lo < 2 < hi <= 4
    again = F.run_bootstrap(refit, rows=5, resamples=200, names=("mean",), seed=1, ci=(5, 95))
    assert np.array_equal(again.samples, b.samples)


def test_bootstrap_by_clusters_takes_whole_clusters_once():
    clusters = np.array(["a", "a", "b", "b", "b", "c"])

    def refit(picks):
        for rows in picks:  # whole clusters, each at most once, in row order
            labels = set(clusters[rows])
            assert list(rows) == [i for i, c in enumerate(clusters) if c in labels]
        return [[len(rows)] for rows in picks]

    b = F.run_bootstrap(refit, len(clusters), 50, names=("rows",), clusters=clusters)
    assert b.kept == 50 and set(b.samples[:, 0]) <= {1, 2, 3, 4, 5, 6}
    doubled = b.map(lambda s: None if s[0] < 3 else (2 * s[0],), names=("twice",))
    assert doubled.resamples == 50 and doubled.kept == int((b.samples[:, 0] >= 3).sum())


def test_the_fits_run_with_one_blas_thread():
    """replication.fit limits numpy's and scipy's OpenBLAS to one thread (their threads spin on L-BFGS-B's tiny
    factorisations: 150x slower per iteration with the other core busy, measured)."""
    import os
    import subprocess
    import sys

    code = ("import json, numpy, scipy.optimize, replication.fit\nfrom threadpoolctl import threadpool_info\n"
            "print(json.dumps([(i['filepath'], i['num_threads']) for i in threadpool_info() if i['user_api'] == 'blas']))")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    found = json.loads(out)
    assert found and all(threads == 1 for _, threads in found), found
