"""The book's one statistical standard (replication.studies.stats): paired t tests over shared seeds with
their p-values and intervals, their Verdicts (agrees, disagrees, inconclusive with n and power), and the seeds
a given effect needs. Checked against scipy's own tests and a Monte Carlo estimate of power."""
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from replication.errors import ReplicationError
from replication.studies.stats import all_agree, paired_power, paired_test, seeds_needed, verdict
from replication.verdict import AGREES, DISAGREES, INCONCLUSIVE, Verdict


def test_paired_test_matches_scipy_ttest_rel_over_the_shared_seeds():
    rng = np.random.default_rng(1)
    ref = pd.Series(3.0 + rng.normal(0, 0.05, 6), index=[0, 1, 2, 3, 4, 5])
    loss = ref + 0.01 + rng.normal(0, 0.01, 6)
    loss = pd.concat([loss, pd.Series([9.0], index=[7])]).sample(frac=1, random_state=0)  # seed 7: no pair
    ref = ref.drop(5)  # seed 5: no reference
    test = paired_test(loss, ref, level=0.9)
    seeds = [0, 1, 2, 3, 4]
    x, y = loss.loc[seeds].to_numpy(), ref.loc[seeds].to_numpy()
    expected = sps.ttest_rel(x, y)
    interval = expected.confidence_interval(0.9)
    d = x - y
    assert test.seeds == 5 and test.df == 4
    assert test.difference == pytest.approx(d.mean())
    assert test.sd == pytest.approx(d.std(ddof=1)) and test.se == pytest.approx(d.std(ddof=1) / math.sqrt(5))
    assert test.t == pytest.approx(expected.statistic) and test.p == pytest.approx(expected.pvalue)
    assert (test.low, test.high) == (pytest.approx(interval.low), pytest.approx(interval.high))


def test_paired_test_reads_as_one_line():
    ref = pd.Series([3.0, 3.1, 3.2, 3.3])
    test = paired_test(ref + [0.01, 0.02, 0.03, 0.04], ref)
    # by hand: d = 0.01..0.04, mean 0.025, sd = sqrt(5/3)/100, se = sd/2, t = 0.025/se = 3.873
    se = math.sqrt(5 / 3) / 100 / 2
    half = sps.t.ppf(0.975, 3) * se
    p = 2 * sps.t.sf(0.025 / se, 3)
    assert str(test) == (f"+0.0250 nats [{0.025 - half:+.4f}, +{0.025 + half:.4f}], paired t(3) = 3.87, "
                         f"p = {p:.2g}, 4 seeds").replace("-", "\u2212")
    worse = str(paired_test(ref, ref + [0.01, 0.02, 0.03, 0.04]))
    assert worse.startswith("\u22120.0250 nats [\u2212") and "t(3) = \u22123.87" in worse


def test_fewer_than_two_pairs_has_no_test():
    ref = pd.Series([3.0, 3.1], index=[0, 1])
    one = paired_test(pd.Series([3.5], index=[1]), ref)
    assert one.seeds == 1 and one.difference == pytest.approx(0.4)
    assert all(math.isnan(v) for v in (one.se, one.t, one.p, one.low, one.high, one.sd))
    assert str(one) == "+0.4000 nats, 1 seed: no test"
    assert str(verdict(one, +1)) == "inconclusive (1 seed)"  # no spread, so no power either
    none = paired_test(pd.Series([3.5], index=[9]), ref)
    assert none.seeds == 0 and math.isnan(none.difference) and str(none) == "0 seeds: no test"


def test_identical_differences_are_certain():
    ref = pd.Series([3.0, 3.1, 3.2])
    test = paired_test(ref + 0.5, ref)  # 0.5 is exact in binary: every difference the same
    assert test.sd == 0 and test.p == 0 and test.t == math.inf and test.low == test.high == 0.5
    assert verdict(test, +1).outcome == AGREES


def test_verdict_has_three_outcomes():
    ref = pd.Series([3.0, 3.1, 3.2, 3.3])
    higher = paired_test(ref + [0.01, 0.02, 0.03, 0.04], ref)  # p = 0.030 by scipy
    assert sps.ttest_rel(ref + [0.01, 0.02, 0.03, 0.04], ref).pvalue == pytest.approx(higher.p)
    v = verdict(higher, +1, "The recipe ends higher.")
    assert isinstance(v, Verdict) and v.outcome == AGREES and verdict(higher, -1).outcome == DISAGREES
    assert v.claim == "The recipe ends higher." and v.n == 4 and v.p_value == higher.p
    assert (v.ours, v.interval) == (higher.difference, (higher.low, higher.high))
    # 0.030 > 0.01: inconclusive, with the power of the test at the difference observed
    p99 = paired_power(4, higher.difference, higher.sd, 0.99)
    assert str(verdict(higher, +1, level=0.99)) == f"inconclusive (4 seeds, power {p99:.2f})"
    noisy = paired_test(ref + [0.03, -0.02, 0.01, -0.01], ref)
    p = paired_power(4, noisy.difference, noisy.sd)
    assert 0 < p < 0.2 and str(verdict(noisy, +1)) == str(verdict(noisy, -1)) == f"inconclusive (4 seeds, power {p:.2f})"
    # the power at a stated effect instead of the one observed
    p1 = paired_power(4, 0.05, noisy.sd)
    assert str(verdict(noisy, +1, effect=0.05)) == f"inconclusive (4 seeds, power {p1:.2f})" and p1 > p
    for bad in (0, 2, "+1", None):
        with pytest.raises(ReplicationError, match="expected_sign"):
            verdict(higher, bad)
    with pytest.raises(ReplicationError, match="level"):
        verdict(higher, 1, level=1.0)


