"""Krasser's Experiments 1, 2a and 2b: the tables, figures and glued verdict text the three chapters share,
at the article's scale (its designs recomputed, its losses, GPU-hours) and at CPU scale (our runs).

The CPU-scale helpers take the chapter's study (:class:`replication.studies.krasser.KrasserStudy`), whose
name says which experiment it is, and its results (one row per run; ``None`` when the chapter runs at the
article's scale only and nothing is trained). Functions ending in ``_table`` return what a chapter shows
(a :func:`_lib.tables.table` Styler); the others return data or figures.
"""
from __future__ import annotations

import pandas as pd

from replication.estimate import ACCOUNTINGS
from replication.studies import krasser, krasser_design
from replication.studies.krasser import KrasserStudy, empirical_optimum, optimum_inside
from replication.studies.krasser_design import chinchilla_laws

from . import figures, tables
from .tables import sci

#: What the glued verdict says when the chapter runs at the article's scale only.
NOT_TRAINED = "not trained here (scale = 'article')"

# Headers shared by the tables (HTML: the pages render them as written).
_N_SELF = "self-attention parameters N<sub>self</sub>"
_HEADERS = {
    "accounting": "FLOP accounting",
    "model": "model",
    "shape": "channels / layers",
    "num_steps": "steps",
    "D_iso": "latent tokens D",
    "N": "parameters N",
    "N_cross": "cross-attention parameters N<sub>cross</sub>",
    "N_self": _N_SELF,
    "C": "all FLOPs C",
    "C_cross": "cross-attention FLOPs C<sub>cross</sub>",
    "C_self": "self-attention FLOPs C<sub>self</sub>",
    "C_self_hat": "6 N<sub>self</sub> D (FLOPs)",
    "N_cross/N": "N<sub>cross</sub> / N",
    "C_cross/C": "C<sub>cross</sub> / C",
    "C_self/C_self_hat": "C<sub>self</sub> / 6 N<sub>self</sub> D",
    "approach": "Chinchilla approach",
    "C_ref": "budget C<sub>ref</sub> (FLOPs)",
    "N_opt": "law's N<sub>opt</sub> (parameters)",
}

_RATIOS = ("N_cross/N", "C_cross/C", "C_self/C_self_hat")

#: The article's model labels in words.
_ROLES = {"ref": "reference", "opt": "predicted", "opt 1": "Approach 1's prediction",
          "opt 2": "Approach 2's prediction"}


def model_name(label: str) -> str:
    """``"Model 2 (opt 2)"`` as ``"2 (Approach 2's prediction)"``; ``"Model 4"`` as ``"4"``."""
    text = str(label).removeprefix("Model ").strip()
    if "(" not in text:
        return text
    number, role = text.split("(", 1)
    role = role.rstrip(")").strip()
    return f"{number.strip()} ({_ROLES.get(role, role)})"


def _label_or_number(df: pd.DataFrame) -> list[str]:
    """The model column of a setup-like table (index: model number), in words."""
    if "label" in df.columns:
        return [model_name(x) for x in df["label"]]
    return [str(i) for i in df.index.get_level_values("model")]


def _interval(low: float, high: float) -> str:
    return "—" if not (low == low and high == high) else f"[{tables.signed(low, 4)}, {tables.signed(high, 4)}]"


def _span(values, fmt=str) -> str:
    """``lo–hi`` of some values, or the one value when they are all equal."""
    lo, hi = min(values), max(values)
    return fmt(lo) if fmt(lo) == fmt(hi) else f"{fmt(lo)}–{fmt(hi)}"


def _percent(x: float) -> str:
    return f"{100 * x:.2g}%"


# --------------------------------------------------------------------------------------------------
# The article's scale


def article_setup_tables(name: str):
    """The article's setup table of Experiment ``name`` (its Table 1, 3 or 5), recomputed under both
    accountings, in two parts: the models, steps and parameters, then the FLOPs."""
    number = {"1": 1, "2a": 3, "2b": 5}[name]
    df = krasser_design.both_accountings(number)
    df = df.assign(model=_label_or_number(df), shape=[f"{d}/{L}" for d, L in zip(df["num_channels"],
                                                                              df["num_layers"])])
    df = df.reset_index(level="model", drop=True).reset_index()
    sizes = tables.table(df, _HEADERS, {"num_steps": "int", **{c: "sci3" for c in ("D_iso", "N", "N_cross",
                                                                                     "N_self")}},
                         columns=["accounting", "model", "shape", "num_steps", "D_iso", "N", "N_cross", "N_self"])
    flops = tables.table(df, _HEADERS, {c: "sci3" for c in ("C", "C_cross", "C_self", "C_self_hat")},
                         columns=["accounting", "model", "C_self", "C_cross", "C", "C_self_hat"])
    return sizes, flops


