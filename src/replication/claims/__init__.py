"""The claims ledger: every checkable statement of the source documents, beside the value our code computes.

- :mod:`~replication.claims.rules`: the engine -- what a claim is, the rules that decide agreement
  (:class:`Printed`, :class:`Within`, :class:`Range`, :class:`Predicate`), and the table of statuses
- :mod:`~replication.claims.krasser`, :mod:`~replication.claims.chinchilla`, :mod:`~replication.claims.seeds`:
  the claims, by source; :mod:`~replication.claims.computed`: our values that several of them share
- :mod:`~replication.claims.registry`: all of them, in page order

``table(registry())`` is the claims page.
"""
from replication.claims.chinchilla import other_rows_law, rows_at_70b
from replication.claims.registry import claim, registry
from replication.claims.rules import (SOURCES, STATUSES, Claim, Interval, Predicate, Printed, Range, Within,
                                      evaluate, perturb_claim, summary, summary_by_source, table)

__all__ = [
    "SOURCES", "STATUSES", "Claim", "Interval", "Predicate", "Printed", "Range", "Within", "claim", "evaluate",
    "other_rows_law", "perturb_claim", "registry", "rows_at_70b", "summary", "summary_by_source", "table",
]
