"""The one shape of every study: design → configs → missing runs → results table → verdicts.

A study's design is a frozen dataclass whose ``configs()`` lists every run it trains
(:class:`~replication.studies.chinchilla_design.ChinchillaStudy`,
:class:`~replication.studies.krasser_cpu.KrasserStudy`,
:class:`~replication.studies.transfer_design.TransferStudy`). :func:`missing` says which of them the run
store lacks and :func:`train_missing` trains those, the one function here that trains; each study's module
then reads the recorded runs with ``runs_table(study, store)`` and concludes with ``verdicts(study, table)``
(:class:`~replication.verdict.Verdict` objects). Every function takes the same ``store``: a
:class:`~replication.store.runs.RunStore`, a folder, or None for the default store.
"""
from __future__ import annotations

from typing import Protocol

from replication.errors import ReplicationError, check_int
from replication.store.runs import Run, RunStore
from replication.training.config import TrainConfig


class Study(Protocol):
    """A study's design: every run it trains."""

    def configs(self) -> list[TrainConfig]: ...


def open_store(store: RunStore | str | None = None) -> RunStore:
    """``store`` as a RunStore: one as given, a folder opened, None the default store."""
    return store if isinstance(store, RunStore) else RunStore(store)


def missing(study: Study, store: RunStore | str | None = None) -> list[TrainConfig]:
    """The study's runs that the store has not finished, each once, in the study's order."""
    s = open_store(store)
    return list({c.run_id(): c for c in study.configs() if not s.run(c.run_id()).finished}.values())


def train_missing(study: Study, store: RunStore | str | None = None, workers: int | None = None,
                  progress: bool = True) -> list[Run]:
    """Train every run of ``study`` that ``store`` lacks, ``workers`` processes at a time (default: one
    per core); recorded runs return at once. The runs of every config, in the study's order."""
    if workers is not None:
        check_int("workers", workers, 1)
    s = open_store(store)
    if not missing(study, s):
        return [s.run(c.run_id()) for c in study.configs()]
    from replication.sweep.local import get_or_train_many  # torch and submitit, only to train

    return get_or_train_many(study.configs(), s, workers=workers, progress=progress)


def summaries(configs: list, store: RunStore | str | None = None, what: str = "the study") -> list[dict]:
    """The recorded summary of every config (or run id); one line naming the first missing run otherwise
    (reading never trains: :func:`train_missing` does)."""
    s = open_store(store)
    ids = [c if isinstance(c, str) else c.run_id() for c in configs]
    out = [s.run(i).summary for i in ids]
    absent = [i for i, x in zip(ids, out) if x is None]
    if absent:
        raise ReplicationError(f"{len(absent)} run(s) of {what} are not recorded in {s.root} (first: {absent[0]}); "
                               f"train them with replication.studies.runs.train_missing(study)")
    return out