def article_ratio_table(name: str):
    """The cross-attention shares and C_self / 6 N_self D of Experiment ``name`` under both accountings
    (the article's Tables 2 and 4; for 2b, which has none, computed the same way), to four decimals as
    the article prints them."""
    exp = {acc: krasser_design.experiment(name, acc) for acc in ACCOUNTINGS}
    df = pd.concat({acc: e.ratios().assign(model=_label_or_number(e.setup())) for acc, e in exp.items()},
                   names=["accounting", "number"]).reset_index()
    return tables.table(df, _HEADERS, {c: "f4" for c in _RATIOS},
                        columns=["accounting", "model", *_RATIOS])


def predictions_table(name: str):
    """The laws' N_opt at the article's C_ref of Experiment ``name``, and the model Krasser trained for it."""
    df = krasser_design.predictions().query("experiment == @name")
    return tables.table(df, {**_HEADERS, "model": "model trained (channels / layers)", "N_self": f"its {_N_SELF}",
                             "N_self/N_opt": "N<sub>self</sub> / N<sub>opt</sub>"},
                        {"C_ref": "sci3", "N_opt": "sci3", "N_self": "sci3", "N_self/N_opt": "f2"},
                        columns=["accounting", "approach", "C_ref", "N_opt", "model", "N_self", "N_self/N_opt"])


def article_results_table(name: str, accounting: str = "corrected"):
    """Krasser's final loss of each model of Experiment ``name`` (one run each; in no source document, said
    to be his repository's logged validation losses, unchecked here)."""
    df = krasser_design.article_results(name, accounting)
    df = df.assign(role=[model_name(x) if x.startswith("Model") else x for x in df["label"]])
    return tables.table(df, {"model": "channels / layers", "role": "model", "N_self": _N_SELF,
                             "num_steps": f"steps ({accounting} accounting)",
                             "article loss": "Krasser's final validation loss (nats per token; "
                                             "his repository's logs, unchecked)"},
                        {"N_self": "sci3", "num_steps": "int", "article loss": "f3"},
                        columns=["role", "model", "N_self", "num_steps", "article loss"])


def gpu_hours(name: str, accounting: str = "corrected") -> pd.DataFrame:
    """Expected H100-hours of each model of the article's Experiment ``name`` (the library's defaults:
    35% of the dense bf16 peak)."""
    return krasser_design.gpu_hours(name, accounting)


def gpu_hours_table(hours: pd.DataFrame):
    """:func:`gpu_hours` as the chapters show it."""
    return tables.table(hours, {"model number": "model", "model": "channels / layers",
                                "num_steps": "steps", "latent tokens": "latent tokens",
                                "executed FLOPs": "FLOPs executed", "GPU-hours": "H100-hours"},
                        {"num_steps": "int", "latent tokens": "sci3", "executed FLOPs": "sci3", "GPU-hours": "f2"})


# --------------------------------------------------------------------------------------------------
# The CPU-scale design


def design_tables(exp):
    """The CPU-scale design (as the article's setup tables) in three parts: each model's steps, tokens,
    parameters; its position relative to both laws' N_opt and its embedding share V d / N; then its FLOPs."""
    d = krasser_design.design_table(exp)
    d = d.assign(model=_label_or_number(d), shape=[f"{c}/{L}" for c, L in zip(d["num_channels"], d["num_layers"])])
    d = d.reset_index(drop=True)
    headers = {**_HEADERS, "N_self/N_opt1": "N<sub>self</sub> / N<sub>opt</sub>, Approach 1",
               "N_self/N_opt2": "N<sub>self</sub> / N<sub>opt</sub>, Approach 2",
               "Vd/N": "embedding share V d / N"}
    # the sizes and where they sit against the laws: two tables, so that each fits the page's column
    sizes = tables.table(d, headers, {"num_steps": "int", "D_iso": "sci3", "N": "int", "N_self": "int"},
                         columns=["model", "shape", "num_steps", "D_iso", "N", "N_self"])
    position = tables.table(d, headers, {"N_self": "int", "N_self/N_opt1": "f2", "N_self/N_opt2": "f2",
                                         "Vd/N": "f2"},
                            columns=["model", "shape", "N_self", "N_self/N_opt1", "N_self/N_opt2", "Vd/N"])
    flops = tables.table(d, headers, {c: "sci3" for c in ("C", "C_cross", "C_self", "C_self_hat")},
                         columns=["model", "shape", "C_self", "C_cross", "C", "C_self_hat"])
    return sizes, position, flops


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
            "self-attention budget (FLOPs)": sci(float(exp.c_ref)),
            "cross-attention share of all FLOPs": _span(exp.ratios()["C_cross/C"], _percent),
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


