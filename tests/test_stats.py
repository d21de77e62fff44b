"""The book's statistical tests (replication.studies.stats): the pooled z rule of Krasser's experiments
and the paired t test of the recipe claims."""
import math

import numpy as np
import pandas as pd
import pytest

from replication.studies.stats import paired_difference, paired_t_verdict, pooled_z_comparison


def _summary(means, stds, n=3):
    df = pd.DataFrame({"mean": means, "std": stds, "seeds": n}, index=range(1, len(means) + 1))
    df["sem"] = df["std"] / np.sqrt(df["seeds"])
    return df


def test_pooled_z_comparison_uses_the_pooled_standard_error():
    s = _summary([1.00, 0.98, 0.99], [0.01, 0.01, 0.03])
    r = pooled_z_comparison(s, 2, 1)
    assert (r["model"], r["than"]) == (2, 1)
    assert r["difference"] == pytest.approx(-0.02)
    assert r["pooled_se"] == pytest.approx(math.sqrt(2 * 0.01**2 / 3))  # 0.00816
    assert r["z"] == pytest.approx(-0.02 / math.sqrt(2 * 0.01**2 / 3))
    assert r["verdict"] == "better"  # -0.02 < -2 x 0.00816
    assert pooled_z_comparison(s, 1, 2)["verdict"] == "worse"
    assert pooled_z_comparison(s, 3, 1)["verdict"] == "not distinguishable"  # -0.01 vs 2 x 0.0183
    assert pooled_z_comparison(s, 3, 1, z=0.5)["verdict"] == "better"
    one = _summary([1.0, 0.9, 0.95], [float("nan")] * 3, n=1)
    r = pooled_z_comparison(one, 2, 1)
    assert r["verdict"] == "not distinguishable (1 seed)" and math.isnan(r["pooled_se"]) and math.isnan(r["z"])


def test_paired_difference_pairs_by_seed():
    ref = pd.Series([1.0, 2.0, 3.0], index=[0, 1, 2])
    other = pd.Series([1.1, 2.3, 3.2, 9.0], index=[0, 1, 2, 7])  # seed 7 has no reference: left out
    mean, se, n = paired_difference(other, ref)
    d = np.array([0.1, 0.3, 0.2])
    assert n == 3 and mean == pytest.approx(d.mean()) and se == pytest.approx(d.std(ddof=1) / math.sqrt(3))
    mean, se, n = paired_difference(other.iloc[:1], ref)
    assert n == 1 and mean == pytest.approx(0.1) and math.isnan(se)
    mean, se, n = paired_difference(pd.Series([1.0], index=[5]), ref)
    assert n == 0 and math.isnan(mean) and math.isnan(se)


def test_paired_t_verdict():
    # two-sided t test at 95%: t(2) needs 4.30 standard errors, t(9) 2.26
    assert paired_t_verdict(0.045, 0.01, df=2) == "reference better"
    assert paired_t_verdict(-0.045, 0.01, df=2) == "reference worse"
    assert paired_t_verdict(0.04, 0.01, df=2) == "not distinguishable"
    assert paired_t_verdict(0.025, 0.01, df=9) == "reference better"
    assert paired_t_verdict(0.04, 0.01, df=2, level=0.9) == "reference better"  # t(2) at 90%: 2.92
    assert paired_t_verdict(0.01, math.nan, df=2) == "not distinguishable"
    assert paired_t_verdict(0.01, 0.001, df=0) == "not distinguishable"
    assert paired_t_verdict(0.0, 0.0, df=2) == "not distinguishable"
