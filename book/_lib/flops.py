"""Counting FLOPs: the term-by-term tables, the article's tables in both accountings (split so that
they fit a page), the check of every printed cell, and the figures of the flops chapter."""
from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown
from myst_nb import glue

from replication.counting import ACCOUNTINGS, Decoder, PerceiverARShape, appendix_f_terms, table_a4
from replication.fit.laws import chinchilla_law
from replication.papers import krasser
from replication.papers.krasser import PREFIX_DROPOUT
from replication.studies import accountings
from replication.studies.krasser_design import both_accountings, experiment, predictions
from replication.verdict import DIFFERS, HOLDS, box_markdown

from . import figures, tables

#: the terms of the accountings, as the tables name them
TERMS = {"embedding": "token embedding", "prefix_embedding": "prefix embedding", "weights": "weight matmuls",
         "prefix_kv": "prefix keys and values", "attention_logits": "attention logits",
         "attention_softmax": "attention softmax", "attention_reduction": "attention reduction over values",
         "final_logits": "final logits", "embeddings": "embeddings", "attention_qkv": "attention q, k, v",
         "attention_project": "attention output projection", "dense": "dense (MLP)"}
PARTS = {"self": "self-attention", "cross": "cross-attention"}
#: the columns of the article's tables, as the tables head them (units in the header)
COLUMNS = {"label": "model", "shape": "channels / layers", "num_steps": "steps",
           "D_iso": "latent tokens", "N": "parameters", "N_cross": "cross-attention parameters",
           "N_self": "self-attention parameters", "C": "training FLOPs", "C_cross": "cross-attention FLOPs",
           "C_self": "self-attention FLOPs", "C_self_hat": "6ND estimate of self-attention FLOPs",
           "N_cross/N": "cross-attention share of parameters", "C_cross/C": "cross-attention share of FLOPs",
           "C_self/C_self_hat": "self-attention FLOPs / 6ND estimate"}


#: how the figures draw each accounting
STYLES = {"article": dict(ls="--", marker="o", label="article's accounting"),
          "corrected": dict(ls="-", marker="s", label="corrected accounting")}


def plot_self_flops_ratios(df: pd.DataFrame):
    """One panel per vocabulary: C_self / 6 N_self against N_self, a line per accounting."""
    vocabs = sorted(df["vocab_size"].unique())
    fig, axes = plt.subplots(1, len(vocabs), figsize=(4.5 * len(vocabs), 3.6), sharey=True, squeeze=False)
    for ax, V in zip(axes[0], vocabs):
        for i, acc in enumerate(ACCOUNTINGS):
            part = df[(df["vocab_size"] == V) & (df["accounting"] == acc)]
            ax.plot(part["N_self"], part["C_self/6N_self"], color=figures.PALETTE[i], **STYLES[acc])
        ax.axhline(1.0, color=figures.PALETTE[7], lw=0.8, ls=":")
        ax.set_xscale("log")
        ax.set_xlabel("self-attention parameters $N_{self}$")
        ax.set_title(f"vocabulary V = {V:,}")
    axes[0][0].set_ylabel(r"$C_{self}\,/\,6 N_{self}$ per latent token")
    axes[0][0].legend()
    fig.tight_layout()
    return fig


def plot_cross_shares(frames: dict, marks=(1536, 3584)):
    """C_cross / C against prefix length; ``frames`` maps a label to a
    :func:`replication.studies.accountings.cross_shares` frame.

    A colour per frame, a line style per accounting; ``marks`` are prefix lengths to flag (the article's).
    """
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for i, (label, df) in enumerate(frames.items()):
        for acc in ACCOUNTINGS:
            part = df[df["accounting"] == acc]
            # corrected curves of different vocabularies coincide; markers of shrinking size keep both visible
            marker = dict(marker="o", markersize=7 - 3 * i, fillstyle="none") if acc == "corrected" else {}
            ax.plot(part["prefix_length"], 100 * part["C_cross/C"], STYLES[acc]["ls"],
                    color=figures.PALETTE[i % len(figures.PALETTE)], label=f"{label}, {STYLES[acc]['label']}",
                    **marker)
    for P in marks:
        ax.axvline(P, color=figures.PALETTE[7], lw=0.8, ls=":")
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_formatter(mpl.ticker.FuncFormatter(lambda x, _: f"{x:,.0f}"))
    ax.set_xlabel("prefix length P (tokens)")
    ax.set_ylabel("cross-attention share of training FLOPs (%)")
    ax.legend()
    fig.tight_layout()
    return fig


