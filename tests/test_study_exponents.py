"""Exponents with every interval (replication.studies.exponents): the residual-t interval against a textbook
regression, widening with scatter between budgets; leave-one-out ranges recomputed here by hand; the widest
deciding the verdict; b/a the same under any count C' = k C^g; and the study's exponents() on a fake store."""
import math

import numpy as np
import pytest
from scipy import stats

from replication.errors import ReplicationError
from replication.studies.exponents import (BOOTSTRAP, LOBO, LOWO, RESIDUAL, ExponentIntervals, batched_slopes,
                                           exponent_intervals, ratio_samples, slope)

#: five budgets a factor 2 apart, as the study's
LOG_C = np.log(2.5e11 * 2.0 ** np.arange(5))
A_TRUE, B_TRUE = 0.5, 0.55


def vertices(scatter: float, seed: int = 0):
    """Vertices on N* ∝ C^0.5, D* ∝ C^0.55, each moved off the line by independent noise of sd ``scatter``."""
    rng = np.random.default_rng(seed)
    log_n = 1.0 + A_TRUE * LOG_C + scatter * rng.standard_normal(5)
    log_d = -2.0 + B_TRUE * LOG_C + scatter * rng.standard_normal(5)
    return LOG_C, log_n, log_d


def test_slope_and_its_standard_error_are_the_textbook_regression():
    x, y, _ = vertices(0.05, seed=3)
    s, se, k = slope(x, y)
    ref = stats.linregress(x, y)
    assert (s, se, k) == (pytest.approx(ref.slope, rel=1e-12), pytest.approx(ref.stderr, rel=1e-10), 5)
    # NaN vertices are left out; two pairs have a slope but no residual
    y2 = y.copy()
    y2[[1, 3]] = np.nan
    assert slope(x, y2)[0] == pytest.approx(stats.linregress(x[[0, 2, 4]], y[[0, 2, 4]]).slope)
    s2, se2, k2 = slope(x[:2], y[:2])
    assert np.isfinite(s2) and math.isnan(se2) and k2 == 2


def test_residual_t_interval_is_t3_times_the_standard_error_and_widens_with_scatter():
    widths = []
    for scatter in (0.0, 0.02, 0.08):
        ex = exponent_intervals(*vertices(scatter, seed=1), level=0.8)
        a = ex["a"]
        ref = stats.linregress(LOG_C, vertices(scatter, seed=1)[1])
        half = stats.t.ppf(0.9, 3) * ref.stderr
        assert a.estimate == pytest.approx(ref.slope, rel=1e-12)
        assert a.residual == (pytest.approx(ref.slope - half, abs=1e-12), pytest.approx(ref.slope + half, abs=1e-12))
        widths.append(a.residual[1] - a.residual[0])
    assert widths[0] == pytest.approx(0, abs=1e-9) and widths[0] < widths[1] < widths[2]
    # a 95% interval is wider than an 80% one on the same vertices
    ex95 = exponent_intervals(*vertices(0.02, seed=1), level=0.95)["a"]
    assert ex95.residual[1] - ex95.residual[0] > widths[1]


def test_a_tight_bootstrap_does_not_hide_the_scatter_between_budgets():
    # the vertices scatter by 0.08 about the line; a bootstrap that only saw each vertex's own noise is
    # tight about the estimate; the widest interval is set by the residuals (or a left-out budget)
    x, n, d = vertices(0.08, seed=2)
    est = slope(x, n)[0]
    boot = {"a": est + 0.005 * np.random.default_rng(0).standard_normal(1000)}
    a = exponent_intervals(x, n, d, bootstrap=boot)["a"]
    assert a.bootstrap[1] - a.bootstrap[0] < 0.02
    assert a.widest[1] - a.widest[0] > 3 * (a.bootstrap[1] - a.bootstrap[0])
    assert a.widest_by[0] != BOOTSTRAP and a.widest_by[1] != BOOTSTRAP
    # a value outside the bootstrap interval but inside the residual one agrees by the widest
    just_out = a.bootstrap[1] + 0.01
    assert a.inside(just_out)[BOOTSTRAP] is False and a.verdict(just_out).outcome == "agrees"
    v = a.verdict(a.widest[1] + 1e-6, claim="The paper's a.")
    assert v.outcome == "disagrees" and v.interval == a.widest and (v.n, v.unit) == (5, "budgets")
    assert v.claim == "The paper's a." and v.ours == a.estimate


def test_leave_one_budget_out_range_recomputed_by_hand():
    x, n, d = vertices(0.05, seed=4)
    ex = exponent_intervals(x, n, d)
    by_hand = [np.polyfit(np.delete(x, i), np.delete(n, i), 1)[0] for i in range(5)]
    assert dict(ex["a"].ranges)[LOBO] == (pytest.approx(min(by_hand)), pytest.approx(max(by_hand)))
    ratios = [np.polyfit(np.delete(x, i), np.delete(d, i), 1)[0] / np.polyfit(np.delete(x, i), np.delete(n, i), 1)[0]
              for i in range(5)]
    assert dict(ex["b/a"].ranges)[LOBO] == (pytest.approx(min(ratios)), pytest.approx(max(ratios)))