def design_comparison_table(study: KrasserStudy, results: pd.DataFrame | None = None):
    """:func:`design_comparison` as the chapters show it."""
    return tables.table(design_comparison(study, results), {"quantity": "", "CPU scale": "CPU scale",
                                                            "article": "the article", "kept": "kept or changed"},
                        index="quantity")


def model_choice_table(exp):
    """How the accounting moves the choice of models (:func:`krasser_design.model_choice`)."""
    return tables.table(krasser_design.model_choice(exp),
                        {**_HEADERS, "nearest trained model": "nearest model trained (number: channels / layers)",
                         "its N_self/N_opt": "its N<sub>self</sub> / N<sub>opt</sub>",
                         "closest shape": "nearest shape with its layers",
                         "closest N_self/N_opt": "that shape's N<sub>self</sub> / N<sub>opt</sub>"},
                        {"C_ref": "sci3", "N_opt": "sci3", "its N_self/N_opt": "f2", "closest N_self/N_opt": "f2"})


# --------------------------------------------------------------------------------------------------
# The CPU-scale results


def summary_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The loss summary as data: mean ± standard deviation over the seeds, as text."""
    spread = [f"{m:.4f} ± {s:.4f}" if s == s else f"{m:.4f}" for m, s in zip(summary["mean"], summary["std"])]
    return summary.assign(**{"mean ± std": spread})[["label", "shape", "N_self", "mean ± std", "seeds", "epochs"]]


def summary_display(summary: pd.DataFrame):
    """:func:`summary_table` as the chapters show it."""
    t = summary_table(summary)
    t = t.assign(label=[model_name(x) for x in t["label"]])
    return tables.table(t, {"label": "model", "shape": "channels / layers", "N_self": _N_SELF,
                            "mean ± std": "final validation loss, mean ± std over the seeds (nats per token)",
                            "seeds": "seeds", "epochs": "epochs (most of any seed)"},
                        {"N_self": "int", "seeds": "int", "epochs": "f2"},
                        columns=["label", "shape", "N_self", "mean ± std", "seeds", "epochs"])


def verdict_table(study: KrasserStudy, results: pd.DataFrame) -> pd.DataFrame:
    """The verdicts as data: each predicted model against the reference, the paired test (difference,
    interval, p), the outcome and, when inconclusive, the seeds for 80% power."""
    v = krasser.verdicts(study, results)
    v = v.assign(predicted=[model_name(x) for x in v["predicted"]], interval=[_interval(lo, hi) for lo, hi in
                                                                              zip(v["low"], v["high"])])
    needed = f"seeds for {krasser.POWER:.0%} power"
    return v[["approach", "N_opt", "predicted", "difference", "interval", "p", "outcome", needed]]


def verdict_display(study: KrasserStudy, results: pd.DataFrame):
    """:func:`verdict_table` as the chapters show it."""
    needed = f"seeds for {krasser.POWER:.0%} power"
    return tables.table(verdict_table(study, results),
                        {**_HEADERS, "predicted": "predicted model",
                         "difference": "predicted − reference, mean over the seeds (nats per token)",
                         "interval": "95% interval (nats per token)", "p": "p (paired t test)",
                         "outcome": "outcome for the article's claim",
                         needed: f"seeds for {krasser.POWER:.0%} power at this difference"},
                        {"N_opt": "sci3", "difference": "signed4", "p": "p", needed: "int"})


def against_reference_table(study: KrasserStudy, results: pd.DataFrame):
    """Every model against the reference by the paired test: lower, higher or inconclusive."""
    rows = []
    summary = krasser.loss_summary(results)
    words = krasser.against_reference(study, results)
    for number in summary.index:
        if number == 1:
            continue
        test = krasser.compare(results, number, 1)
        word = words.loc[number, "than the reference"]
        rows.append({"model": model_name(summary.loc[number, "label"]), "shape": summary.loc[number, "shape"],
                     "N_self": summary.loc[number, "N_self"], "difference": test.difference,
                     "interval": _interval(test.low, test.high), "p": test.p, "word": word})
    return tables.table(pd.DataFrame(rows), {"shape": "channels / layers", "N_self": _N_SELF,
                                             "difference": "model − reference, mean over the seeds "
                                                           "(nats per token)",
                                             "interval": "95% interval (nats per token)", "p": "p (paired t test)",
                                             "word": "final loss, against the reference"},
                        {"N_self": "int", "difference": "signed4", "p": "p"})


def cost_table(results: pd.DataFrame):
    """What the runs behind ``results`` cost, as recorded."""
    t = krasser.total_training(results)
    df = pd.DataFrame([{**t, "wall_min": t["wall_s"] / 60}])
    return tables.table(df, {"runs": "runs", "wall_min": "wall time (minutes, one core)",
                             "C_self": "self-attention FLOPs C<sub>self</sub>", "C": "all FLOPs C",
                             "max_epochs": "most epochs of one run"},
                        {"runs": "int", "wall_min": "f1", "C_self": "sci3", "C": "sci3", "max_epochs": "f2"},
                        columns=["runs", "wall_min", "C_self", "C", "max_epochs"])


def recorded_total_table():
    """The default CPU-scale studies' training time, as recorded (:func:`krasser.recorded_total`)."""
    df = krasser.recorded_total()
    return tables.table(df, {"experiment": "experiment", "runs": "runs", "recorded": "runs recorded",
                             "wall_min": "wall time (minutes, one core)",
                             "C_self": "self-attention FLOPs C<sub>self</sub>", "C": "all FLOPs C",
                             "max_epochs": "most epochs of one run"},
                        {"runs": "int", "recorded": "int", "wall_min": "f1", "C_self": "sci3", "C": "sci3",
                         "max_epochs": "f2"},
                        columns=["experiment", "runs", "recorded", "wall_min", "C_self", "C", "max_epochs"])


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