def test_seeds_needed_matches_textbook_values():
    # G*Power / Cohen: a paired t test at alpha 0.05 (two-sided) for d = 0.5 at power 0.8 needs 34 pairs
    # (actual power 0.808; 33 pairs give 0.795); d = 1 at power 0.9 needs 13.
    assert seeds_needed(0.5, 1.0) == 34 and seeds_needed(-0.005, 0.01) == 34
    assert seeds_needed(1.0, 1.0, power=0.9) == 13
    # far from small samples the normal approximation n = ((z_a + z_b) sd / effect)² + z_a²/2 holds
    za, zb = sps.norm.ppf(0.975), sps.norm.ppf(0.8)
    assert seeds_needed(0.02, 1.0, max_seeds=100_000) == pytest.approx((za + zb) ** 2 / 0.02**2 + za**2 / 2, abs=2)
    assert seeds_needed(100.0, 1.0) == 2  # the smallest test there is


@pytest.mark.parametrize("effect, sd", [(1.5, 1.0), (-0.012, 0.01), (0.5, 1.0)])
def test_seeds_needed_agrees_with_simulated_power(effect, sd):
    n = seeds_needed(effect, sd)
    rng = np.random.default_rng(0)
    reps = 8000
    for m in (n - 1, n):
        d = rng.normal(effect, sd, (reps, m))
        t = d.mean(axis=1) / (d.std(axis=1, ddof=1) / math.sqrt(m))
        simulated = np.mean(np.abs(t) > sps.t.ppf(0.975, m - 1))
        tolerance = 4 * math.sqrt(0.8 * 0.2 / reps)  # four Monte Carlo standard errors
        assert simulated == pytest.approx(paired_power(m, effect, sd), abs=tolerance)
        if m == n:
            assert simulated > 0.8 - tolerance
        else:
            assert simulated < 0.8 + tolerance


def test_seeds_needed_refuses_impossible_requests():
    with pytest.raises(ReplicationError, match="effect=0: no effect to detect"):
        seeds_needed(0.0, 1.0)
    for kwargs, name in [({"sd": 0.0}, "sd"), ({"sd": -1.0}, "sd"), ({"power": 1.0}, "power"),
                         ({"level": 0.0}, "level"), ({"max_seeds": 1}, "max_seeds"),
                         ({"max_seeds": 50.0}, "max_seeds")]:
        with pytest.raises(ReplicationError, match=name):
            seeds_needed(0.5, **{"sd": 1.0, **kwargs})
    assert seeds_needed(0.5, 1.0, max_seeds=34) == 34
    with pytest.raises(ReplicationError, match="max_seeds=33"):
        seeds_needed(0.5, 1.0, max_seeds=33)


def test_a_claim_of_several_comparisons_needs_every_one():
    ref = pd.Series([3.0, 3.1, 3.2, 3.3])
    higher = verdict(paired_test(ref + [0.01, 0.02, 0.03, 0.04], ref), +1)
    noisy = verdict(paired_test(ref + [0.03, -0.02, 0.01, -0.01], ref), +1)
    opposite = verdict(paired_test(ref - [0.01, 0.02, 0.03, 0.04], ref), +1)
    assert all_agree([higher, higher], "Both end higher.").outcome == AGREES
    assert all_agree([higher, opposite, noisy], "All end higher.").outcome == DISAGREES
    both = all_agree([higher, noisy], "Both end higher.", finding="We find one.")
    assert both.outcome == INCONCLUSIVE and both.power == min(higher.power, noisy.power) and both.n == 4
    assert str(both) == f"inconclusive (4 seeds, power {noisy.power:.2f})" and both.finding == "We find one."
    with pytest.raises(ReplicationError, match="verdicts"):
        all_agree([], "Nothing.")
    # a comparison with one seed has no test and no power: the joined verdict claims none either
    one_seed = verdict(paired_test(ref.iloc[:1] + 0.05, ref), +1)
    joined = all_agree([higher, one_seed], "Both end higher.")
    assert joined.power is None and str(joined) == "inconclusive (1 seed)"
