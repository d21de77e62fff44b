import numpy as np
import pytest

from _lib import glance
from replication.errors import ReplicationError


def test_ten_times_compute():
    table = glance.exponent_table(10.0)
    kaplan = table.loc["Kaplan et al. (2020)"]
    assert kaplan["N growth"] == pytest.approx(5.37, abs=0.005)   # "5.4x"
    assert kaplan["D growth"] == pytest.approx(1.86, abs=0.005)   # 1.9x, not the 1.8x some summaries quote
    a1 = table.loc["Approach 1 (training curves)"]
    assert a1["N growth"] == pytest.approx(np.sqrt(10)) and a1["tokens/param growth"] == pytest.approx(1.0)
    a3 = table.loc["Approach 3 (parametric)"]
    assert (a3["a"], a3["b"]) == (0.46, 0.54)


def test_curves_pass_through_anchor_with_table2_slopes():
    c, curves = glance.allocation_curves(5.88e23 / 100, 5.88e23 * 100, num=5)
    n, d = curves["Approach 2 (IsoFLOP)"]
    assert n[2] == pytest.approx(70e9) and d[2] == pytest.approx(1.4e12)
    assert np.log10(n[-1] / n[0]) / np.log10(c[-1] / c[0]) == pytest.approx(0.49)


def test_bad_range():
    with pytest.raises(ReplicationError, match="c_min"):
        glance.allocation_curves(1e20, 1e18)
