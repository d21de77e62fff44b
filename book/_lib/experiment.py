"""Krasser's Experiments 1, 2a and 2b: the tables the three chapters share, at the article's scale (its
designs recomputed, its losses, GPU-hours) and at CPU scale (our runs); their figures
(:mod:`_lib.experiment_figures`) and glued text (:mod:`_lib.experiment_glue`), read from here too.

The CPU-scale helpers take the chapter's study (:class:`replication.studies.krasser.KrasserStudy`), whose
name says which experiment it is, and its results (one row per run, :func:`replication.studies.krasser.
runs_table`; ``None`` when the chapter runs at the article's scale only and nothing is trained). Functions
ending in ``_table`` or ``_display`` return what a chapter shows (a :func:`_lib.tables.table` Styler).
"""
from __future__ import annotations

import pandas as pd

from replication.counting import ACCOUNTINGS
from replication.papers.krasser import CONCLUSIONS
from replication.studies import krasser, krasser_design
from replication.studies.krasser import NOT_TRAINED, KrasserStudy, empirical_optimum, optimum_inside  # noqa: F401

from . import tables
from .experiment_figures import (loss_unit, model_name, not_trained_figure, plot_final_loss,  # noqa: F401
                                 plot_loss_vs_flops)
from .experiment_glue import (glue_design, glue_run_limits, glue_verdict, optimum_phrase,  # noqa: F401
                              optimum_text, verdict_box)
from .tables import sci

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

def _label_or_number(df: pd.DataFrame) -> list[str]:
    """The model column of a setup-like table (index: model number), in words."""
    if "label" in df.columns:
        return [model_name(x) for x in df["label"]]
    return [str(i) for i in df.index.get_level_values("model")]


def _interval(low: float, high: float) -> str:
    return "—" if not (low == low and high == high) else f"[{tables.signed(low, 4)}, {tables.signed(high, 4)}]"


# --------------------------------------------------------------------------------------------------
# The article's scale


def _accountings(df: pd.DataFrame, keys: str, values: list[str], formats: dict, caption: str, headers=None):
    """Rows of ``df`` that differ only in their FLOP accounting, side by side (:func:`tables.side_by_side`)."""
    return tables.table(tables.side_by_side(df, "accounting", keys, values=values), headers or _HEADERS, formats,
                        caption=caption)


def article_setup_tables(name: str):
    """The article's setup table of Experiment ``name`` (its Table 1, 3 or 5), recomputed under both
    accountings side by side, in four parts of at most three quantities, so that each fits the page's column
    (four FLOP counts side by side are 807 px against its 772 at 1400 px, the shape and three parameter counts
    770 px): the models' shapes, steps and latent tokens; their parameters; their self-attention FLOPs beside
    Kaplan's 6 N_self D; their cross-attention and total FLOPs."""
    number = {"1": 1, "2a": 3, "2b": 5}[name]
    df = krasser_design.both_accountings(number)
    df = df.assign(model=_label_or_number(df), shape=[f"{d}/{L}" for d, L in zip(df["num_channels"],
                                                                              df["num_layers"])])
    df = df.reset_index(level="model", drop=True).reset_index()
    what = f"The article's Table {number} (Experiment {name}) under both FLOP accountings"
    steps = _accountings(df, "model", ["shape", "num_steps", "D_iso"], {"num_steps": "int", "D_iso": "sci3"},
                         f"{what}: the models' shapes, steps and latent tokens")
    models = _accountings(df, "model", ["N", "N_cross", "N_self"], {c: "sci3" for c in ("N", "N_cross", "N_self")},
                          f"{what}: the models' parameters")
    self_flops = _accountings(df, "model", ["C_self", "C_self_hat"], {c: "sci3" for c in ("C_self", "C_self_hat")},
                              f"{what}: self-attention FLOPs and Kaplan's 6 N<sub>self</sub> D")
    flops = _accountings(df, "model", ["C_cross", "C"], {c: "sci3" for c in ("C", "C_cross")},
                         f"{what}: cross-attention and all FLOPs")
    return steps, models, self_flops, flops


