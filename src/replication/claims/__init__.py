"""The claims ledger: every checkable statement of the source documents, beside the value our code computes,
the kind of evidence that value is, and the outcome.

- :mod:`~replication.claims.rules`: the engine -- what a claim is, the kinds of evidence (:data:`KINDS`),
  the rules that decide agreement (:class:`Printed`, :class:`Within`, :class:`Range`, :class:`Predicate`),
  the outcomes (:data:`OUTCOMES`) and the tables of them
- :mod:`~replication.claims.krasser` (the article and the update note), :mod:`~replication.claims.experiments`
  (the article's loss claims, on Krasser's reported losses and on our CPU-scale runs),
  :mod:`~replication.claims.chinchilla` (the paper's tables and eq. 10), :mod:`~replication.claims.secondary`
  (a published summary, a course assignment's answer, reading notes): the claims, by source;
  :mod:`~replication.claims.computed`: our values that several of them share
- :mod:`~replication.claims.registry`: all of them, in page order

``table(registry())`` is the claims page.
"""
from replication.claims.chinchilla import other_rows_law, rows_at_70b
from replication.claims.registry import claim, registry
from replication.claims.rules import (ARITHMETIC, DATA, DIFFERS, HOLDS, INCONCLUSIVE_AT_CPU_SCALE, KINDS,
                                      NOT_AT_CPU_SCALE, NOT_CHECKABLE,
                                      NOT_CHECKED, OUTCOMES, RESTATED, SOURCES, Claim, Interval, Predicate, Printed,
                                      Range, Within, evaluate, perturb_claim, replications, summary,
                                      summary_by_source, table)

__all__ = [
    "ARITHMETIC", "DATA", "DIFFERS", "HOLDS", "INCONCLUSIVE_AT_CPU_SCALE", "KINDS", "NOT_AT_CPU_SCALE",
    "NOT_CHECKABLE", "NOT_CHECKED",
    "OUTCOMES", "RESTATED", "SOURCES", "Claim", "Interval", "Predicate", "Printed", "Range", "Within", "claim",
    "evaluate", "other_rows_law", "perturb_claim", "registry", "replications", "rows_at_70b", "summary",
    "summary_by_source", "table",
]
