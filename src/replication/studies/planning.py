"""The laws the book plans with (:mod:`replication.fit.planning` does the planning): the paper's constants,
Besiroglu et al.'s, our refit to the points of the paper's Figure 4 and our CPU-scale fit, each a
:class:`~replication.fit.planning.Law` with bootstrap samples where it has them.
"""
from __future__ import annotations

from replication.errors import check_choice, check_int
from replication.fit.planning import Law, law_from_points
from replication.papers import chinchilla as paper
from replication.studies import chinchilla, figure4
from replication.studies.wide_design import DEFAULT as WIDE

#: The laws :func:`load_law` knows: name -> what it is.
LAWS = {
    "paper": "Hoffmann et al. (2022), eq. 10, unrounded constants (those behind Table 2's a = 0.46)",
    "paper-rounded": "Hoffmann et al. (2022), eq. 10 as printed (rounded constants)",
    "besiroglu": "Besiroglu et al. (2024), their published likelihood fit (no samples)",
    "figure4": "our Huber-LSE refit to the 240 points of the paper's Figure 4, with a bootstrap",
    "study": "our CPU-scale Approach-3 fit on the study's recorded IsoFLOP runs (the wide study), with a bootstrap",
}
#: The largest run behind the paper's fit, as far as the paper says (Figure 4's largest models and budgets).
_PAPER_RUNS = {"N": 16e9, "D": 500e9, "C": 3e21}
_PRINTED = {"paper": paper.EQ10_UNROUNDED, "paper-rounded": paper.EQ10, "besiroglu": paper.EPOCH_FIT}


def load_law(name: str = "paper", *, data=None, bootstrap: int = 1000, seed: int = 0) -> Law:
    """One of :data:`LAWS`, or (``data``: a DataFrame or CSV path of N, D, loss) Approach 3 fitted to it.

    "figure4" and "study" and ``data`` fit Approach 3 (several seconds) and bootstrap ``bootstrap``
    resamples of the points (0: none)."""
    check_int("bootstrap", bootstrap, 0, 1_000_000)
    if data is not None:
        label = f"Approach 3 fitted to {data if isinstance(data, str) else 'the data'}"
        return law_from_points(label, data, bootstrap=bootstrap, seed=seed)
    check_choice("law", name, tuple(LAWS))
    if name in _PRINTED:
        return Law(name, dict(_PRINTED[name]), trained=dict(_PAPER_RUNS))
    points = figure4.points() if name == "figure4" else chinchilla.runs_table(WIDE, recorded_only=True)
    return law_from_points(name, points, bootstrap=bootstrap, seed=seed)