def article_ratio_table(name: str):
    """The cross-attention shares and C_self / 6 N_self D of Experiment ``name`` under both accountings
    (the article's Tables 2 and 4; for 2b, which has none, computed the same way), to four decimals as
    the article prints them."""
    exp = {acc: krasser_design.experiment(name, acc) for acc in ACCOUNTINGS}
    df = pd.concat({acc: e.ratios().assign(model=_label_or_number(e.setup())) for acc, e in exp.items()},
                   names=["accounting", "number"]).reset_index()
    source = {"1": "the article's Table 2", "2a": "the article's Table 4"}.get(
        name, "computed as the article's Tables 2 and 4")
    return _accountings(df, "model", list(_RATIOS), {c: "f4" for c in _RATIOS},
                        f"Experiment {name}'s cross-attention shares and C<sub>self</sub> / 6 N<sub>self</sub> D "
                        f"({source}) under both FLOP accountings")


def predictions_table(name: str):
    """The laws' N_opt at the article's C_ref of Experiment ``name``, and the model Krasser trained for it."""
    df = krasser_design.predictions().query("experiment == @name")
    df = df.assign(approach=[f"Approach {a}" for a in df["approach"]])
    return _accountings(df, "approach", ["C_ref", "N_opt", "model", "N_self/N_opt"],
                        {"C_ref": "sci3", "N_opt": "sci3", "N_self/N_opt": "f2"},
                        f"Experiment {name}: the laws' N<sub>opt</sub> at the article's budget, and the model "
                        "Krasser trained for it",
                        {**_HEADERS, "model": "model trained (channels / layers)",
                         "N_self/N_opt": "its N<sub>self</sub> / N<sub>opt</sub>"})


def article_results_table(name: str, accounting: str = "corrected"):
    """Krasser's final loss of each model of Experiment ``name`` (one run each; in no source document, said
    to be his repository's logged validation losses, unchecked here)."""
    df = krasser_design.article_results(name, accounting)
    df = df.assign(role=[model_name(x) if x.startswith("Model") else x for x in df["label"]])
    unit = loss_unit(krasser_design.ARTICLE_TOKENIZERS[name])
    return tables.table(df, {"model": "channels / layers", "role": "model", "N_self": _N_SELF,
                             "num_steps": f"steps ({accounting} accounting)",
                             "article loss": f"Krasser's final validation loss ({unit}; "
                                             "his repository's logs, unchecked)"},
                        {"N_self": "sci3", "num_steps": "int", "article loss": "f3"},
                        columns=["role", "model", "N_self", "num_steps", "article loss"],
                        caption=f"Experiment {name} as Krasser ran it: one final loss per model")


def gpu_hours(name: str, accounting: str = "corrected") -> pd.DataFrame:
    """Expected H100-hours of each model of the article's Experiment ``name`` (the library's defaults:
    35% of the dense bf16 peak)."""
    return krasser_design.gpu_hours(name, accounting)


def gpu_hours_table(hours: pd.DataFrame):
    """:func:`gpu_hours` as the chapters show it."""
    return tables.table(hours, {"model number": "model", "model": "channels / layers",
                                "num_steps": "steps", "latent tokens": "latent tokens",
                                "executed FLOPs": "FLOPs executed", "GPU-hours": "H100-hours"},
                        {"num_steps": "int", "latent tokens": "sci3", "executed FLOPs": "sci3", "GPU-hours": "f2"},
                        caption="What each model of the article's design would cost on an H100")


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
    what = f"Experiment {exp.name} at CPU scale"
    sizes = tables.table(d, headers, {"num_steps": "int", "D_iso": "sci3", "N": "int", "N_self": "int"},
                         columns=["model", "shape", "num_steps", "D_iso", "N", "N_self"],
                         caption=f"{what}: each model's steps, tokens and parameters")
    position = tables.table(d, headers, {"N_self": "int", "N_self/N_opt1": "f2", "N_self/N_opt2": "f2",
                                         "Vd/N": "f2"},
                            columns=["model", "shape", "N_self", "N_self/N_opt1", "N_self/N_opt2", "Vd/N"],
                            caption=f"{what}: each model against the laws' N<sub>opt</sub>")
    flops = tables.table(d, headers, {c: "sci3" for c in ("C", "C_cross", "C_self", "C_self_hat")},
                         columns=["model", "shape", "C_self", "C_cross", "C", "C_self_hat"],
                         caption=f"{what}: each model's FLOPs at the budget")
    return sizes, position, flops


