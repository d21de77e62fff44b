import numpy as np
import pytest

from replication.errors import ReplicationError
from replication.fit import ScalingLaw, chinchilla_law, fit_prefactor, fit_scaling_law


def sig4(x):
    return float(f"{x:.4g}")


def test_approach1_prefactors_match_krasser():
    law = chinchilla_law(1)
    assert (law.a, law.b) == (0.50, 0.50)
    assert sig4(law.k_N) == 0.08772  # printed as 0.0877
    assert sig4(law.k_D) == 1.896  # printed as 1.8960
    assert str(law) == "N_opt = 0.0877 * C^0.50, D_opt = 1.8960 * C^0.50"


def test_approach2_prefactors_match_krasser():
    law = chinchilla_law(2)
    assert (law.a, law.b) == (0.49, 0.51)
    assert sig4(law.k_N) == 0.1448
    assert sig4(law.k_D) == 1.152  # printed as 1.1519
    assert str(law) == "N_opt = 0.1448 * C^0.49, D_opt = 1.1519 * C^0.51"


def test_log_space_variant():
    l1, l2 = chinchilla_law(1, space="log"), chinchilla_law(2, space="log")
    assert sig4(l1.k_N) == 0.08933 and sig4(l1.k_D) == 1.878
    assert sig4(l2.k_N) == 0.1444 and sig4(l2.k_D) == 1.154


def test_krasser_nopt_predictions():
    # Krasser's experiments: C_ref = 5.78e17 -> 7.32e7 (approach 2); 1.98e17 -> 3.90e7 / 4.33e7.
    assert f"{chinchilla_law(2).n_opt(5.78e17):.2e}" == "7.32e+07"
    assert f"{chinchilla_law(1).n_opt(1.98e17):.2e}" == "3.90e+07"
    assert f"{chinchilla_law(2).n_opt(1.98e17):.2e}" == "4.33e+07"


def test_prefactor_recovers_exact_law_and_vectorises():
    C = np.logspace(18, 26, 7)
    for space in ("linear", "log"):
        fit = fit_scaling_law(C, 0.3 * C**0.47, 0.6 * C**0.53, 0.47, 0.53, space=space)
        assert fit.k_N == pytest.approx(0.3, rel=1e-12)
        assert fit.k_D == pytest.approx(0.6, rel=1e-12)
    assert fit.n_opt(C).shape == C.shape
    assert np.isscalar(float(fit.n_opt(1e20)))


def test_scaling_law_by_hand():
    law = ScalingLaw(k_N=0.1, a=0.5, k_D=2.0, b=0.5)
    assert float(law.n_opt(1e20)) == pytest.approx(1e9, rel=1e-12)  # 0.1 * 1e10
    assert float(law.d_opt(1e20)) == pytest.approx(2e10, rel=1e-12)
    assert float(law.tokens_per_param(1e20)) == pytest.approx(20.0, rel=1e-12)
    assert str(law) == "N_opt = 0.1000 * C^0.50, D_opt = 2.0000 * C^0.50"


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
