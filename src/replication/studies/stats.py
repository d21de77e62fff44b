"""The book's statistical tests: when is a difference of final losses between two settings real?

The book has one standard. Settings are trained with the same seeds (same initial weights, same batch
stream), so a comparison is a two-sided paired t test over the seeds both settings have
(:func:`paired_test`), and every verdict is shown with its p-value and confidence interval of the mean
difference (``str(test)``). A claim that predicts the sign of a difference has three outcomes
(:func:`verdict`): it *agrees*, it *disagrees*, or the test is *inconclusive* with the seeds run, said
with its power (:func:`inconclusive`: "inconclusive (3 seeds, power 0.25)", the chance that this test
would have found a true difference the size of the one observed); :func:`seeds_needed` says how many
seeds would make a given effect detectable.

Independent samples (no shared seeds) take Welch's t test (:func:`welch_test`). The older rules stay
for the code that uses them: Krasser's pooled z rule (:func:`pooled_z_comparison`) and the paired t
verdict of the recipe claims (:func:`paired_difference`, :func:`paired_t_verdict`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from replication.errors import ReplicationError, check_choice, check_int, check_number

#: The verdict of the older rules (:func:`pooled_z_comparison`, :func:`paired_t_verdict`) when a
#: difference is within the noise.
NOT_DISTINGUISHABLE = "not distinguishable"
#: The verdict of :func:`verdict` when a test cannot tell: "inconclusive (n seeds, power p)".
INCONCLUSIVE = "inconclusive"


def pooled_z_comparison(summary: pd.DataFrame, a, b, z: float = 2.0) -> dict:
    """Setting ``a`` against setting ``b`` (rows of ``summary``, with columns ``mean``, ``sem`` and
    ``seeds``): the difference of mean losses and its pooled standard error sqrt(sem_a² + sem_b²).

    ``a`` is "better" when its mean loss is lower by more than ``z`` standard errors of the difference,
    "worse" when higher by more than that, otherwise "not distinguishable". With one seed there is no
    standard error and the verdict is "not distinguishable (1 seed)".
    """
    ra, rb = summary.loc[a], summary.loc[b]
    diff = float(ra["mean"] - rb["mean"])
    se = float(math.sqrt(ra["sem"] ** 2 + rb["sem"] ** 2)) if ra["seeds"] > 1 and rb["seeds"] > 1 else float("nan")
    if not se == se:
        verdict = f"{NOT_DISTINGUISHABLE} (1 seed)"
    elif diff < -z * se:
        verdict = "better"
    elif diff > z * se:
        verdict = "worse"
    else:
        verdict = NOT_DISTINGUISHABLE
    return {"model": a, "than": b, "difference": diff, "pooled_se": se,
            "z": diff / se if se and se == se else float("nan"), "verdict": verdict}


def paired_difference(loss: pd.Series, reference: pd.Series) -> tuple[float, float, int]:
    """Mean and standard error of ``loss - reference`` over the seeds both have (Series indexed by
    seed), and the number of such seeds. The standard error is NaN with fewer than two pairs."""
    d = (loss - reference.reindex(loss.index)).dropna()
    n = len(d)
    se = d.std(ddof=1) / math.sqrt(n) if n > 1 else math.nan
    return d.mean() if n else math.nan, se, n


def paired_t_verdict(diff: float, se: float, df: int, level: float = 0.95) -> str:
    """'reference better' / 'reference worse' when the paired difference (other − reference, so
    positive means the reference is better) is significant in a two-sided t test at ``level`` with
    ``df`` degrees of freedom; else 'not distinguishable'. With 3 seeds (df = 2) that takes
    |diff| > 4.3 standard errors."""
    from scipy.stats import t as student_t

    if df < 1 or not (np.isfinite(diff) and np.isfinite(se)) or diff == 0:
        return NOT_DISTINGUISHABLE
    crit = float(student_t.ppf(0.5 + level / 2, df))
    if diff > crit * se:
        return "reference better"
    if diff < -crit * se:
        return "reference worse"
    return NOT_DISTINGUISHABLE


def _signed(x: float, digits: int = 4) -> str:
    """``x`` with its sign always written, and a true minus sign, as the book prints differences."""
    return f"{x:+.{digits}f}".replace("-", "\u2212")


@dataclass(frozen=True)
class PairedTest:
    """A t test of a mean difference of final losses (``loss − reference``, in nats).

    ``seeds`` is the number of pairs (for :func:`welch_test`, the smaller sample), ``sd`` the standard
    deviation of one difference, ``se`` the standard error of their mean, ``t`` and ``df`` the
    statistic and its degrees of freedom, ``p`` the two-sided p-value, and [``low``, ``high``] the
    ``level`` confidence interval of the mean difference. With fewer than two seeds every statistic but
    ``difference`` is NaN, and ``difference`` too with none.
    """
    difference: float
    se: float
    seeds: int
    t: float
    p: float
    low: float
    high: float
    sd: float
    df: float = math.nan
    level: float = 0.95
    kind: str = "paired t"

    def __str__(self) -> str:
        if self.seeds < 2 or not self.p == self.p:
            seeds = f"{self.seeds} seed{'' if self.seeds == 1 else 's'}: no test"
            return seeds if not self.difference == self.difference else f"{_signed(self.difference)} nats, {seeds}"
        df = f"{self.df:.0f}" if float(self.df).is_integer() else f"{self.df:.1f}"
        return (f"{_signed(self.difference)} nats [{_signed(self.low)}, {_signed(self.high)}], "
                f"{self.kind}({df}) = {_signed(self.t, 2).lstrip('+')}, p = {self.p:.2g}, {self.seeds} seeds")


def _t_test(difference: float, se: float, df: float, seeds: int, sd: float, level: float, kind: str) -> PairedTest:
    """The t statistic, two-sided p-value and interval of a mean ``difference`` with standard error ``se``."""
    from scipy.stats import t as student_t

    if se == 0:  # every difference the same: the interval has no width, and any nonzero mean is certain
        t = math.copysign(math.inf, difference) if difference else math.nan
        return PairedTest(difference, se, seeds, t, 0.0 if difference else math.nan, difference, difference,
                          sd, df, level, kind)
    t = difference / se
    half = float(student_t.ppf(0.5 + level / 2, df)) * se
    p = float(2 * student_t.sf(abs(t), df))
    return PairedTest(difference, se, seeds, t, p, difference - half, difference + half, sd, df, level, kind)


def _untested(difference: float, seeds: int, level: float, kind: str) -> PairedTest:
    nan = math.nan
    return PairedTest(difference, nan, seeds, nan, nan, nan, nan, nan, nan, level, kind)


def paired_test(loss: pd.Series, reference: pd.Series, level: float = 0.95) -> PairedTest:
    """The two-sided paired t test of ``loss − reference`` (final losses, Series indexed by seed) over
    the seeds both have, with ``n − 1`` degrees of freedom and a ``level`` confidence interval."""
    for name, s in (("loss", loss), ("reference", reference)):
        if not isinstance(s, pd.Series):
            raise ReplicationError(f"{name} must be a pandas Series of final losses indexed by seed")
    check_number("level", level, 0, 1, lo_open=True, hi_open=True)
    d = (loss - reference.reindex(loss.index)).dropna().to_numpy(dtype=float)
    n = len(d)
    if n < 2:
        return _untested(float(d.mean()) if n else math.nan, n, level, "paired t")
    sd = float(d.std(ddof=1))
    return _t_test(float(d.mean()), sd / math.sqrt(n), n - 1, n, sd, level, "paired t")


def welch_test(a, b, level: float = 0.95) -> PairedTest:
    """Welch's two-sided t test of ``mean(a) − mean(b)`` for two independent samples of final losses
    (NaNs dropped), with Welch–Satterthwaite degrees of freedom.

    There are no pairs here, so ``seeds`` is the smaller sample's size, and ``sd`` is the standard
    deviation of the difference of one draw from each, sqrt(sd_a² + sd_b²): the ``sd`` that
    :func:`seeds_needed` would need for independently seeded settings, ``seeds`` of each."""
    check_number("level", level, 0, 1, lo_open=True, hi_open=True)
    a, b = (np.asarray(x, dtype=float).ravel() for x in (a, b))
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    seeds = min(len(a), len(b))
    difference = float(a.mean() - b.mean()) if seeds else math.nan
    if seeds < 2:
        return _untested(difference, seeds, level, "Welch t")
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)  # squared standard errors of the two means
    se = math.sqrt(va + vb)
    # With no spread at all the Satterthwaite df is 0/0; the pooled df is the natural limit to report.
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1)) if se else len(a) + len(b) - 2
    sd = float(math.sqrt(a.var(ddof=1) + b.var(ddof=1)))
    return _t_test(difference, se, float(df), seeds, sd, level, "Welch t")


def verdict(test: PairedTest, expected_sign: int, level: float = 0.95, effect: float | None = None) -> str:
    """What ``test`` says of a claim that predicts the sign of the difference (+1: ``loss`` higher than
    ``reference``; −1: lower): "agrees" when p < 1 − ``level`` and the sign matches, "disagrees" when
    p < 1 − ``level`` and the sign is opposite, else "inconclusive (n seeds, power p)"
    (:func:`inconclusive`): the test could not tell, and how likely it was to tell."""
    check_choice("expected_sign", expected_sign, (-1, 1))
    check_number("level", level, 0, 1, lo_open=True, hi_open=True)
    if test.p < 1 - level and test.difference != 0:  # NaN p (too few seeds) compares False
        return "agrees" if math.copysign(1, test.difference) == expected_sign else "disagrees"
    return inconclusive(test, level, effect)


def power_of(test: PairedTest, level: float = 0.95, effect: float | None = None) -> float:
    """The probability that a test like ``test`` (its seeds, the spread ``sd`` of one difference) finds a
    true difference of ``effect`` (default: the difference it observed) at ``level``; NaN without a
    spread or an effect."""
    effect = test.difference if effect is None else effect
    if test.seeds < 2 or not (test.sd > 0 and math.isfinite(test.sd)) or not (effect and math.isfinite(effect)):
        return math.nan
    return paired_power(test.seeds, effect, test.sd, level)


def inconclusive(test: PairedTest, level: float = 0.95, effect: float | None = None) -> str:
    """"inconclusive (n seeds, power p)": ``p`` is :func:`power_of` at ``effect`` (default: the
    difference observed), left out where there is none."""
    n = test.seeds
    power = power_of(test, level, effect)
    seeds = f"{n} seed{'' if n == 1 else 's'}"
    return f"{INCONCLUSIVE} ({seeds}, power {power:.2f})" if power == power else f"{INCONCLUSIVE} ({seeds})"


def paired_power(n: int, effect: float, sd: float, level: float = 0.95) -> float:
    """The probability that a two-sided paired t test at ``level`` over ``n`` seeds finds a true mean
    difference ``effect`` when one difference has standard deviation ``sd``: P(|T| > t_crit) with T
    noncentral t, n − 1 degrees of freedom and noncentrality effect·√n / sd."""
    from scipy.stats import nct
    from scipy.stats import t as student_t

    df, nc = n - 1, abs(effect) * math.sqrt(n) / sd
    crit = float(student_t.ppf(0.5 + level / 2, df))
    # P(T < −crit | nc) written as P(T > crit | −nc): scipy's nct.cdf far in the lower tail is NaN
    # once nc is large (about 10), where this form is a clean tiny number.
    return float(nct.sf(crit, df, nc) + nct.sf(crit, df, -nc))


def seeds_needed(effect: float, sd: float, level: float = 0.95, power: float = 0.8,
                 max_seeds: int = 10_000) -> int:
    """The fewest paired seeds n >= 2 at which a two-sided paired t test at ``level`` detects a true
    mean difference ``effect`` with probability at least ``power`` (:func:`paired_power`), when one
    difference has standard deviation ``sd``. Raises ReplicationError if that takes more than
    ``max_seeds``."""
    check_number("effect", effect)
    if effect == 0:
        raise ReplicationError("effect=0: no effect to detect; allowed: any nonzero finite number")
    check_number("sd", sd, 0, lo_open=True)
    check_number("level", level, 0, 1, lo_open=True, hi_open=True)
    check_number("power", power, 0, 1, lo_open=True, hi_open=True)
    max_seeds = check_int("max_seeds", max_seeds, 2)
    if paired_power(max_seeds, effect, sd, level) < power:
        raise ReplicationError(f"effect={effect!r} with sd={sd!r} needs more than max_seeds={max_seeds} seeds "
                               f"for power={power!r} at level={level!r}; allowed: a larger effect/sd or max_seeds")
    # Power grows with n (a larger noncentrality, a smaller critical value), so bisect on n.
    lo, hi = 1, max_seeds  # power(lo) < power (n = 1 has no test), power(hi) >= power
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if paired_power(mid, effect, sd, level) >= power:
            hi = mid
        else:
            lo = mid
    return hi