def design_comparison_table(study: KrasserStudy, results: pd.DataFrame | None = None):
    """:func:`replication.studies.krasser.design_comparison` as the chapters show it."""
    return tables.table(krasser.design_comparison(study, results, sci=sci), {"quantity": "", "CPU scale": "CPU scale",
                                                            "article": "the article", "kept": "kept or changed"},
                        index="quantity", caption=f"Experiment {study.name}: the CPU-scale design against the "
                                                  "article's")


def model_choice_table(exp):
    """How the accounting moves the choice of models (:func:`krasser_design.model_choice`)."""
    df = krasser_design.model_choice(exp)
    df = df.assign(approach=[f"Approach {a}" for a in df["approach"]])
    return _accountings(df, "approach", ["C_ref", "N_opt", "nearest trained model", "closest shape"],
                        {"C_ref": "sci3", "N_opt": "sci3"},
                        f"Experiment {exp.name} at CPU scale: the models the laws choose under each FLOP accounting",
                        {**_HEADERS, "nearest trained model": "nearest model trained (number: channels / layers)",
                         "closest shape": "nearest shape with its layers"})


# --------------------------------------------------------------------------------------------------
# The CPU-scale results


def summary_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The loss summary as data: mean ± standard deviation over the seeds, as text."""
    spread = [f"{m:.4f} ± {s:.4f}" if s == s else f"{m:.4f}" for m, s in zip(summary["mean"], summary["std"])]
    return summary.assign(**{"mean ± std": spread})[["label", "shape", "N_self", "mean ± std", "seeds", "epochs"]]


def summary_display(study: KrasserStudy, summary: pd.DataFrame):
    """:func:`summary_table` as the chapters show it."""
    t = summary_table(summary)
    t = t.assign(label=[model_name(x) for x in t["label"]])
    return tables.table(t, {"label": "model", "shape": "channels / layers", "N_self": _N_SELF,
                            "mean ± std": f"final validation loss, mean ± std over the seeds "
                                          f"({loss_unit(study.tokenizer)})",
                            "seeds": "seeds", "epochs": "epochs (most of any seed)"},
                        {"N_self": "int", "seeds": "int", "epochs": "f2"},
                        columns=["label", "shape", "N_self", "mean ± std", "seeds", "epochs"],
                        caption=f"Experiment {study.name} at CPU scale: each model's final loss")


def verdict_table(study: KrasserStudy, results: pd.DataFrame) -> pd.DataFrame:
    """The comparisons as data (:func:`replication.studies.krasser.comparisons`): each predicted model against
    the reference, the paired test (difference, interval, p), the outcome and, when inconclusive, the seeds
    for 80% power."""
    v = krasser.comparisons(study, results)
    v = v.assign(predicted=[model_name(x) for x in v["predicted"]], interval=[_interval(lo, hi) for lo, hi in
                                                                              zip(v["low"], v["high"])])
    needed = f"seeds for {krasser.POWER:.0%} power"
    return v[["approach", "N_opt", "predicted", "difference", "interval", "p", "outcome", needed]]


def verdict_display(study: KrasserStudy, results: pd.DataFrame):
    """:func:`verdict_table` as the chapters show it."""
    needed, unit = f"seeds for {krasser.POWER:.0%} power", loss_unit(study.tokenizer)
    return tables.table(verdict_table(study, results),
                        {**_HEADERS, "predicted": "predicted model",
                         "difference": f"predicted − reference, mean over the seeds ({unit})",
                         "interval": f"95% interval ({unit})", "p": "p (paired t test)",
                         "outcome": "outcome for the article's claim",
                         needed: f"seeds for {krasser.POWER:.0%} power at this difference"},
                        {"N_opt": "sci3", "difference": "signed4", "p": "p", needed: "int"},
                        caption=f"Experiment {study.name} at CPU scale: each predicted model against the reference")


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
    unit = loss_unit(study.tokenizer)
    return tables.table(pd.DataFrame(rows), {"shape": "channels / layers", "N_self": _N_SELF,
                                             "difference": f"model − reference, mean over the seeds ({unit})",
                                             "interval": f"95% interval ({unit})", "p": "p (paired t test)",
                                             "word": "final loss, against the reference"},
                        {"N_self": "int", "difference": "signed4", "p": "p"},
                        caption=f"Experiment {study.name} at CPU scale: every model against the reference")


def cost_table(results: pd.DataFrame):
    """What the runs behind ``results`` cost, as recorded."""
    t = krasser.total_training(results)
    df = pd.DataFrame([{**t, "wall_min": t["wall_s"] / 60}])
    return tables.table(df, {"runs": "runs", "wall_min": "wall time (minutes, one core)",
                             "C_self": "self-attention FLOPs C<sub>self</sub>", "C": "all FLOPs C",
                             "max_epochs": "most epochs of one run"},
                        {"runs": "int", "wall_min": "f1", "C_self": "sci3", "C": "sci3", "max_epochs": "f2"},
                        columns=["runs", "wall_min", "C_self", "C", "max_epochs"], caption="What the runs cost")


def recorded_total_table():
    """The default CPU-scale studies' training time, as recorded (:func:`krasser.recorded_total`)."""
    df = krasser.recorded_total()
    return tables.table(df, {"experiment": "experiment", "runs": "runs", "recorded": "runs recorded",
                             "wall_min": "wall time (minutes, one core)",
                             "C_self": "self-attention FLOPs C<sub>self</sub>", "C": "all FLOPs C",
                             "max_epochs": "most epochs of one run"},
                        {"runs": "int", "recorded": "int", "wall_min": "f1", "C_self": "sci3", "C": "sci3",
                         "max_epochs": "f2"},
                        columns=["experiment", "runs", "recorded", "wall_min", "C_self", "C", "max_epochs"],
                        caption="What the three experiments' CPU-scale runs cost, as recorded")


