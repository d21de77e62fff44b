"""Krasser's Experiments 1, 2a and 2b: what the three chapters glue, the Verdict box first, then every number
the prose quotes (plain strings under ``<prefix>_...``; :data:`~replication.studies.krasser.NOT_TRAINED`
where the chapter runs at the article's scale only)."""
from __future__ import annotations

import pandas as pd
from IPython.display import Markdown
from myst_nb import glue

from replication.counting import ACCOUNTINGS
from replication.store.runs import RunStore
from replication.studies import krasser, krasser_design, krasser_limits
from replication.studies.chinchilla_design import DEFAULT
from replication.studies.krasser import NOT_TRAINED, KrasserStudy, empirical_optimum, optimum_inside
from replication.studies.krasser_design import chinchilla_laws
from replication.studies.plateau import plateau_reading
from replication.verdict import box_markdown

from .experiment_figures import loss_unit
from .tables import sci


def verdict_box(study: KrasserStudy, results: pd.DataFrame | None) -> str:
    """The chapter's Verdict box (MyST): the article's claim against our runs
    (:func:`replication.studies.krasser.verdicts`), or, at the article's scale, the claim alone."""
    if results is None:
        return f"{krasser.article_claim(study.name)} At CPU scale: {NOT_TRAINED}."
    verdicts = krasser.verdicts(study, results)
    if not verdicts:
        return (f"The article finds {krasser.CLAIMS[study.name]}. At CPU scale no model but the reference is "
                "nearest the law's N_opt: nothing to compare.")
    return box_markdown(verdicts)


def optimum_text(summary: pd.DataFrame) -> str:
    """The empirical optimum as the book quotes it: a number (×10ⁿ) only inside the trained range, where
    the parabola interpolates; outside it only its side (:func:`krasser.optimum_text`)."""
    if optimum_inside(summary):
        return sci(empirical_optimum(summary), 3)
    return krasser.optimum_text(summary)


def optimum_phrase(summary: pd.DataFrame) -> str:
    """Where the parabola through the mean losses has its minimum, in words: a number only inside the
    trained range."""
    n_hat = empirical_optimum(summary)
    if not n_hat == n_hat:
        return "the parabola through the mean losses has no minimum"
    where = optimum_text(summary)
    if optimum_inside(summary):
        where = f"at {where} parameters"
    return f"the parabola through the mean losses has its minimum {where}"


def _span(values, fmt=str) -> str:
    """``lo–hi`` of some values, or the one value when they are all equal."""
    lo, hi = min(values), max(values)
    return fmt(lo) if fmt(lo) == fmt(hi) else f"{fmt(lo)}–{fmt(hi)}"



def glue_verdict(study: KrasserStudy, results: pd.DataFrame | None, prefix: str) -> dict:
    """Glue the Verdict box (``<prefix>_verdict``, :func:`verdict_box`) and the verdict's text under
    ``<prefix>_...`` keys (plain strings), for the prose below it.

    Per approach ``a`` (1 and 2): ``_a{a}_model`` (the predicted model's shape), ``_a{a}_test`` (the paired
    test of predicted − reference) and ``_a{a}_outcome``; and ``_ref``, ``_best`` (the lowest mean) and
    ``_best_vs_ref`` (its paired test against the reference), ``_optimum`` (:func:`optimum_phrase`),
    and ``_n_opt{a}`` (the law's N_opt, ×10ⁿ).
    """
    exp = study.experiment
    v = {f"{prefix}_n_opt{a}": sci(exp.n_opt(law), 2) for a, law in chinchilla_laws().items()}
    v[f"{prefix}_verdict"] = verdict_box(study, results)
    keys = ["_ref", "_best", "_best_vs_ref", "_optimum"]
    keys += [f"_a{a}_{k}" for a in (1, 2) for k in ("model", "test", "outcome")]
    if results is None:
        v |= {prefix + k: NOT_TRAINED for k in keys}
    else:
        summary = krasser.loss_summary(results)
        best = int(summary["mean"].idxmin())
        v |= {f"{prefix}_ref": summary.loc[1, "shape"], f"{prefix}_best": summary.loc[best, "shape"],
              f"{prefix}_best_vs_ref": "the reference itself" if best == 1 else
              f"its difference from the reference: {krasser.compare(results, best, 1)}",
              f"{prefix}_optimum": optimum_phrase(summary)}
        for a in (1, 2):  # an approach without a model of its own (custom models) has nothing to compare
            v |= {f"{prefix}_a{a}_model": "none", f"{prefix}_a{a}_test": "no comparison",
                  f"{prefix}_a{a}_outcome": "none"}
        for r in krasser.comparisons(study, results).to_dict("records"):
            a = r["approach"]
            v |= {f"{prefix}_a{a}_model": summary.loc[r["model"], "shape"], f"{prefix}_a{a}_test": r["test"],
                  f"{prefix}_a{a}_outcome": r["outcome and seeds needed"]}
    for k, x in v.items():
        glue(k, Markdown(x) if k == f"{prefix}_verdict" else x, display=False)
    return v


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _train_tokens(store, results: pd.DataFrame) -> str:
    """The tokens of the training split the runs read, from the first recorded run's summary."""
    summary = store.run(results["run_id"].iloc[0]).summary
    return "—" if summary is None else f"{summary['train_tokens'] / 1e6:.1f} million"