def _model_words(summary: pd.DataFrame, number: int) -> str:
    """``"model 2, 44/2 (predicted)"``."""
    name = model_name(summary.loc[number, "label"])
    num, _, role = name.partition(" ")
    return f"model {num}, {summary.loc[number, 'shape']}" + (f" {role}" if role else "")


def conclusion_table(study: KrasserStudy, results: pd.DataFrame):
    """Our verdict beside the article's, one column per predicted model: the article's conclusion, the
    claim tested, our paired test, the outcome, the best model and the empirical optimum against the law's."""
    summary = krasser.loss_summary(results)
    inside, n_hat = optimum_inside(summary), empirical_optimum(summary)
    best = _model_words(summary, int(summary["mean"].idxmin()))
    rows = []
    for approach, number, test in krasser.predicted_comparisons(study, results):
        n_opt = study.experiment.n_opt(chinchilla_laws()[approach])
        rows.append({"approach": f"Approach {approach}: model {number}, {summary.loc[number, 'shape']}",
                     "article": krasser.ARTICLE_CONCLUSIONS.get(study.name, ""),
                     "claim": krasser.CLAIMS[study.name], "test": str(test),
                     "outcome": krasser.outcome_text(test, krasser.CLAIMED_SIGN[study.name]), "best": best,
                     "n_opt": sci(n_opt, 3), "where": optimum_text(summary),
                     "ratio": f"{n_opt / n_hat:.2f}" if inside else "—"})
    return tables.table(pd.DataFrame(rows), {"approach": "", "article": "the article concludes",
                                             "claim": "the claim, as a comparison of final losses",
                                             "test": "ours: predicted − reference (paired t test)",
                                             "outcome": "outcome", "best": "lowest mean loss",
                                             "n_opt": "law's N<sub>opt</sub> (parameters)",
                                             "where": "minimum of the parabola (parameters)",
                                             "ratio": "law's N<sub>opt</sub> / parabola's"},
                        index="approach", transpose=True)


# --------------------------------------------------------------------------------------------------
# The verdict, glued


def glue_verdict(study: KrasserStudy, results: pd.DataFrame | None, prefix: str) -> dict:
    """Glue the verdict's text under ``<prefix>_...`` keys (plain strings), for the chapter's admonition.

    Per approach ``a`` (1 and 2): ``_a{a}_model`` (the predicted model's shape), ``_a{a}_test`` (the paired
    test of predicted − reference) and ``_a{a}_outcome``; and ``_ref``, ``_best`` (the lowest mean) and
    ``_best_vs_ref`` (its paired test against the reference), ``_optimum`` (:func:`optimum_phrase`),
    and ``_n_opt{a}`` (the law's N_opt, ×10ⁿ).
    """
    from myst_nb import glue

    exp = study.experiment
    v = {f"{prefix}_n_opt{a}": sci(exp.n_opt(law), 2) for a, law in chinchilla_laws().items()}
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
    from myst_nb import glue

    from replication.store.runs import RunStore

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


