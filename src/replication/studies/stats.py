"""The book's statistical tests: when is a difference of final losses between two settings real?

Both studies train every setting with a few seeds and compare mean final losses:

- Krasser's experiments (:mod:`replication.studies.krasser`) compare two *models*, trained
  independently, by the difference of their means against its pooled standard error
  (:func:`pooled_z_comparison`, a z rule at two standard errors).
- Our Chinchilla study's recipe claims (:mod:`replication.studies.chinchilla`) compare two *recipes*
  trained with the same seeds (same initial weights, same batches), by the paired differences
  (:func:`paired_difference`) in a two-sided paired t test (:func:`paired_t_verdict`).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

#: The verdict when a difference is within the noise.
NOT_DISTINGUISHABLE = "not distinguishable"


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