def glue_conventions(table: pd.DataFrame) -> dict:
    """Glue the numbers the convention section's prose quotes (from
    :func:`replication.studies.accountings.convention_pairings`)."""
    art, cor, law = "article C_self", "corrected C_self", "6 N_self D (the law's)"
    v = {}
    for name, key in (("1", "e1"), ("2a", "e2a")):
        t = table.loc[name]
        v[f"fc_{key}_ratio_cor"] = float(t.loc[cor, "C_ref / 6ND"])
        v[f"fc_{key}_ratio_art"] = float(t.loc[art, "C_ref / 6ND"])
        for label, row in (("art", art), ("cor", cor), ("law", law)):
            v[f"fc_{key}_nopt_{label}"] = float(t.loc[row, "N_opt"]) / 1e6
            v[f"fc_{key}_model_{label}"] = str(t.loc[row, "nearest trained model"])
            v[f"fc_{key}_shape_{label}"] = str(t.loc[row, "closest shape"])
        v[f"fc_{key}_shift"] = float(t.loc[cor, "N_opt"] / t.loc[law, "N_opt"] - 1) * 100
        same = t["nearest trained model"].nunique() == 1
        v[f"fc_{key}_same"] = "the same under every pairing" if same else "not the same under every pairing"
    for k, x in v.items():
        glue(k, x, display=False)
    return v


# --------------------------------------------------------------------------------------------------
# the chapter's tables, as the page shows them


def terms_table(model: PerceiverARShape, prefix_dropout: float = PREFIX_DROPOUT):
    """:func:`replication.studies.accountings.accounting_terms` with readable names (training FLOPs per
    latent token)."""
    t = accountings.accounting_terms(model, prefix_dropout).reset_index()
    t["part"] = t["part"].map(PARTS)
    t["term"] = t["term"].map(lambda k: TERMS.get(k, k))
    return tables.table(t, headers={"article": "article (FLOPs per latent token)",
                                    "corrected": "corrected (FLOPs per latent token)"},
                        formats={"article": "sci3", "corrected": "sci3"},
                        caption="Your reference model's training FLOPs, term by term, in both accountings")


def summary_table(model: PerceiverARShape, prefix_dropout: float = PREFIX_DROPOUT):
    """The parameter counts and per-token FLOPs of one model in both accountings."""
    rows = {"num_params": ("parameters N", "int"), "num_self_attn_params": ("self-attention parameters", "int"),
            "num_cross_attn_params": ("cross-attention parameters", "int"),
            "self_attn_flops": ("self-attention training FLOPs per latent token", "sci3"),
            "cross_attn_flops": ("cross-attention training FLOPs per latent token", "sci3"),
            "self_attn_flops_6n": ("6 × self-attention parameters (FLOPs per latent token)", "sci3"),
            "cross_attn_share": ("cross-attention share of the FLOPs", lambda x: f"{100 * x:.2f}%"),
            "self_attn_flops_over_6n": ("self-attention FLOPs / 6 × self-attention parameters", "f4")}
    out = {acc: model.summary(prefix_dropout, acc) for acc in ACCOUNTINGS}
    t = pd.DataFrame([{"quantity": label, **{acc: tables.FORMATS[fmt](out[acc][k]) if isinstance(fmt, str)
                                              else fmt(out[acc][k]) for acc in ACCOUNTINGS}}
                      for k, (label, fmt) in rows.items()])
    return tables.table(t, index="quantity", caption="Your reference model's parameters and FLOPs in both "
                                                      "accountings")


def as_printed(x) -> str:
    """3 significant figures as the article prints them, trailing zeros kept: 4.50×10⁷ (its 4.50e+07)."""
    return tables.sci(float(x), 3, trailing_zeros=True)


def _labelled(df: pd.DataFrame, labels=None) -> pd.DataFrame:
    """A stacked (accounting, model) frame with the model's label and its shape as columns."""
    t = df.reset_index()
    if "label" not in t.columns:
        t["label"] = [labels[m - 1] if labels else f"Model {m}" for m in t["model"]]
    if "num_channels" in t.columns:
        t["shape"] = [f"{d}/{L}" for d, L in zip(t["num_channels"], t["num_layers"])]
    return t


#: the parts of a setup or ratio table that fit a page with the two accountings side by side, and what each
#: shows: at most three quantities (six columns of numbers) each, since four side by side are as wide as the
#: column at 1400 px or wider (the FLOPs 805 px, the shape and three parameter counts 768 px, against 772)
PARTS_SHOWN = {"the models' shapes, steps and latent tokens": ["shape", "num_steps", "D_iso"],
               "the models' parameters": ["N", "N_cross", "N_self"],
               "self-attention FLOPs and their 6ND estimate": ["C_self", "C_self_hat"],
               "cross-attention and training FLOPs": ["C_cross", "C"],
               "cross-attention shares and FLOPs against 6ND": ["N_cross/N", "C_cross/C", "C_self/C_self_hat"]}


