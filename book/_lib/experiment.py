"""Krasser's Experiments 1, 2a and 2b at CPU scale: the figures, display tables and glued verdict text the
three chapters share.

Each takes the chapter's study (:class:`replication.studies.krasser.KrasserStudy`), whose name says
which experiment it is, and its results (one row per run; ``None`` when the chapter runs at the article's
scale only and nothing is trained).
"""
from __future__ import annotations

import pandas as pd

from replication.studies import krasser, krasser_design
from replication.studies.krasser import KrasserStudy, empirical_optimum, optimum_inside
from replication.studies.krasser_design import chinchilla_laws

#: What the glued verdict says when the chapter runs at the article's scale only.
NOT_TRAINED = "not trained here (scale = 'article')"


def _span(values, fmt=str) -> str:
    """``lo–hi`` of some values, or the one value when they are all equal."""
    lo, hi = min(values), max(values)
    return fmt(lo) if fmt(lo) == fmt(hi) else f"{fmt(lo)}–{fmt(hi)}"


def _percent(x: float) -> str:
    return f"{100 * x:.2g}%"


def design_comparison(study: KrasserStudy, results: pd.DataFrame | None = None) -> pd.DataFrame:
    """What the CPU-scale design keeps from the article's and what it changes, each row computed from the
    two designs (the article's under the same accounting): shapes, steps, tokens per step, optimiser,
    the cross-attention share of all FLOPs, epochs (ours from the recorded runs) and seeds."""
    cpu, art = study.experiment, krasser_design.experiment(study.name, study.experiment.accounting)
    cfg = study.configs()[0][2]
    opt = krasser_design.ARTICLE_OPTIMIZER
    ours, theirs = cpu.setup(), art.setup()

    def both(exp, setup):
        return {
            "layers": _span(setup["num_layers"]),
            "channels": _span(setup["num_channels"]),
            "heads": str(exp.num_heads),
            "latents n": str(exp.num_latents),
            "prefix m : latents n": f"{exp.num_prefix / exp.num_latents:g} : 1",
            "sequences per step": str(exp.batch_size),
            "latent tokens per step": f"{exp.num_latents * exp.batch_size:,}",
            "tokens per step (prefix + latents)": f"{exp.max_seq_len * exp.batch_size:,}",
            "reference steps": f"{exp.ref_steps:,}",
            "steps (all models)": _span(setup["num_steps"], lambda x: f"{x:,}"),
            "budget C_ref (FLOPs)": f"{float(exp.c_ref):.2g}",
            "cross-attention share C_cross/C": _span(exp.ratios()["C_cross/C"], _percent),
        }

    rows = {"tokenizer": (study.tokenizer, krasser_design.ARTICLE_TOKENIZERS[study.name]),
            "corpus": (study.corpus, krasser_design.ARTICLE_CORPORA[study.name])}
    a, b = both(cpu, ours), both(art, theirs)
    rows |= {k: (a[k], b[k]) for k in a}
    rows |= {"peak learning rate": (f"{study.lr:g}", f"{opt['lr']:g}"),
             "warmup steps": (str(study.warmup_steps), str(opt["warmup_steps"])),
             "gradient clipping": (f"{cfg.grad_clip:g}", f"{opt['grad_clip']:g}"),
             "prefix dropout": (f"{cpu.prefix_dropout:g}", f"{art.prefix_dropout:g}")}
    df = pd.DataFrame.from_dict(rows, orient="index", columns=["CPU scale", "article"])
    df["kept"] = (df["CPU scale"] == df["article"]).map({True: "kept", False: "changed"})
    # The article states its epochs (under one) and prints no corpus size; ours are measured.
    epochs = NOT_TRAINED if results is None else _span(results["epochs"], lambda x: f"{x:.2g}")
    under_one = results is not None and results["epochs"].max() < 1
    df.loc["epochs"] = [epochs, "under 1 (as the article states)", "kept" if under_one else "changed"]
    df.loc["seeds per model"] = [str(len(study.seeds)), "1", "kept" if len(study.seeds) == 1 else "changed"]
    df.index.name = "quantity"
    return df


def verdict_table(study: KrasserStudy, results: pd.DataFrame) -> pd.DataFrame:
    """The verdicts as the chapters show them: each predicted model against the reference, the paired
    test, the outcome and, when not distinguishable, the seeds for 80% power."""
    v = krasser.verdicts(study, results)
    return v.drop(columns=["difference", "low", "high", "p", "seeds"]).set_index("approach")


def optimum_phrase(summary: pd.DataFrame) -> str:
    """Where the parabola through the mean losses has its minimum, in words: a number only inside the
    trained range."""
    n_hat = empirical_optimum(summary)
    if not n_hat == n_hat:
        return "the parabola through the mean losses has no minimum"
    where = krasser.optimum_text(summary)
    if optimum_inside(summary):
        where = f"at {where} parameters"
    return f"the parabola through the mean losses has its minimum {where}"


