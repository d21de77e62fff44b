"""The two studies the book trains and reads: Krasser's Perceiver AR experiments (the article's designs
on paper, and their CPU-scale counterparts trained with several seeds) and our own CPU-scale Chinchilla
study, with the statistical tests both use.

- :mod:`~replication.studies.krasser_design`: the article's Experiments 1, 2a, 2b, tables, predictions, costs
- :mod:`~replication.studies.krasser`: the experiments at CPU scale (:class:`KrasserStudy`), runs, verdicts
- :mod:`~replication.studies.chinchilla_design`: our Chinchilla study's design (:class:`ChinchillaStudy`)
- :mod:`~replication.studies.chinchilla`: its runs, the three approaches on them, the recipe claims
- :mod:`~replication.studies.stats`: when a difference of final losses is more than noise
- :mod:`~replication.studies.figure4`: the paper's own runs (its Figure 4 points), refitted by Approaches 3 and 2
"""
from replication.studies.chinchilla import (approach1, approach2, approach3, compute_law, compute_per_token,
                                            curves_table, fit_all, isoflop_points, optimum_on_budget,
                                            plan_table, recipe_table, recipe_verdicts, runs_table,
                                            scaling_runs, tokens_per_param_table, train_missing,
                                            training_time)
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

__all__ = [
    # Krasser's experiments, on paper
    "EXPERIMENTS", "Experiment", "article_commands", "article_results", "article_table", "both_accountings",
    "chinchilla_laws", "closest_model", "design_table", "experiment", "formatted", "gpu_hours", "model_choice",
    "predictions", "train_command",
    # ... and trained at CPU scale
    "KrasserStudy", "check_scale", "conclusion", "cpu_experiment", "cpu_study", "empirical_optimum",
    "loss_curves", "loss_summary", "recorded_total", "total_training", "train_study", "verdicts",
    # our Chinchilla study
    "ChinchillaStudy", "approach1", "approach2", "approach3", "compute_law", "compute_per_token",
    "curves_table", "fit_all", "isoflop_points", "num_nonembedding_params", "num_params",
    "optimum_on_budget", "plan_table", "recipe_table", "recipe_verdicts", "runs_table", "scaling_runs",
    "tokens_per_param_table", "train_missing", "training_time",
    # the statistical tests
    "paired_difference", "paired_t_verdict", "pooled_z_comparison",
    # the paper's own runs, refitted
    "figure4_summary",
]
