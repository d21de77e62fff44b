"""What a sweep trains: each study the book trains, its named designs, each a list of ``TrainConfig``.

=============  =====================================================================================
study          designs
=============  =====================================================================================
chinchilla     ``default``: every run of our Chinchilla study (the learning-rate sweep, the pilots, the
               IsoFLOP runs, the recipe claims; :meth:`ChinchillaStudy.configs`); ``isoflop``: its
               IsoFLOP runs only; ``tuning``: the sweep and the pilots only, the runs that need no
               learning-rate rule (the rest read the rule from the recorded sweep, so a fresh store
               trains these first); ``smoke``: 2 runs of the narrowest width on two tiny budgets
krasser        ``default``: Krasser's three experiments at CPU scale (1, 2a, 2b, three seeds each);
               ``1``, ``2a``, ``2b``: one of them; ``smoke``: 2 one-layer models of Experiment 2b
wide           ``default``: the wide study (:mod:`replication.studies.wide_design`): its tuning, IsoFLOP runs and
               batch test (the rest read the learning-rate rule from the recorded sweep); ``tuning``: the
               sweep (its second seeds once its first are recorded: sweep it twice) and the warmup pilot;
               ``isoflop``: its IsoFLOP runs only; ``duel``: Chinchilla against Gopher at the N_opt the
               held-in budgets predict (all their IsoFLOP runs recorded first; ``default`` leaves it out).
               ``replication sweep plan wide`` prints what it costs
transfer       ``default``: the transfer test the book trains (:data:`TRANSFER` at the N_opt of the
               Chinchilla study's fitted law, so that study's runs must be in the store); ``smoke``: 3 runs, a
               decoder (the Chinchilla smoke design's first run, shared) and the prefix model under both
               counts, on the Chinchilla smoke study's ladder
=============  =====================================================================================

A smoke design's runs take seconds each on one core: they are for tests and for a first try of the
machinery (``replication sweep chinchilla --design smoke``). Checkpoints are written every 4 steps in
them, so that a killed smoke run resumes from a checkpoint.
"""
from __future__ import annotations

from dataclasses import replace

from replication.errors import ReplicationError, check_choice
from replication.sweep.jobs import Planned  # noqa: F401 (defined with the jobs, which the engine runs)
from replication.training.config import TrainConfig

#: study -> its designs, the first the default.
DESIGNS = {
    "chinchilla": ("default", "isoflop", "tuning", "smoke"),
    "krasser": ("default", "1", "2a", "2b", "smoke"),
    "transfer": ("default", "smoke"),
    "wide": ("default", "tuning", "isoflop", "duel"),
}
STUDIES = tuple(DESIGNS)

#: Checkpoint interval of the smoke runs (an execution setting: not part of the run id).
SMOKE_CHECKPOINT_INTERVAL = 4


def check_study(study: str) -> str:
    return check_choice("study", study, STUDIES)


def check_design(study: str, design: str | None) -> str:
    check_study(study)
    if design is None:
        return DESIGNS[study][0]
    if design not in DESIGNS[study]:
        raise ReplicationError(f"--design={design!r} is not a design of the {study} study; choose one of: "
                               f"{', '.join(DESIGNS[study])}")
    return design


def budget_label(cfg: TrainConfig) -> str:
    """The budget a run is counted under: its FLOPs budget, or its step count when it is set in steps."""
    if cfg.budget_flops is not None:
        return f"{cfg.budget_flops:.3g} FLOPs"
    return f"{cfg.steps} steps"


def smoke_chinchilla():
    """The smoke study: the default study's ladder and learning-rate rule on two tiny budgets."""
    from replication.studies.chinchilla_design import DEFAULT

    return replace(DEFAULT, budgets=(1e9, 2e9), profiles=((0, 1, 2), (0, 1, 2)), vertex_points=(), recipe_budget=0,
                   eval_windows=8, evals_per_run=2, lr_rule=DEFAULT.rule)


def _smoke(cfgs) -> list[TrainConfig]:
    return [replace(c, checkpoint_interval=SMOKE_CHECKPOINT_INTERVAL) for c in cfgs]


def _chinchilla(design: str, root) -> list[TrainConfig]:
    if design == "smoke":
        s = smoke_chinchilla()
        return _smoke(s.config(0, c, 0) for c in s.budgets)
    from replication.studies.chinchilla_design import DEFAULT

    if design == "tuning":
        return DEFAULT.sweep_configs() + [c for cfgs in DEFAULT.pilot_configs().values() for c in cfgs]
    return DEFAULT.isoflop_configs() if design == "isoflop" else DEFAULT.configs()


def _krasser(design: str, root) -> list[TrainConfig]:
    from replication.studies.krasser import cpu_study

    if design == "smoke":
        study = cpu_study("2b", models=((8, 1), (12, 1)), ref_steps=10, seeds=(0,), evals_per_run=2, eval_windows=8)
        return _smoke(study.configs())
    names = ("1", "2a", "2b") if design == "default" else (design,)
    return [c for name in names for c in cpu_study(name).configs()]


def _transfer(design: str, root) -> list[TrainConfig]:
    from replication.studies.transfer_design import TRANSFER, TransferStudy, law_n_opt

    if design == "smoke":
        variants = ("decoder", "prefix, C_self", "prefix, C_self + C_cross")
        study = TransferStudy(chinchilla=smoke_chinchilla(), budget=1e9, seeds=(0, 1), variants=variants)
        return _smoke(study.config(v, 0, 0) for v in variants)
    try:
        n_opt = law_n_opt(TRANSFER, root)
    except ReplicationError as err:
        raise ReplicationError(f"the transfer test's design needs N_opt from the Chinchilla study's runs, "
                               f"which are not all in the store ({err}); sweep the chinchilla study first") from None
    return replace(TRANSFER, n_opt=n_opt).configs()


def _wide(design: str, root) -> list[TrainConfig]:
    from replication.studies.wide_design import DEFAULT
    from replication.studies.wide_lr import recorded_rule, repeat_points

    if design != "tuning":  # the rule is fitted to the recorded sweep (its error names the tuning design)
        study = replace(DEFAULT, lr_rule=recorded_rule(DEFAULT, root))
        if design == "isoflop":
            return study.isoflop_configs()
        if design == "duel":  # at the N_opt the held-in budgets predict, once all their runs are recorded
            from replication.studies.wide import held_in_n_opt

            return replace(study, duel_n_opt=held_in_n_opt(study, root)).duel_configs()
    cfgs = DEFAULT.tuning_configs()
    try:
        cfgs += [DEFAULT.sweep_config(*p) for p in repeat_points(DEFAULT, root)]
    except ReplicationError:  # the second seeds go where the first seeds' best rates are: the next sweep's
        pass
    return cfgs if design == "tuning" else cfgs + study.configs()


_BUILDERS = {"chinchilla": _chinchilla, "krasser": _krasser, "transfer": _transfer, "wide": _wide}


def plan(study: str, design: str | None = None, root=None) -> list[Planned]:
    """The runs of ``study``'s ``design`` (default: its first), each once, in the study's training order.
    ``root``: the run store, which the transfer test's default design reads (its sizes follow the
    Chinchilla study's fitted law)."""
    design = check_design(study, design)
    cfgs = _BUILDERS[study](design, root)
    return [Planned(c, budget_label(c)) for c in {c.run_id(): c for c in cfgs}.values()]