def experiment_tables(df: pd.DataFrame, labels=None, what: str = "Your experiment") -> list:
    """An experiment's setup and ratio columns (index: accounting, model) as tables that fit a page, the
    accountings side by side (a quantity they agree on once): the models and their parameters; their
    steps and tokens; the FLOPs; the ratios, each as far as ``df`` has them, captioned ``what``: part."""
    t = _labelled(df, labels)
    formats = {c: as_printed for c in ("D_iso", "N", "N_cross", "N_self", "C", "C_cross", "C_self", "C_self_hat")}
    formats |= {"num_steps": "int", "N_cross/N": "f4", "C_cross/C": "f4", "C_self/C_self_hat": "f4"}
    return [tables.table(tables.side_by_side(t, "accounting", "label", values=cols),
                         headers=COLUMNS | {"accounting": "accounting"}, formats=formats, caption=f"{what}: {part}")
            for part, cols in PARTS_SHOWN.items() if all(c in t.columns for c in cols)]


def article_tables(number: int) -> list:
    """Table ``number`` (1-5) of the article in both accountings, as :func:`experiment_tables`."""
    name = krasser.TABLE_EXPERIMENT[number]
    return experiment_tables(both_accountings(number), krasser.DESIGNS[name]["labels"],
                             f"The article's Table {number} (Experiment {name}) in both accountings")


def check_table(check: pd.DataFrame):
    """:func:`replication.studies.accountings.article_cells` as the page shows it."""
    return tables.table(check, headers={"table": "the article's table", "experiment": "experiment",
                                        "cells": "printed cells checked",
                                        "article": "reproduced (article's accounting)",
                                        "corrected": "unchanged under the correction"},
                        caption="The printed cells of the article's Tables 1 to 5 that our estimator gives back")


def glue_check(check: pd.DataFrame, a4: dict) -> dict:
    """Glue the verdict box (:func:`replication.studies.accountings.verdicts`) and the numbers of its
    details: the cells of Tables 1-5 reproduced, and the Table A4 ratios under the accounting that matches
    and under Appendix F as written."""
    v = {"fl_cells": int(check["cells"].sum()), "fl_match": int(check["article"].sum()),
         "fl_unchanged": int(check["corrected"].sum()), "fl_a4_rows": int(a4["rows"]),
         "fl_a4_match": int(a4["table_a4"]), "fl_a4_appf": int(a4["appendix_f"])}
    tables_, a4_ = accountings.verdicts(check, a4)
    v["fl_outcome"], v["fl_a4_outcome"] = tables_.label, a4_.label
    v["fl_a4_appf_outcome"] = HOLDS if v["fl_a4_appf"] == v["fl_a4_rows"] else DIFFERS
    for k, x in v.items():
        glue(k, x, display=False)
    glue("flops_verdict", Markdown(box_markdown([tables_, a4_])), display=False)
    return v


def laws_table():
    """The two Chinchilla laws Krasser fits: N_opt = k_N C^a, D_opt = k_D C^b."""
    t = pd.DataFrame([{"law": f"Approach {i}", **{k: getattr(chinchilla_law(i), k) for k in ("k_N", "a", "k_D", "b")}}
                      for i in (1, 2)])
    return tables.table(t, index="law", headers={"k_N": "k<sub>N</sub> (N<sub>opt</sub> = k<sub>N</sub> C<sup>a</sup>)",
                                                 "a": "a",
                                                 "k_D": "k<sub>D</sub> (D<sub>opt</sub> = k<sub>D</sub> C<sup>b</sup>)",
                                                 "b": "b"}, formats={"k_N": "f4", "a": "f2", "k_D": "f4", "b": "f2"},
                        caption="The two Chinchilla laws Krasser fitted")


