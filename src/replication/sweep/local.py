"""A study's missing runs trained on this machine: the sweep's local executor, called from Python.

The studies (and the book, through them) train what they lack with :func:`get_or_train_many`; the command
line's ``replication sweep --executor local`` goes the same way (:func:`replication.sweep.engine.run_local`).
It lives in the sweep package, not beside :func:`replication.training.runner.get_or_train`, because each of
its jobs calls ``get_or_train``: the runner does not import the sweep.
"""
from __future__ import annotations

from replication.corpus.documents import check_corpus
from replication.store.runs import Run, RunStore
from replication.sweep.engine import run_local
from replication.training.config import TrainConfig
from replication.training.runner import _check_resumable, check_resources


def get_or_train_many(cfgs: list[TrainConfig], store: RunStore | None = None, workers: int | None = None,
                      progress: bool = True) -> list[Run]:
    """The runs of many configs, training the missing ones as ``workers`` jobs at a time.

    The jobs go through the sweep's local executor (:func:`replication.sweep.engine.run_local`,
    submitit), the path of ``replication sweep --executor local``. Small models use two cores poorly from
    one process, so by default each missing run gets a process with an equal share of the cores. The
    runs' claims keep two studies (or two chapters, or two machines on one store) that ask for the same
    run from training it twice. A failed run stops the others and raises, naming its log.
    """
    store = store if store is not None else RunStore()
    runs = [store.run(cfg.run_id()) for cfg in cfgs]
    todo = list({r.id: cfg for r, cfg in zip(runs, cfgs) if not r.finished}.values())
    if not todo:
        return runs
    # every run's checks before any is trained: a refused run fails the study now, not hours later
    store.check_writable()
    for cfg in todo:
        check_corpus(cfg.corpus)
        check_resources(cfg)
        _check_resumable(store.run(cfg.run_id()), store.checkpoint_path(cfg.run_id()), cfg)
    run_local(todo, store, study="local", max_parallel=workers, progress=progress, stop_on_failure=True)
    return runs