def _model_words(summary: pd.DataFrame, number: int) -> str:
    """``"model 2, 44/2 (predicted)"``."""
    name = model_name(summary.loc[number, "label"])
    num, _, role = name.partition(" ")
    return f"model {num}, {summary.loc[number, 'shape']}" + (f" {role}" if role else "")


def conclusion_table(study: KrasserStudy, results: pd.DataFrame):
    """Our verdict beside the article's, one column per predicted model (:func:`replication.studies.krasser.
    comparisons`): the article's conclusion, the claim tested, our paired test, the outcome, the best model and
    the empirical optimum against the law's."""
    summary = krasser.loss_summary(results)
    inside, n_hat = optimum_inside(summary), empirical_optimum(summary)
    best = _model_words(summary, int(summary["mean"].idxmin()))
    rows = []
    for r in krasser.comparisons(study, results).to_dict("records"):
        rows.append({"approach": f"Approach {r['approach']}: model {r['model']}, {summary.loc[r['model'], 'shape']}",
                     "article": CONCLUSIONS.get(study.name, ""), "claim": krasser.CLAIMS[study.name],
                     "test": r["test"], "outcome": r["outcome and seeds needed"], "best": best,
                     "n_opt": sci(r["N_opt"], 3), "where": optimum_text(summary),
                     "ratio": f"{r['N_opt'] / n_hat:.2f}" if inside else "—"})
    return tables.table(pd.DataFrame(rows), {"approach": "", "article": "the article concludes",
                                             "claim": "the claim, as a comparison of final losses",
                                             "test": "ours: predicted − reference (paired t test)",
                                             "outcome": "outcome", "best": "lowest mean loss",
                                             "n_opt": "law's N<sub>opt</sub> (parameters)",
                                             "where": "minimum of the parabola (parameters)",
                                             "ratio": "law's N<sub>opt</sub> / parabola's"},
                        index="approach", transpose=True,
                        caption=f"Experiment {study.name}: our verdict beside the article's")


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
                         "exit first": "f0", "exit last": "f0", "exit last / steps": "f2", "loss spread": "f3"},
                        caption="What limits each run: the learning rate, the steps and the bigram plateau")


