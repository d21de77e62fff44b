import numpy as np
import pytest

from replication.errors import ReplicationError
from replication.fit.laws import ScalingLaw, chinchilla_law, fit_prefactor, fit_scaling_law


def sig4(x):
    return float(f"{x:.4g}")


def test_approach1_prefactors_match_krasser():
    law = chinchilla_law(1)
    assert (law.a, law.b) == (0.50, 0.50)
    assert sig4(law.k_n) == 0.08772  # printed as 0.0877
    assert sig4(law.k_d) == 1.896  # printed as 1.8960
    assert str(law) == "N_opt = 0.0877 * C^0.50, D_opt = 1.8960 * C^0.50"


def test_approach2_prefactors_match_krasser():
    law = chinchilla_law(2)
    assert (law.a, law.b) == (0.49, 0.51)
    assert sig4(law.k_n) == 0.1448
    assert sig4(law.k_d) == 1.152  # printed as 1.1519
    assert str(law) == "N_opt = 0.1448 * C^0.49, D_opt = 1.1519 * C^0.51"


def test_log_space_variant():
    l1, l2 = chinchilla_law(1, space="log"), chinchilla_law(2, space="log")
    assert sig4(l1.k_n) == 0.08933 and sig4(l1.k_d) == 1.878
    assert sig4(l2.k_n) == 0.1444 and sig4(l2.k_d) == 1.154


def test_krasser_nopt_predictions():
    # Krasser's experiments: C_ref = 5.78e17 -> 7.32e7 (approach 2); 1.98e17 -> 3.90e7 / 4.33e7.
    assert f"{chinchilla_law(2).n_opt(5.78e17):.2e}" == "7.32e+07"
    assert f"{chinchilla_law(1).n_opt(1.98e17):.2e}" == "3.90e+07"
    assert f"{chinchilla_law(2).n_opt(1.98e17):.2e}" == "4.33e+07"


def test_prefactor_recovers_exact_law_and_vectorises():
    C = np.logspace(18, 26, 7)
    law = ScalingLaw(k_n=0.3, a=0.47, k_d=0.6, b=0.53)
    fit = fit_scaling_law(C, law.n_opt(C), law.d_opt(C), 0.47, 0.53)
    for space in ("linear", "log"):
        fit = fit_scaling_law(C, law.n_opt(C), law.d_opt(C), 0.47, 0.53, space=space)
        assert fit.k_n == pytest.approx(0.3, rel=1e-12)
        assert fit.k_d == pytest.approx(0.6, rel=1e-12)
    assert fit.n_opt(C).shape == C.shape
    assert np.isscalar(float(fit.n_opt(1e20)))


def test_prefactor_bad_input():
    with pytest.raises(ReplicationError, match="C"):
        fit_prefactor([1e20, -1.0], [1.0, 2.0], 0.5)
    with pytest.raises(ReplicationError, match="y"):
        fit_prefactor([1e20, 1e21], [1.0, np.nan], 0.5)
    with pytest.raises(ReplicationError, match="same length"):
        fit_prefactor([1e20, 1e21], [1.0], 0.5)
    with pytest.raises(ReplicationError, match="space"):
        fit_prefactor([1e20], [1.0], 0.5, space="cubic")
    with pytest.raises(ReplicationError, match="approach"):
        chinchilla_law(3)