def test_refits_give_a_named_range_and_the_widest_covers_everything():
    x, n, d = vertices(0.03, seed=5)
    refits = [vertices(0.03, seed=s) for s in (6, 7, 8)]
    ex = exponent_intervals(x, n, d, refits={LOWO: refits})
    want = [np.polyfit(r[0], r[1], 1)[0] for r in refits]
    a = ex["a"]
    assert dict(a.ranges)[LOWO] == (pytest.approx(min(want)), pytest.approx(max(want)))
    lo, hi = a.widest
    for name, (l, h) in a.intervals().items():
        assert lo <= l and h <= hi, name
    assert set(a.intervals()) == {RESIDUAL, LOBO, LOWO}  # no bootstrap given
    assert a.row()["widest"] == a.widest


def test_ratio_does_not_depend_on_how_compute_is_counted():
    # any count C' = k C^g scales both slopes by 1/g: b/a is the same, a and b are not
    x, n, d = vertices(0.03, seed=9)
    one = exponent_intervals(x, n, d)
    other = exponent_intervals(math.log(3.0) + 1.2 * x, n, d)
    assert other["a"].estimate == pytest.approx(one["a"].estimate / 1.2)
    assert other["b/a"].estimate == pytest.approx(one["b/a"].estimate)
    assert other["b/a"].residual == (pytest.approx(one["b/a"].residual[0]), pytest.approx(one["b/a"].residual[1]))


def test_ratio_residual_interval_is_the_delta_method():
    x, n, d = vertices(0.04, seed=10)
    r = exponent_intervals(x, n, d, level=0.8)["b/a"]
    # the delta method by hand, with the covariance of the two slopes from their shared x
    a, b = np.polyfit(x, n, 1)[0], np.polyfit(x, d, 1)[0]
    rn, rd = n - np.polyval(np.polyfit(x, n, 1), x), d - np.polyval(np.polyfit(x, d, 1), x)
    sxx = ((x - x.mean()) ** 2).sum()
    va, vb, cov = rn @ rn / 3 / sxx, rd @ rd / 3 / sxx, rn @ rd / 3 / sxx
    se = math.sqrt(vb + (b / a) ** 2 * va - 2 * (b / a) * cov) / abs(a)
    half = stats.t.ppf(0.9, 3) * se
    assert r.residual == (pytest.approx(b / a - half), pytest.approx(b / a + half))


def test_batched_slopes_and_ratio_samples_match_one_at_a_time():
    sets = [vertices(0.05, seed=s) for s in range(4)]
    n = np.array([v[1] for v in sets])
    d = np.array([v[2] for v in sets])
    n[1, 2] = np.nan  # a resample without a vertex at one budget
    got = batched_slopes(n, LOG_C)
    assert got == pytest.approx([slope(LOG_C, row)[0] for row in n])
    r = ratio_samples(LOG_C, n, d)
    ok = np.isfinite(n) & np.isfinite(d)
    assert r[1] == pytest.approx(slope(LOG_C[ok[1]], d[1][ok[1]])[0] / slope(LOG_C[ok[1]], n[1][ok[1]])[0])


def test_too_few_vertices_is_one_line():
    x, n, d = vertices(0.0)
    with pytest.raises(ReplicationError, match="3 or more vertices"):
        exponent_intervals(x[:2], n[:2], d[:2])
    n2 = n.copy()
    n2[2:] = np.nan
    with pytest.raises(ReplicationError, match="got 2"):
        exponent_intervals(x, n2, d)


def test_exponent_intervals_is_frozen():
    e = exponent_intervals(*vertices(0.02))["a"]
    assert isinstance(e, ExponentIntervals)
    with pytest.raises(Exception):
        e.estimate = 0.0  # type: ignore[misc]


def test_resampled_vertices_kept_on_disk_equal_the_computed_ones(tmp_path, monkeypatch):
    from replication import memo
    from replication.studies import chinchilla_approach2 as a2
    from replication.studies.chinchilla_runs import runs_table

    monkeypatch.setenv(memo.ENV, str(tmp_path))
    t = runs_table().reset_index(drop=True)
    rng, picks = np.random.default_rng(1), np.empty((20, len(t)), dtype=int)
    for k in t["budget"].unique():  # the study's bootstrap redraws runs within each budget
        members = np.flatnonzero(t["budget"].to_numpy() == k)
        picks[:, members] = members[rng.integers(0, members.size, size=(20, members.size))]
    with monkeypatch.context() as m:
        m.setattr(memo, "kept", lambda name, args, compute: memo._decode(memo._encode(compute())))
        direct = a2._vertices(t, "executed", picks, "profile")
        direct_6n = a2._vertices(t, "6N", picks, "profile")
    assert not list(tmp_path.iterdir())
    first = a2._vertices(t, "executed", picks, "profile")
    kept = lambda: list(tmp_path.glob("study_size_minima-*.json"))  # noqa: E731
    assert len(kept()) == 1
    again = a2._vertices(t, "executed", picks, "profile")
    assert np.isnan(direct).any(), "the draw should leave some budget without an interior minimum"
    for got in (first, again):
        assert got.shape == direct.shape and np.array_equal(got, direct, equal_nan=True)
    # 6N counts the same N: its minima are the kept ones, its C* its own
    six = a2._vertices(t, "6N", picks, "profile")
    assert len(kept()) == 1 and np.array_equal(six, direct_6n, equal_nan=True)
    assert np.array_equal(six[:2], direct[:2], equal_nan=True) and not np.array_equal(six[2], direct[2], equal_nan=True)
    a2._vertices(t, "6N non-embedding", picks, "profile")
    a2._vertices(t, "executed", picks[::-1], "profile")
    assert len(kept()) == 3, "another N or other draws are another result"