# --------------------------------------------------------------------------------------------------
# Figures

_MARKERS = ("o", "s", "^", "D", "v", "P", "X")
_STYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (3, 1)))


def _legend_name(label: str, shape: str) -> str:
    name = model_name(label)
    number, _, role = name.partition(" ")
    return f"{number}: {shape}" + (f" {role}" if role else "")


def plot_loss_vs_flops(study: KrasserStudy, curves: pd.DataFrame, ylim=None):
    """Validation loss against C_self / C_ref, mean over the seeds (a line with a marker at every
    evaluation, one line style per model) with the seeds' range shaded; the budget C_self = C_ref is the
    dashed grey line at 1 (the article's plots)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.2, 4.2))
    shapes = dict(zip(range(1, len(study.experiment.models) + 1),
                      (f"{d}/{L}" for d, L in study.experiment.models)))
    for i, (number, part) in enumerate(curves.groupby("model")):
        g = part.groupby("C_self/C_ref")["loss"]
        x, mean, lo, hi = g.mean().index, g.mean().to_numpy(), g.min().to_numpy(), g.max().to_numpy()
        colour = figures.PALETTE[i % len(figures.PALETTE)]
        ax.plot(x, mean, color=colour, ls=_STYLES[i % len(_STYLES)], marker=_MARKERS[i % len(_MARKERS)],
                ms=4, lw=1.4, label=_legend_name(part["label"].iloc[0], shapes.get(number, "")))
        ax.fill_between(x, lo, hi, color=colour, alpha=0.15, lw=0)
    ax.axvline(1.0, color="0.4", ls="--", lw=1)
    ax.set_xlim(0.1, 1.1)
    if ylim is None:
        finals = curves[curves["C_self/C_ref"] > 0.3]["loss"]
        ylim = (finals.min() - 0.02, finals.quantile(0.9) + 0.02) if len(finals) else None
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_xlabel(r"self-attention FLOPs spent, $C_{self} / C_{ref}$ (fraction of the budget)")
    ax.set_ylabel("validation loss (nats per token)")
    ax.legend(fontsize=8, title="model: channels/layers", title_fontsize=8)
    fig.tight_layout()
    return fig


def plot_final_loss(study: KrasserStudy, summary: pd.DataFrame):
    """Final loss (mean ± std over seeds) against N_self, with both laws' N_opt and the empirical optimum."""
    import matplotlib.pyplot as plt

    exp = study.experiment
    s = summary.sort_values("N_self")
    fig, ax = plt.subplots(figsize=(7.2, 4.8))
    seeds = int(s["seeds"].min())
    ax.errorbar(s["N_self"], s["mean"], yerr=s["std"].fillna(0), fmt="o-", color=figures.PALETTE[0], capsize=3,
                label=f"mean final loss over {seeds} seed{'s' if seeds != 1 else ''} (bars: ± one standard "
                      "deviation)")
    for number, row in s.iterrows():
        ax.annotate(f"{number}: {row['shape']}", (row["N_self"], row["mean"]), textcoords="offset points",
                    xytext=(5, 6), fontsize=8)
    for (approach, law), style, colour in zip(chinchilla_laws().items(), (":", "--"), figures.PALETTE[3:5]):
        n_opt = exp.n_opt(law)
        ax.axvline(n_opt, color=colour, ls=style, lw=1.4, label=f"Chinchilla Approach {approach}: "
                                                                  f"$N_{{opt}}$ = {sci(n_opt, 2)}")
    # A vertex outside the trained sizes is the parabola extrapolated; it is named, not drawn.
    if optimum_inside(summary):
        n_hat = empirical_optimum(summary)
        ax.axvline(n_hat, color=figures.PALETTE[2], lw=1.4, ls="-.",
                   label=f"minimum of a parabola through the means: {sci(n_hat, 2)}")
    else:
        ax.text(0.02, 0.97, f"minimum of a parabola through the means: {krasser.optimum_text(summary)}",
                transform=ax.transAxes, fontsize=8, va="top", color=figures.PALETTE[2])
    ax.set_xscale("log")
    ax.set_xlabel(r"self-attention parameters $N_{self}$")
    ax.set_ylabel("final validation loss (nats per token)")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    fig.tight_layout()
    return fig


