"""The claims ledger: every checkable statement of the source documents, beside the value our code computes,
the kind of evidence that value is, and the outcome.

- :mod:`~replication.claims.ledger`: the engine -- what a claim is, the kinds of evidence (:data:`KINDS`),
  the outcomes (:data:`OUTCOMES`: the Verdicts' own, and no check) and the tables of them
- :mod:`~replication.claims.rules`: the rules that decide a claim (arithmetic: :class:`Printed`,
  :class:`Within`, :class:`Range`, :class:`Predicate`; statistical: :class:`InInterval`, :class:`FromTests`)
- :mod:`~replication.claims.krasser` (the article and the update note), :mod:`~replication.claims.experiments`
  (the article's loss claims, on Krasser's reported losses and on our CPU-scale runs),
  :mod:`~replication.claims.chinchilla` (the paper's tables and eq. 10), :mod:`~replication.claims.secondary`
  (a published summary, a course assignment's answer, reading notes): the claims, by source;
  :mod:`~replication.claims.computed`: our values that several of them share
- :mod:`~replication.claims.registry`: all of them, in page order
- :mod:`~replication.claims.headlines`: each chapter's headline verdicts, for the results page

``table(registry())`` is the claims page.
"""
from replication.claims.chinchilla import other_rows_law, rows_at_70b
from replication.claims.ledger import (AGREES, ARITHMETIC, DATA, DIFFERS, DISAGREES, HOLDS, INCONCLUSIVE, KINDS,
                                       NO_CHECK, NOT_CHECKED, OUTCOMES, RESTATED, SOURCES, Claim, distinct_tests,
                                       evaluate, perturb_claim, replications, summary, summary_by_source, table)
from replication.claims.registry import claim, registry
from replication.claims.rules import InInterval, Interval, Predicate, Printed, Range, FromTests, Within

__all__ = [
    "AGREES", "ARITHMETIC", "DATA", "DIFFERS", "DISAGREES", "HOLDS", "INCONCLUSIVE", "KINDS", "NO_CHECK",
    "NOT_CHECKED", "OUTCOMES", "RESTATED", "SOURCES", "Claim", "InInterval", "Interval", "Predicate", "Printed",
    "Range", "FromTests", "Within", "claim", "distinct_tests", "evaluate", "other_rows_law", "perturb_claim",
    "registry", "replications", "rows_at_70b", "summary", "summary_by_source", "table",
]
