"""The studies the book trains and reads, and the statistics they share.

Every study has one shape (:mod:`~replication.studies.runs`): a design (a frozen dataclass) gives its
``configs()``; :func:`~replication.studies.runs.missing` and :func:`~replication.studies.runs.train_missing`
find and train what the run store lacks; its module's ``runs_table(study, store)`` reads the recorded runs,
and ``verdicts(study, table)`` says what they conclude, as :class:`~replication.verdict.Verdict` objects.

- Our Chinchilla study at CPU scale: :mod:`~replication.studies.chinchilla` (runs, verdicts; the fits
  themselves in ``chinchilla_approach2`` and ``chinchilla_approaches``), ``chinchilla_design`` (the
  design), ``chinchilla_lr`` (the learning-rate sweep and its rule), ``chinchilla_tuning`` (pilots, recipes)
- Krasser's Experiments 1, 2a, 2b: ``krasser_design`` (the article's, on paper), :mod:`~replication.studies.krasser`
  (at CPU scale: runs, verdicts; the design in ``krasser_cpu``, what limits a run in ``krasser_limits``)
- The Perceiver AR transfer test: :mod:`~replication.studies.transfer` (runs, optima, verdicts; the design in
  ``transfer_design``, what the results say of the article's claims in ``transfer_reading``)
- Shared: ``stats`` (paired t tests, power), ``exponents`` (every exponent with its intervals), ``envelope``
  and ``plateau``; ``figure4`` (the paper's own runs refitted) and ``planning`` (the laws the book plans with)
"""