def not_trained_figure():
    """A figure that says nothing was trained (``scale = 'article'``), where a chapter's CPU-scale figure
    would stand."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.2, 1.2))
    ax.axis("off")
    ax.text(0.5, 0.5, f"No CPU-scale runs: {NOT_TRAINED}.", ha="center", va="center", transform=ax.transAxes)
    return fig


# --------------------------------------------------------------------------------------------------
# What decides a CPU-scale run: the learning rate, the run's length, the bigram plateau


def run_limits_table(limits: pd.DataFrame):
    """:func:`krasser.run_limits` as the chapters show it."""
    df = limits.reset_index()  # N is in the design table above: left out here, so that the table fits the column
    return tables.table(df, {"model": "model", "shape": "channels / layers", "steps": "steps",
                             "rule lr": "peak rate by the study's rule", "study lr": "our peak rate",
                             "factor": "rule / ours", "exit first": "left the bigram plateau, first seed (step)",
                             "exit last": "last seed (step)", "exit last / steps": "last, share of the run",
                             "loss spread": "final loss spread between seeds (nats)"},
                        {"steps": "int", "rule lr": "sig2", "study lr": "sig2", "factor": "f1",
                         "exit first": "f0", "exit last": "f0", "exit last / steps": "f2", "loss spread": "f3"})


def glue_run_limits(study: KrasserStudy, results: pd.DataFrame | None, prefix: str) -> dict:
    """Glue what limits the CPU-scale runs (plain strings under ``<prefix>_...``): this experiment's
    learning-rate factors against the Chinchilla study's rule (``_lrf_lo``, ``_lrf_hi``) and steps
    (``_steps_lo``, ``_steps_hi``); the same over all three default experiments (``_all_lrf_lo`` ...);
    the bigram plateau (``_plateau``), the step range at which the runs left it and the largest spread
    of final losses between seeds (``_spread``); over the byte experiments 2a and 2b, how the exit step
    and the final loss go together (``_bytes_r``, ``_bytes_p``, ``_bytes_slope``, ``_bytes_latest``);
    and the cross-experiment reading, N_self / N_opt of the best model (``_best_n_opt_e1``, ``_e2``).
    Returns the values and, under ``"limits"``, the per-model table (None without results)."""
    from myst_nb import glue

    from replication.studies.chinchilla_design import DEFAULT

    v = {f"{prefix}_lr": f"{study.lr:g}", f"{prefix}_lr_exponent": f"{DEFAULT.lr_exponent:g}"}
    factors = {n: krasser.lr_rule_factors(krasser.cpu_study(n)) for n in ("1", "2a", "2b")}
    own = krasser.lr_rule_factors(study)
    v[f"{prefix}_lrf_lo"], v[f"{prefix}_lrf_hi"] = f"{own['factor'].min():.1f}", f"{own['factor'].max():.1f}"
    v[f"{prefix}_steps_lo"], v[f"{prefix}_steps_hi"] = f"{own['steps'].min():,}", f"{own['steps'].max():,}"
    every = pd.concat(factors.values())
    v[f"{prefix}_all_lrf_lo"], v[f"{prefix}_all_lrf_hi"] = f"{every['factor'].min():.1f}", f"{every['factor'].max():.1f}"
    v[f"{prefix}_all_steps_lo"], v[f"{prefix}_all_steps_hi"] = f"{every['steps'].min():,}", f"{every['steps'].max():,}"
    best = krasser.best_vs_n_opt()
    v[f"{prefix}_best_n_opt_e1"] = f"{best['1']:.2f}"
    v[f"{prefix}_best_n_opt_e2"] = _span([best["2a"], best["2b"]], lambda x: f"{x:.2f}")
    # the byte experiments' runs (recorded), pooled: how the plateau exit and the final loss go together
    byte_exits = []
    for n in ("2a", "2b"):
        s = krasser.cpu_study(n)
        r = krasser.train_study(s, train=False, progress=False)
        byte_exits.append(krasser.plateau_exits(s, r).assign(experiment=n))
    pooled = krasser.plateau_reading(pd.concat(byte_exits, ignore_index=True))
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
        exits = krasser.plateau_exits(study, results)
        limits = krasser.run_limits(study, results, exits=exits)
        share = exits["exit_fraction"]
        reading = krasser.plateau_reading(exits)
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
