"""When is a difference of final losses between two settings real? The book's one statistical standard.

Settings are trained with the same seeds (same initial weights, same batch stream), so a comparison is a
two-sided paired t test over the seeds both settings have (:func:`paired_test`), shown with its p-value and
the confidence interval of the mean difference (``str(test)``). A claim that predicts the sign of a
difference gets a :class:`~replication.verdict.Verdict` (:func:`verdict`): it *agrees*, it *disagrees*, or
the test is *inconclusive* with the seeds run, said with its power ("inconclusive (3 seeds, power 0.25)",
:func:`power_of`: the chance that this test would have found a true difference the size of the one
observed). :func:`seeds_needed` says how many seeds would make a given effect detectable, and
:func:`all_agree` joins the verdicts of a claim that makes several comparisons at once.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import pandas as pd
from scipy.stats import nct
from scipy.stats import t as student_t

from replication.errors import ReplicationError, check_choice, check_int, check_number
from replication.verdict import AGREES, DISAGREES, INCONCLUSIVE, Verdict


def _signed(x: float, digits: int = 4) -> str:
    """``x`` with its sign always written, and a true minus sign, as the book prints differences."""
    return f"{x:+.{digits}f}".replace("-", "\u2212")


@dataclass(frozen=True)
class PairedTest:
    """A paired t test of a mean difference of final losses (``loss − reference``, in nats).

    ``seeds`` is the number of pairs, ``sd`` the standard deviation of one difference, ``se`` the standard
    error of their mean, ``t`` and ``df`` the statistic and its degrees of freedom, ``p`` the two-sided
    p-value, and [``low``, ``high``] the ``level`` confidence interval of the mean difference. With fewer
    than two seeds every statistic but ``difference`` is NaN, and ``difference`` too with none.
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

    def __str__(self) -> str:
        if self.seeds < 2 or not self.p == self.p:
            seeds = f"{self.seeds} seed{'' if self.seeds == 1 else 's'}: no test"
            return seeds if not self.difference == self.difference else f"{_signed(self.difference)} nats, {seeds}"
        return (f"{_signed(self.difference)} nats [{_signed(self.low)}, {_signed(self.high)}], "
                f"paired t({self.df:.0f}) = {_signed(self.t, 2).lstrip('+')}, p = {self.p:.2g}, {self.seeds} seeds")


def paired_test(loss: pd.Series, reference: pd.Series, level: float = 0.95) -> PairedTest:
    """The two-sided paired t test of ``loss − reference`` (final losses, Series indexed by seed) over
    the seeds both have, with ``n − 1`` degrees of freedom and a ``level`` confidence interval."""
    for name, s in (("loss", loss), ("reference", reference)):
        if not isinstance(s, pd.Series):
            raise ReplicationError(f"{name} must be a pandas Series of final losses indexed by seed")
    check_number("level", level, 0, 1, lo_open=True, hi_open=True)
    d = (loss - reference.reindex(loss.index)).dropna().to_numpy(dtype=float)
    n = len(d)
    nan = math.nan
    if n < 2:
        return PairedTest(float(d.mean()) if n else nan, nan, n, nan, nan, nan, nan, nan, nan, level)
    sd = float(d.std(ddof=1))
    diff, se = float(d.mean()), sd / math.sqrt(n)
    if se == 0:  # every difference the same: the interval has no width, and any nonzero mean is certain
        t = math.copysign(math.inf, diff) if diff else nan
        return PairedTest(diff, se, n, t, 0.0 if diff else nan, diff, diff, sd, n - 1, level)
    half = float(student_t.ppf(0.5 + level / 2, n - 1)) * se
    t = diff / se
    return PairedTest(diff, se, n, t, float(2 * student_t.sf(abs(t), n - 1)), diff - half, diff + half, sd, n - 1,
                      level)


def verdict(test: PairedTest, expected_sign: int, claim: str = "The difference has the sign the claim predicts.",
            level: float = 0.95, effect: float | None = None, finding: str = "") -> Verdict:
    """What ``test`` says of ``claim``, which predicts the sign of the difference (+1: ``loss`` higher than
    ``reference``; −1: lower): *agrees* when p < 1 − ``level`` and the sign matches, *disagrees* when
    p < 1 − ``level`` and the sign is opposite, else *inconclusive*, with the seeds and the test's power at
    ``effect`` (default: the difference observed; :func:`power_of`)."""
    check_choice("expected_sign", expected_sign, (-1, 1))
    check_number("level", level, 0, 1, lo_open=True, hi_open=True)
    outcome = INCONCLUSIVE
    if test.p < 1 - level and test.difference != 0:  # NaN p (too few seeds) compares False
        outcome = AGREES if math.copysign(1, test.difference) == expected_sign else DISAGREES
    interval = (test.low, test.high) if math.isfinite(test.low) and math.isfinite(test.high) else None
    return Verdict(claim=claim, outcome=outcome, test=f"two-sided paired t test at {level:.0%}",
                   ours=test.difference, interval=interval, n=test.seeds, power=power_of(test, level, effect),
                   p_value=test.p, finding=finding, unit="seeds")


def all_agree(verdicts: list[Verdict], claim: str, finding: str = "") -> Verdict:
    """One verdict on a claim that makes several comparisons at once (each a :func:`verdict`): *agrees* when
    every comparison agrees, *disagrees* when one disagrees, else *inconclusive*, with the fewest seeds and
    the lowest power of its tests (every test finding its difference is at most as likely as the least
    likely one); no power where one comparison has none (too few seeds for a test). One comparison is that
    comparison's verdict, on ``claim``."""
    if not verdicts:
        raise ReplicationError("verdicts: allowed: a non-empty list of Verdicts")
    if len(verdicts) == 1:
        return replace(verdicts[0], claim=claim, finding=finding or verdicts[0].finding)
    outcomes = [v.outcome for v in verdicts]
    outcome = (AGREES if all(o == AGREES for o in outcomes) else DISAGREES if DISAGREES in outcomes
               else INCONCLUSIVE)
    powers = [v.power for v in verdicts if v.power is not None and math.isfinite(v.power)]
    known = len(powers) == len(verdicts)
    return Verdict(claim=claim, outcome=outcome, test=f"{len(verdicts)} tests ({verdicts[0].test}), every one needed",
                   n=min(v.n for v in verdicts), power=min(powers) if powers and known else None, finding=finding,
                   unit=verdicts[0].unit)


def power_of(test: PairedTest, level: float = 0.95, effect: float | None = None) -> float:
    """The probability that a test like ``test`` (its seeds, the spread ``sd`` of one difference) finds a
    true difference of ``effect`` (default: the difference it observed) at ``level``; NaN without a
    spread or an effect."""
    effect = test.difference if effect is None else effect
    if test.seeds < 2 or not (test.sd > 0 and math.isfinite(test.sd)) or not (effect and math.isfinite(effect)):
        return math.nan
    return paired_power(test.seeds, effect, test.sd, level)


def paired_power(n: int, effect: float, sd: float, level: float = 0.95) -> float:
    """The probability that a two-sided paired t test at ``level`` over ``n`` seeds finds a true mean
    difference ``effect`` when one difference has standard deviation ``sd``: P(|T| > t_crit) with T
    noncentral t, n − 1 degrees of freedom and noncentrality effect·√n / sd."""
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
