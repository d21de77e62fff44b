"""Approaches 1 and 3 on the study's recorded runs with every interval (replication.studies.chinchilla):
the envelope read at the budgets and its leave-one-width-out range recomputed here by hand; the Approach-3
surface's minima, its leave-one-budget-out refits recomputed here with the default start; and the widest
deciding. These read the recorded runs in runs/ (no training)."""
import math

import numpy as np
import pandas as pd
import pytest

from replication.fit import fit_approach1, fit_approach3
from replication.studies import chinchilla as S
from replication.studies.chinchilla_design import DEFAULT
from replication.studies.exponents import BOOTSTRAP, LOBO, LOBO_REFIT, LOWO, RESIDUAL

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def recorded():
    runs = S.runs_table(DEFAULT)
    return {"runs": runs, "curves": S.curves_table(DEFAULT, runs=runs)}


def by_hand_envelope(curves, budgets, drop_n=None):
    """log N*, log D* at each budget: among the runs whose last 15% spans it (width ``drop_n`` left out), the
    lowest loss interpolated in log C."""
    out = []
    for c in budgets:
        best = (math.inf, math.nan, math.nan)
        for _, g in curves.groupby("run"):
            if g["N"].iloc[0] == drop_n:
                continue
            g = g[g["D"] >= 0.85 * g["horizon"].iloc[0]].sort_values("C")
            if not g["C"].min() <= c <= g["C"].max():
                continue
            loss = np.interp(math.log(c), np.log(g["C"]), g["loss"])
            if loss < best[0]:
                best = (loss, math.log(g["N"].iloc[0]), np.interp(math.log(c), np.log(g["C"]), np.log(g["D"])))
        out.append(best[1:])
    return np.array(out)


def test_approach1_envelope_at_the_budgets_and_its_leave_one_width_out_range(recorded):
    curves = recorded["curves"]
    fit = S.approach1(DEFAULT, curves=curves, bootstrap=20)
    iv = S.approach1_intervals(DEFAULT, curves=curves, fit=fit, bootstrap=50)
    # the run with the lowest loss at each budget: a width of the ladder, rising with compute
    assert np.round(iv["N_opt"]).tolist() == [19094, 19094, 49346, 69656, 69656]
    assert iv["winner"] == ["0:3", "1:3", "2:6", "3:7", "4:7"]
    logc = np.log(DEFAULT.budgets)
    here = by_hand_envelope(curves, DEFAULT.budgets)
    np.testing.assert_allclose(np.log(iv["N_opt"]), here[:, 0], rtol=1e-12)
    np.testing.assert_allclose(np.log(iv["D_opt"]), here[:, 1], rtol=1e-12)
    a = iv["sampled"]["a"]
    assert a.estimate == pytest.approx(np.polyfit(logc, here[:, 0], 1)[0], rel=1e-10)
    assert a.estimate == pytest.approx(0.5601, abs=1e-3)
    # leave one width out: each width's curves dropped, the envelope read again, by hand
    slopes = []
    for n in sorted(curves["N"].unique()):
        v = by_hand_envelope(curves, DEFAULT.budgets, drop_n=n)
        ok = np.isfinite(v[:, 0])
        slopes.append(np.polyfit(logc[ok], v[ok, 0], 1)[0])
    assert dict(a.ranges)[LOWO] == pytest.approx((min(slopes), max(slopes)), rel=1e-10)
    # five optima, three degrees of freedom: the residual t interval is wide, and decides the widest
    assert a.residual[1] - a.residual[0] > 0.3
    # the combined widest holds the envelope fit's estimate and bootstrap too
    c = iv["combined"]["a"]
    assert c.widest[0] <= min(fit["a"], fit.ci["a"][0]) and c.widest[1] >= max(fit["a"], fit.ci["a"][1])
    assert c.widest[0] <= min(a.residual[0], a.bootstrap[0]) and c.widest[1] >= a.residual[1]
    assert c.verdict(0.5).outcome == "agrees"
    # the envelope fit over every grid point: its winners at the budgets' ends are the same runs
    full = fit_approach1(curves)
    for c_k, w in zip(DEFAULT.budgets, iv["winner"][:4]):
        seg = full.table[(full.table["C_from"] <= c_k) & (full.table["C_to"] >= 0.99 * c_k)]
        assert w in set(seg["run"])


def test_approach3_minima_with_refits_left_out(recorded):
    runs = recorded["runs"]
    fit = S.approach3(DEFAULT, runs=runs, bootstrap=20, intervals=True)
    ours = fit.details["ours"]
    iv = ours["intervals"]
    a = iv["a"]
    assert a.estimate == pytest.approx(ours["a"], rel=1e-10)
    assert a.estimate == pytest.approx(0.4910, abs=1e-3)
    assert set(a.intervals()) == {BOOTSTRAP, RESIDUAL, LOBO, LOWO, LOBO_REFIT}
    # the minima of one smooth surface lie almost on a line; refitting the surface moves a far more
    assert a.residual[1] - a.residual[0] < 0.01
    lowo, lobor = dict(a.ranges)[LOWO], dict(a.ranges)[LOBO_REFIT]
    assert lowo[1] - lowo[0] > 0.05 and lobor[1] - lobor[0] > 0.05
    # leave one budget out, recomputed here: the default fit (no extra start) without each budget's runs
    logc = np.log(DEFAULT.budgets)
    slopes = []
    for k in sorted(runs["budget"].unique()):
        sub = runs[runs["budget"] != k].reset_index(drop=True)
        opt = S.optimum_on_budgets(fit_approach3(sub, method="huber", delta=1e-3).params, DEFAULT, sub)
        ok = np.isfinite(opt[:, 0])
        assert ok.sum() == 4
        slopes.append(np.polyfit(logc[ok], np.log(opt[ok, 0]), 1)[0])
    assert lobor == pytest.approx((min(slopes), max(slopes)), abs=2e-3)
    assert a.widest[0] <= min(lobor[0], lowo[0]) and a.widest[1] >= max(lobor[1], lowo[1])
    assert a.verdict(0.46).outcome == ("agrees" if a.widest[0] <= 0.46 <= a.widest[1] else "disagrees")
    # without intervals asked for, nothing is refitted
    assert "intervals" not in S.approach3(DEFAULT, runs=runs).details["ours"]


def test_an_envelope_optimum_needs_a_smaller_and_a_larger_run_spanning_its_budget():
    """Three widths span the first budget, the middle one lowest: its optimum. At the second budget only the
    two largest span it, the largest lowest: an edge of the sizes there, no optimum (a study still training
    has budgets with one or two runs)."""
    from replication.studies.envelope import envelope_at

    rows = []
    for n, loss_lo, loss_hi in ((1e4, 3.0, 2.9), (2e4, 2.5, 2.4), (4e4, 2.8, 2.2)):
        top = 1.15e12 if n > 1e4 else 1.05e12  # the smallest run's tail ends before the second budget
        for frac in (0.8, 0.86, 0.9, 0.95, 1.0):
            c = top * frac
            loss = loss_lo + (loss_hi - loss_lo) * (frac - 0.8) / 0.2
            rows.append({"N": n, "D": c / (6 * n), "C": c, "loss": loss, "run": f"{n:g}", "horizon": top / (6 * n)})
    env = envelope_at(pd.DataFrame(rows), [1e12, 1.1e12])
    assert env["N_opt"][0] == pytest.approx(2e4) and env["winner"][0] == "20000"
    assert math.isnan(env["N_opt"][1]) and env["winner"][1] is None