def glue_design(study: KrasserStudy, results: pd.DataFrame | None, prefix: str, gpu: pd.DataFrame) -> dict:
    """Glue the numbers the chapter's prose quotes (plain strings under ``<prefix>_...``): the CPU
    design's positions relative to the laws' N_opt and the article's, the accountings' effect on both
    designs, the article scale's GPU-hours (``gpu``, from :func:`gpu_hours`), and what the recorded runs
    measured (epochs, throughput, wall time; :data:`NOT_TRAINED` without results)."""
    exp, laws = study.experiment, chinchilla_laws()
    art = {acc: krasser_design.experiment(study.name, acc) for acc in ACCOUNTINGS}
    ours, theirs = krasser_design.design_table(exp), krasser_design.design_table(art["article"])
    v = {f"{prefix}_accounting": exp.accounting, f"{prefix}_c_ref": sci(float(exp.c_ref), 2),
         f"{prefix}_n_lo": sci(float(ours["N_self"].min()), 2), f"{prefix}_n_hi": sci(float(ours["N_self"].max()), 2),
         f"{prefix}_vdn_ref": f"{ours.loc[1, 'Vd/N']:.2f}", f"{prefix}_art_vdn_ref": f"{theirs.loc[1, 'Vd/N']:.2f}"}
    # the reference's embedding share with the article's vocabulary, and how much smaller our reference is
    d_ref, n_ref, v_art = exp.models[0][0], float(ours.loc[1, "N"]), art["article"].vocab_size
    v[f"{prefix}_vdn_ref_article_vocab"] = _pct(v_art * d_ref / (n_ref + (v_art - exp.vocab_size) * d_ref))
    ratio = float(f"{float(theirs.loc[1, 'N']) / n_ref:.2g}")  # two significant figures: 687 as 690
    v[f"{prefix}_size_ratio"] = f"{ratio:,.0f}"
    for m in ours.index:
        v[f"{prefix}_steps{m}"] = f"{int(ours.loc[m, 'num_steps']):,}"
        for a in laws:
            v[f"{prefix}_pos{m}_a{a}"] = f"{ours.loc[m, f'N_self/N_opt{a}']:.2f}"
    for m in theirs.index:
        for a in laws:
            v[f"{prefix}_art_pos{m}_a{a}"] = f"{theirs.loc[m, f'N_self/N_opt{a}']:.2f}"
    # the accountings: the CPU design with the same reference steps, and the article's design
    choice = krasser_design.model_choice(exp).set_index(["accounting", "approach"])
    v[f"{prefix}_acc_cref"] = _pct(choice.loc[("article", 2), "C_ref"] / choice.loc[("corrected", 2), "C_ref"] - 1)
    for a in laws:
        v[f"{prefix}_acc_nopt{a}"] = _pct(choice.loc[("article", a), "N_opt"] / choice.loc[("corrected", a), "N_opt"]
                                          - 1)
        for acc in ACCOUNTINGS:
            v[f"{prefix}_acc_shape{a}_{acc}"] = choice.loc[(acc, a), "closest shape"]
    c = {acc: float(e.c_ref) for acc, e in art.items()}
    v |= {f"{prefix}_art_cref_article": sci(c["article"], 3), f"{prefix}_art_cref_corrected": sci(c["corrected"], 3),
          f"{prefix}_art_cref_drop": _pct(1 - c["corrected"] / c["article"])}
    for a, law in laws.items():
        v[f"{prefix}_art_nopt{a}_drop"] = _pct(1 - art["corrected"].n_opt(law) / art["article"].n_opt(law))
    v[f"{prefix}_gpu_hours"] = f"{gpu['GPU-hours'].sum():.1f}"
    v[f"{prefix}_gpu_models"] = str(len(gpu))
    # what the recorded runs measured
    keys = ["epochs_lo", "epochs_hi", "tok_lo", "tok_hi", "gflops_lo", "gflops_hi", "wall_lo", "wall_hi",
            "study_min", "train_tokens", "best_seeds", "run_min_1e13_lo", "run_min_1e13_hi"]
    keys += [f"epochs{m}" for m in ours.index]
    if results is None:
        v |= {f"{prefix}_{k}": NOT_TRAINED for k in keys}
    else:
        store = RunStore()
        tokens = results["steps"] * exp.batch_size * exp.num_latents / results["wall_s"]
        gflops = results["C"] / results["wall_s"] / 1e9
        scale = 1e13 / float(exp.c_ref)  # wall time grows with the FLOPs
        summary = krasser.loss_summary(results)
        best = int(summary["mean"].idxmin())
        losses = krasser.final_losses(results)
        lowest = int((losses.idxmin(axis=1) == best).sum())
        v |= {f"{prefix}_epochs_lo": f"{results['epochs'].min():.2g}",
              f"{prefix}_epochs_hi": f"{results['epochs'].max():.2g}",
              f"{prefix}_tok_lo": f"{tokens.min() / 1e3:.0f}k", f"{prefix}_tok_hi": f"{tokens.max() / 1e3:.0f}k",
              f"{prefix}_gflops_lo": f"{gflops.min():.0f}", f"{prefix}_gflops_hi": f"{gflops.max():.0f}",
              f"{prefix}_wall_lo": f"{results['wall_s'].min():.0f}",
              f"{prefix}_wall_hi": f"{results['wall_s'].max():.0f}",
              f"{prefix}_study_min": f"{results['wall_s'].sum() / 60:.0f}",
              f"{prefix}_run_min_1e13_lo": f"{results['wall_s'].min() * scale / 60:.0f}",
              f"{prefix}_run_min_1e13_hi": f"{results['wall_s'].max() * scale / 60:.0f}",
              f"{prefix}_train_tokens": _train_tokens(store, results),
              f"{prefix}_best_seeds": (f"lowest in each of the {len(losses)} seeds" if lowest == len(losses) else
                                       f"lowest in {lowest} of the {len(losses)} seeds")}
        for m in ours.index:
            v[f"{prefix}_epochs{m}"] = f"{results.loc[results['model'] == m, 'epochs'].max():.2g}"
    # the default study of all three experiments, as recorded
    total = krasser.recorded_total()
    at_1e13 = sum(total.loc[n, "wall_s"] * 1e13 / float(krasser.cpu_study(n).experiment.c_ref)
                  for n in total.index if n != "total")
    v |= {f"{prefix}_all_runs": f"{int(total.loc['total', 'runs'])}",
          f"{prefix}_all_min": f"{total.loc['total', 'wall_min']:.0f}",
          f"{prefix}_all_h_1e13": f"{at_1e13 / 3600:.0f}"}
    for k, x in v.items():
        glue(k, x, display=False)
    return v