def glue_verdict(study: KrasserStudy, results: pd.DataFrame | None, prefix: str) -> dict:
    """Glue the verdict's text under ``<prefix>_...`` keys (plain strings), for the chapter's admonition.

    Per approach ``a`` (1 and 2): ``_a{a}_model`` (the predicted model's shape), ``_a{a}_test`` (the paired
    test of predicted − reference) and ``_a{a}_outcome``; and ``_ref``, ``_best`` (the lowest mean) and
    ``_best_vs_ref`` (its paired test against the reference), ``_optimum`` (:func:`optimum_phrase`) and
    ``_n_opt{a}`` (the law's N_opt).
    """
    from myst_nb import glue

    exp = study.experiment
    v = {f"{prefix}_n_opt{a}": f"{exp.n_opt(law):.3g}" for a, law in chinchilla_laws().items()}
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
        for a, number, test in krasser.predicted_comparisons(study, results):
            v |= {f"{prefix}_a{a}_model": summary.loc[number, "shape"], f"{prefix}_a{a}_test": str(test),
                  f"{prefix}_a{a}_outcome": krasser.outcome_text(test, krasser.CLAIMED_SIGN[study.name])}
    for k, x in v.items():
        glue(k, x, display=False)
    return v


def summary_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The loss summary as the chapters show it: mean ± standard deviation over the seeds."""
    spread = [f"{m:.4f} ± {s:.4f}" if s == s else f"{m:.4f}" for m, s in zip(summary["mean"], summary["std"])]
    return summary.assign(**{"mean ± std": spread})[["label", "shape", "N_self", "mean ± std", "seeds", "epochs"]]


def plot_loss_vs_flops(study: KrasserStudy, curves: pd.DataFrame, ylim=None):
    """Validation loss against C_self / C_ref, mean over seeds with the seeds' range shaded; the budget
    C_self = C_ref is the dashed line at 1 (the article's plots)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for i, (number, part) in enumerate(curves.groupby("model")):
        g = part.groupby("C_self/C_ref")["loss"]
        x, mean, lo, hi = g.mean().index, g.mean().to_numpy(), g.min().to_numpy(), g.max().to_numpy()
        ax.plot(x, mean, color=f"C{i}", label=part["label"].iloc[0])
        ax.fill_between(x, lo, hi, color=f"C{i}", alpha=0.2, lw=0)
    ax.axvline(1.0, color="k", ls="--", lw=1)
    ax.set_xlim(0.1, 1.1)
    if ylim is None:
        finals = curves[curves["C_self/C_ref"] > 0.3]["loss"]
        ylim = (finals.min() - 0.02, finals.quantile(0.9) + 0.02) if len(finals) else None
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_xlabel(r"self-attention FLOPs $C_{self} / C_{ref}$")
    ax.set_ylabel("validation loss (nats/token)")
    ax.set_title(f"Experiment {study.name} (CPU scale), C_ref = {float(study.experiment.c_ref):.3g} FLOPs, "
                 f"{study.experiment.accounting} accounting", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_final_loss(study: KrasserStudy, summary: pd.DataFrame):
    """Final loss (mean ± std over seeds) against N_self, with both laws' N_opt and the empirical optimum."""
    import matplotlib.pyplot as plt

    exp = study.experiment
    s = summary.sort_values("N_self")
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.errorbar(s["N_self"], s["mean"], yerr=s["std"].fillna(0), fmt="o-", color="C0", capsize=3,
                label=f"mean ± std over {int(s['seeds'].min())}+ seeds")
    for number, row in s.iterrows():
        ax.annotate(str(number), (row["N_self"], row["mean"]), textcoords="offset points", xytext=(4, 6), fontsize=8)
    for (approach, law), style in zip(chinchilla_laws().items(), (":", "--")):
        ax.axvline(exp.n_opt(law), color="C3", ls=style, lw=1.2, label=f"N_opt, approach {approach}")
    # A vertex outside the trained sizes is the parabola extrapolated; it is named, not drawn.
    if optimum_inside(summary):
        ax.axvline(empirical_optimum(summary), color="C2", lw=1.2, label="empirical optimum (parabola)")
    else:
        ax.text(0.02, 0.97, f"empirical optimum: {krasser.optimum_text(summary)}", transform=ax.transAxes,
                fontsize=8, va="top", color="C2")
    ax.set_xscale("log")
    ax.set_xlabel(r"$N_{self}$ (parameters)")
    ax.set_ylabel("final validation loss (nats/token)")
    ax.set_title(f"Experiment {study.name} (CPU scale), all models at C_self = {float(exp.c_ref):.3g} FLOPs",
                 fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