def predictions_table():
    """:func:`replication.studies.krasser_design.predictions` with readable headers, in two tables (four
    quantities in two accountings are wider than the column): each experiment's budget and the law's N_opt,
    then the model Krasser trained for it."""
    t = predictions()
    t["approach"] = [f"Approach {a}" for a in t["approach"]]
    headers = {"experiment": "experiment", "approach": "law", "accounting": "accounting",
               "C_ref": "budget C<sub>ref</sub> (FLOPs)", "N_opt": "N<sub>opt</sub> (parameters)",
               "model": "model trained (channels / layers)",
               "N_self/N_opt": "its N<sub>self</sub> / N<sub>opt</sub>"}
    formats = {"C_ref": "sci3", "N_opt": "sci3", "N_self/N_opt": "f3"}
    budgets, trained = (tables.table(tables.side_by_side(t, "accounting", ["experiment", "approach"], values=values),
                                     headers=headers, formats=formats, caption=caption)
                        for values, caption in (
                            (["C_ref", "N_opt"], "Each experiment's budget and the law's N<sub>opt</sub> under each "
                                                 "accounting"),
                            (["model", "N_self/N_opt"], "The model Krasser trained for each prediction, and its "
                                                        "self-attention parameters N<sub>self</sub> against "
                                                        "N<sub>opt</sub>, under each accounting")))
    return budgets, trained


def nearest_table(choices=(("article", 11), ("corrected", 10)), approach: int = 2):
    """:func:`replication.studies.accountings.nearest_shapes` as the page shows it."""
    return tables.table(accountings.nearest_shapes(choices, approach), headers={
        "N_opt": "N<sub>opt</sub> (parameters)", "layers": "layers", "channels": "nearest channels (multiple of 8)",
        "N_self": "its self-attention parameters"}, formats={"N_opt": "sci3", "N_self": "int"},
        caption="Experiment 1: the shape nearest N<sub>opt</sub> in each accounting")


def mine_tables(experiments: dict, laws: dict):
    """Your own experiment (``experiments``: accounting -> Experiment): its budget and N_opt under
    each law, and its setup and ratios as :func:`experiment_tables`."""
    rows = [{"accounting": acc, "C_ref": float(e.c_ref),
             **{f"law {i}": e.n_opt(law) for i, law in laws.items()}} for acc, e in experiments.items()]
    first = tables.table(pd.DataFrame(rows),
                         headers={"C_ref": "reference budget (FLOPs)",
                                  **{f"law {i}": f"N<sub>opt</sub>, Approach {i} (parameters)" for i in laws}},
                         formats={"C_ref": "sci3", **{f"law {i}": "sci3" for i in laws}},
                         caption="Your experiment: its budget and the laws' N<sub>opt</sub> in each accounting")
    stacked = pd.concat({acc: e.setup().join(e.ratios()) for acc, e in experiments.items()},
                        names=["accounting", "model"])
    labels = next(iter(experiments.values())).labels or None
    return [first, *experiment_tables(stacked, labels, "Your experiment in both accountings")]


def appendix_f_table(model: Decoder):
    """:func:`replication.counting.appendix_f_terms` with readable names."""
    t = appendix_f_terms(model).reset_index()
    t["term"] = t["term"].map(lambda k: TERMS.get(k, k))
    for c in ("appendix_f", "table_a4"):
        t[c] = t[c].map({True: "yes", False: "no"})
    return tables.table(t, headers={"training FLOPs per token": "training FLOPs per token",
                                    "share": "share of the total", "appendix_f": "counted in Appendix F's text",
                                    "table_a4": "counted in Table A4"},
                        formats={"training FLOPs per token": "sci3", "share": "pct"},
                        caption="Appendix F's terms for the smallest shape of Table A4")


def table_a4_tables():
    """Chinchilla's Table A4 recomputed, as two tables: the six shapes and their parameters, and the
    printed ratio FLOPs/6ND beside each accounting's."""
    t = table_a4()
    shapes = tables.table(t, columns=["N", "n_layers", "d_model", "ffw_size", "n_heads", "kv_size"],
                          headers={"N": "parameters N", "n_layers": "layers", "d_model": "model width",
                                   "ffw_size": "MLP width", "n_heads": "heads", "kv_size": "key/value size"},
                          formats={"N": "int"}, caption="The six shapes of Chinchilla's Table A4")
    ratios = tables.table(t, columns=["N", "paper_ratio", "appendix_f", "table_a4", "palm"],
                          headers={"N": "parameters N", "paper_ratio": "printed in Table A4",
                                   "appendix_f": "Appendix F as written", "table_a4": "without embeddings and logits",
                                   "palm": "PaLM's 6N + attention"},
                          formats={"N": "int", "paper_ratio": "f2", "appendix_f": "f3", "table_a4": "f3",
                                   "palm": "f3"},
                          caption="Table A4's ratio FLOPs / 6ND, printed and under each accounting")
    return shapes, ratios