def glue_run_limits(study: KrasserStudy, results: pd.DataFrame | None, prefix: str) -> dict:
    """Glue what limits the CPU-scale runs (plain strings under ``<prefix>_...``): this experiment's
    learning-rate factors against the Chinchilla study's rule (``_lrf_lo``, ``_lrf_hi``) and steps
    (``_steps_lo``, ``_steps_hi``); the same over all three default experiments (``_all_lrf_lo`` ...);
    the unit of its losses (``_unit``: nats per byte or per token); the bigram plateau (``_plateau``),
    the step range at which the runs left it and the largest spread of final losses between seeds
    (``_spread``); over the byte experiments 2a and 2b, how the exit step
    and the final loss go together (``_bytes_r``, ``_bytes_p``, ``_bytes_slope``, ``_bytes_latest``);
    and the cross-experiment reading, N_self / N_opt of the best model (``_best_n_opt_e1``, ``_e2``).
    Returns the values and, under ``"limits"``, the per-model table (None without results)."""
    v = {f"{prefix}_lr": f"{study.lr:g}", f"{prefix}_lr_exponent": f"{DEFAULT.rule.exponent:g}",
         f"{prefix}_unit": loss_unit(study.tokenizer)}
    factors = {n: krasser_limits.lr_rule_factors(krasser.cpu_study(n)) for n in ("1", "2a", "2b")}
    own = krasser_limits.lr_rule_factors(study)
    v[f"{prefix}_lrf_lo"], v[f"{prefix}_lrf_hi"] = f"{own['factor'].min():.1f}", f"{own['factor'].max():.1f}"
    v[f"{prefix}_steps_lo"], v[f"{prefix}_steps_hi"] = f"{own['steps'].min():,}", f"{own['steps'].max():,}"
    every = pd.concat(factors.values())
    v[f"{prefix}_all_lrf_lo"], v[f"{prefix}_all_lrf_hi"] = f"{every['factor'].min():.1f}", f"{every['factor'].max():.1f}"
    v[f"{prefix}_all_steps_lo"], v[f"{prefix}_all_steps_hi"] = f"{every['steps'].min():,}", f"{every['steps'].max():,}"
    best = krasser_limits.best_vs_n_opt()
    v[f"{prefix}_best_n_opt_e1"] = f"{best['1']:.2f}"
    v[f"{prefix}_best_n_opt_e2"] = _span([best["2a"], best["2b"]], lambda x: f"{x:.2f}")
    # the byte experiments' runs (recorded), pooled: how the plateau exit and the final loss go together
    pooled = krasser_limits.byte_plateau_reading()
    v |= {f"{prefix}_bytes_r": f"{pooled['r']:.2f}", f"{prefix}_bytes_p": f"{pooled['p']:.2g}",
          f"{prefix}_bytes_dof": str(pooled["dof"]), f"{prefix}_bytes_slope": f"{pooled['slope']:.3f}",
          f"{prefix}_bytes_latest": f"{pooled['latest_highest']} of {pooled['models']}",
          f"{prefix}_bytes_spread": f"{pooled['spread']:.2f}"}
    keys = ["plateau", "exit_lo", "exit_hi", "exit_share_lo", "exit_share_hi", "never", "spread", "final_lo",
            "final_hi"]
    limits = None
    if results is None:
        v |= {f"{prefix}_{k}": NOT_TRAINED for k in keys}
    else:
        exits = krasser_limits.plateau_exits(study, results)
        limits = krasser_limits.run_limits(study, results, exits=exits)
        share = exits["exit_fraction"]
        reading = plateau_reading(exits)
        v |= {f"{prefix}_plateau": f"{exits['plateau'].iloc[0]:.2f}",
              f"{prefix}_exit_lo": _fmt_or_none(exits["exit_step"].min(), "{:,.0f}"),
              f"{prefix}_exit_hi": _fmt_or_none(exits["exit_step"].max(), "{:,.0f}"),
              f"{prefix}_exit_share_lo": _fmt_or_none(share.min(), "{:.0%}"),
              f"{prefix}_exit_share_hi": _fmt_or_none(share.max(), "{:.0%}"),
              f"{prefix}_never": f"{reading['never']} of {reading['runs']}",
              f"{prefix}_spread": f"{reading['spread']:.3f}",
              f"{prefix}_final_lo": f"{exits['final_loss'].min():.2f}",
              f"{prefix}_final_hi": f"{exits['final_loss'].max():.2f}"}
    for k, x in v.items():
        glue(k, x, display=False)
    return v | {"limits": limits}


def _fmt_or_none(x: float, fmt: str) -> str:
    return "none" if not x == x else fmt.format(x)
