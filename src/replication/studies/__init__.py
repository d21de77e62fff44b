"""The two studies the book trains and reads: Krasser's Perceiver AR experiments (the article's designs
on paper, and their CPU-scale counterparts trained with several seeds) and our own CPU-scale Chinchilla
study, with the statistical tests both use.

- :mod:`~replication.studies.krasser_design`: the article's Experiments 1, 2a, 2b, tables, predictions, costs
- :mod:`~replication.studies.krasser`: the experiments at CPU scale (:class:`KrasserStudy`), runs, verdicts
- :mod:`~replication.studies.chinchilla_design`: our Chinchilla study's design (:class:`ChinchillaStudy`)
- :mod:`~replication.studies.chinchilla`: its runs and the three approaches on them, under every count
- :mod:`~replication.studies.chinchilla_tuning`: its learning-rate sweep, pilots and recipe claims
- :mod:`~replication.studies.stats`: when a difference of final losses is more than noise
- :mod:`~replication.studies.figure4`: the paper's own runs (its Figure 4 points), refitted by Approaches 3 and 2
"""
from replication.studies.chinchilla import (COUNTS, accounting_table, approach1, approach2, approach3,
                                            curves_table, profiles_table, robustness_table, runs_table,
                                            train_missing)
from replication.studies.chinchilla_design import ChinchillaStudy, num_nonembedding_params, num_params
from replication.studies.krasser import (KrasserStudy, check_scale, conclusion, cpu_experiment, cpu_study,
                                         empirical_optimum, loss_curves, loss_summary, recorded_total,
                                         total_training, train_study, verdicts)
from replication.studies.krasser_design import (EXPERIMENTS, Experiment, article_commands, article_results,
                                                article_table, both_accountings, chinchilla_laws,
                                                closest_model, design_table, experiment, formatted,
                                                gpu_hours, model_choice, predictions, train_command)
from replication.studies.figure4 import figure4_summary
from replication.studies.stats import paired_difference, paired_t_verdict, pooled_z_comparison
from replication.studies.transfer import TRANSFER, TransferStudy  # the Perceiver AR transfer test

__all__ = [
    # Krasser's experiments, on paper
    "EXPERIMENTS", "Experiment", "article_commands", "article_results", "article_table", "both_accountings",
    "chinchilla_laws", "closest_model", "design_table", "experiment", "formatted", "gpu_hours", "model_choice",
    "predictions", "train_command",
    # ... and trained at CPU scale
    "KrasserStudy", "check_scale", "conclusion", "cpu_experiment", "cpu_study", "empirical_optimum",
    "loss_curves", "loss_summary", "recorded_total", "total_training", "train_study", "verdicts",
    # our Chinchilla study
    "COUNTS", "ChinchillaStudy", "accounting_table", "approach1", "approach2", "approach3", "curves_table",
    "num_nonembedding_params", "num_params", "profiles_table", "robustness_table", "runs_table", "train_missing",
    # the statistical tests
    "paired_difference", "paired_t_verdict", "pooled_z_comparison",
    # the paper's own runs, refitted
    "figure4_summary",
]
