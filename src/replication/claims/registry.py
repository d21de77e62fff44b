"""Every claim of every source, assembled in page order."""
from __future__ import annotations

from functools import lru_cache

from replication.claims import chinchilla, experiments, krasser, secondary
from replication.claims.ledger import Claim
from replication.errors import ReplicationError


@lru_cache(maxsize=1)
def registry() -> tuple[Claim, ...]:
    """Every claim, in page order."""
    claims = (krasser.table_claims() + krasser.text_claims() + krasser.update_claims()
              + experiments.experiment_claims()
              + chinchilla.table2_claims() + chinchilla.table3_claims() + chinchilla.table_a3_claims()
              + chinchilla.table_a4_claims() + chinchilla.eq10_claims()
              + secondary.summary_claims() + secondary.assignment_claims() + secondary.notes_claims())
    ids = [c.id for c in claims]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise ReplicationError(f"duplicate claim ids: {sorted(dup)}")
    return tuple(claims)


def claim(claim_id: str) -> Claim:
    """One claim by id."""
    for c in registry():
        if c.id == claim_id:
            return c
    raise ReplicationError(f"claim {claim_id!r} is not in the registry")
