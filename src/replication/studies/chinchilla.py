"""Our Chinchilla study at CPU scale, in the shape every study has (:mod:`replication.studies.runs`): the
design (:class:`~replication.studies.chinchilla_design.ChinchillaStudy`, :data:`DEFAULT`) → its configs →
:func:`missing` and :func:`train_missing` → :func:`runs_table` → :func:`verdicts`.

The analysis between the table and the verdicts: Approach 2 under every count of compute
(:mod:`~replication.studies.chinchilla_approach2`: :func:`approach2`, :func:`exponents`,
:func:`accounting_table`), Approaches 1 and 3 and the robustness table
(:mod:`~replication.studies.chinchilla_approaches`); the learning-rate sweep is
:mod:`~replication.studies.chinchilla_lr`, the pilots and recipe claims
:mod:`~replication.studies.chinchilla_tuning`. Nothing here trains except :func:`train_missing`.
"""
from __future__ import annotations

import pandas as pd

from replication.papers.chinchilla import TABLE_2
from replication.studies.chinchilla_approach2 import accounting_table, approach2, exponents
from replication.studies.chinchilla_approaches import (approach1, approach1_intervals, approach3, optimum_on_budgets,
                                                       robustness_table)
from replication.studies.chinchilla_design import DEFAULT, ChinchillaStudy
from replication.studies.chinchilla_runs import COUNTS, curves_table, per_token_flops, recorded_minutes, runs_table
from replication.studies.runs import missing, train_missing
from replication.verdict import Verdict

__all__ = ["COUNTS", "DEFAULT", "ChinchillaStudy", "accounting_table", "approach1", "approach1_intervals",
           "approach2", "approach3", "curves_table", "exponents", "missing", "optimum_on_budgets", "per_token_flops",
           "recorded_minutes", "robustness_table", "runs_table", "train_missing", "verdicts"]


def verdicts(study: ChinchillaStudy = DEFAULT, table: pd.DataFrame | None = None, store=None,
             counts: pd.DataFrame | None = None, bootstrap: int = 1000, seed: int = 0) -> list[Verdict]:
    """The study's headline: a of N_opt ∝ C^a and b/a of D_opt ∝ N_opt^(b/a) by Approach 2, counted as the
    paper counts (C = 6ND, every parameter), each against Table 2's Approach-2 value by the widest of its
    intervals. ``table``: :func:`runs_table`; ``counts``: :func:`accounting_table` with the same runs, if
    already computed."""
    if counts is None:
        counts = accounting_table(study, store, bootstrap, seed, runs=table)
    ex = counts.set_index("count").loc["6N", "intervals"]
    paper = TABLE_2["approach2"]
    a, r = ex["a"], ex["b/a"]
    return [
        a.verdict(paper["a"], claim=f"The paper finds $N_{{opt}} \\propto C^{{a}}$ with $a$ = {paper['a']:.2f} "
                                    "(Approach 2, $C = 6ND$).",
                  finding=f"On {a.vertices} budgets of our runs, $a$ = {a.estimate:.2f} (widest interval "
                          f"{a.widest[0]:.2f} to {a.widest[1]:.2f})."),
        r.verdict(paper["b"] / paper["a"], claim=f"Its $D_{{opt}} \\propto N_{{opt}}^{{b/a}}$ has $b/a$ = "
                                                 f"{paper['b'] / paper['a']:.2f}.",
                  finding=f"We find $b/a$ = {r.estimate:.2f} ({r.widest[0]:.2f} to {r.widest[1]:.2f})."),
    ]