def pairings_table(pairings: pd.DataFrame):
    """:func:`replication.studies.accountings.convention_pairings` as the page shows it."""
    t = pairings.reset_index()
    t["budget counted as"] = t["budget counted as"].map({"article C_self": "article's self-attention FLOPs",
                                                         "corrected C_self": "corrected self-attention FLOPs",
                                                         "6 N_self D (the law's)": "6ND (the law's convention)"})
    return tables.table(t, columns=["experiment", "budget counted as", "C_ref", "C_ref / 6ND", "N_opt",
                                    "nearest trained model", "closest shape"],
                        headers={"C_ref": "reference budget (FLOPs)", "C_ref / 6ND": "budget / 6ND",
                                 "N_opt": "N<sub>opt</sub> (parameters)",
                                 "nearest trained model": "nearest trained model",
                                 "closest shape": "closest shape, same depth"},
                        formats={"C_ref": "sci3", "C_ref / 6ND": "f3", "N_opt": "sci3"},
                        caption="Each experiment's budget counted three ways, and the N<sub>opt</sub> each gives")


def glue_prose() -> dict:
    """Glue the numbers the chapter's prose quotes about the article's own models (not the reader's
    parameters): the logits' share of the count, the ratios to 6ND, the cross-attention shares, how
    the correction moves budgets and N_opt, and Table A4's terms. Returns them by name."""
    def ref(name, acc="article"):
        e = experiment(name, acc)
        return e, PerceiverARShape(e.vocab_size, e.max_seq_len, e.num_latents, *e.models[0])

    v = {}
    for name, key in (("1", "fl_logit_share"), ("2a", "fl_logit_share_bytes")):
        _, m = ref(name)
        v[key] = 100 * m.self_attn_terms("article")["final_logits"] / sum(m.self_attn_terms("article").values())
    # what the correction drops that a training step still executes: the tied unembedding's logit matmul,
    # as a share of Experiment 1's reference executed self-attention count (every matmul the step runs)
    _, m = ref("1")
    v["fl_e1_logit_exec_share"] = 100 * 3 * 2 * m.num_channels * m.vocab_size / m.self_attn_flops("executed")
    v["fl_e1_exec_over_cor"] = m.self_attn_flops("executed") / m.self_attn_flops("corrected")
    art = pd.concat([experiment(n, "article").ratios() for n in ("1", "2a", "2b")])["C_self/C_self_hat"]
    v["fl_art_ratio_min"], v["fl_art_ratio_max"] = float(art.min()), float(art.max())
    for name, key in (("1", "e1"), ("2a", "e2a")):
        v[f"fl_cor_ratio_{key}"] = float(experiment(name, "corrected").ratios().loc[1, "C_self/C_self_hat"])
    _, m = ref("1")
    for acc in ACCOUNTINGS:
        c_self, c_cross = m.self_attn_flops(acc), m.cross_attn_flops(PREFIX_DROPOUT, acc)
        v[f"fl_share_{acc[:3]}"] = 100 * c_cross / (c_self + c_cross)
    law = chinchilla_law(2)
    e1 = {acc: experiment("1", acc) for acc in ACCOUNTINGS}
    e2a = {acc: experiment("2a", acc) for acc in ACCOUNTINGS}
    for acc in ACCOUNTINGS:
        v[f"fl_e1_cref_{acc[:3]}"] = tables.sci(float(e1[acc].c_ref), 3)
        v[f"fl_e1_nopt_{acc[:3]}"] = tables.sci(e1[acc].n_opt(law), 3)
    v["fl_e1_budget_drop"] = 100 * (1 - e1["corrected"].c_ref / e1["article"].c_ref)
    v["fl_e2a_cref_rise"] = 100 * (e2a["corrected"].c_ref / e2a["article"].c_ref - 1)
    v["fl_e2a_nopt_factor"] = e2a["corrected"].n_opt(law) / e2a["article"].n_opt(law)
    v["fl_law2_a"] = law.a
    a4 = table_a4()
    first = appendix_f_terms(Decoder(*(int(a4.loc[0, c]) for c in ("n_layers", "d_model", "ffw_size", "n_heads",
                                                                    "kv_size"))))
    v["fl_a4_left_out"] = 100 * float(first.loc[~first["table_a4"], "share"].sum())
    v["fl_a4_appf_first"], v["fl_a4_appf_last"] = float(a4["appendix_f"].iloc[0]), float(a4["appendix_f"].iloc[-1])
    v["fl_a4_N_first"], v["fl_a4_ratio_first"] = int(a4.loc[0, "N"]), float(a4.loc[0, "table_a4"])
    v = {k: x if isinstance(x, (str, int)) else float(x) for k, x in v.items()}
    for k, x in v.items():
        glue(k, x, display=False)
    return v
