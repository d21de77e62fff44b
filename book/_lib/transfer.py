"""The Perceiver AR transfer test: the chapter's Verdict box, figure, tables and glued numbers."""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown
from myst_nb import glue

from _lib import tables
from _lib.figures import PALETTE
from replication.studies.chinchilla_design import TRAIN_TOKENS
from replication.studies.transfer import ARTICLE, WITHIN
from replication.verdict import box_markdown

STYLE = {  # variant -> (colour, marker, linestyle, label)
    "decoder": (PALETTE[0], "o", "-", "decoder only (P = 0)"),
    "prefix, C_self": (PALETTE[1], "s", "--", "Perceiver AR, C = C_self"),
    "prefix, C_self + C_cross": (PALETTE[2], "^", ":", "Perceiver AR, C = C_self + C_cross"),
    "decoder, SentencePiece": (PALETTE[0], "o", "-", "decoder only (P = 0)"),
    "prefix, SentencePiece": (PALETTE[1], "s", "--", "Perceiver AR, C = C_self"),
}


def plot_losses(runs: pd.DataFrame, optima: pd.DataFrame, profiles: pd.DataFrame, budget_label: str):
    """Final loss against N_self at one budget: bytes (left) and SentencePiece (right); dots are seeds, lines
    the parabola in log N through the seed means (``profiles``: :func:`replication.studies.transfer.profiles`),
    an open marker its vertex where it lies inside."""
    panels = [("bytes", "validation loss (nats per byte)"), ("sentencepiece", "validation loss (nats per token)")]
    panels = [p for p in panels if runs["tokenizer"].str.startswith(p[0]).any()]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.9), squeeze=False)
    star = optima.set_index("variant")
    for ax, (kind, ylabel) in zip(axes[0], panels):
        for variant, g in runs[runs["tokenizer"].str.startswith(kind)].groupby("variant", sort=False):
            colour, marker, ls, label = STYLE[variant]
            offset = {"prefix, C_self": 1.02, "prefix, C_self + C_cross": 1.04}.get(variant, 1.0)  # no dot hides
            ax.scatter(g["N_self"] * offset, g["loss"], color=colour, marker=marker, s=14, alpha=0.45, lw=0)
            mean = g.groupby("N_self")["loss"].mean()
            curve = profiles[profiles["variant"] == variant]
            ax.plot(curve["N"], curve["loss"], color=colour, ls=ls, label=label)
            ax.plot(mean.index, mean, color=colour, marker=marker, ls="none", ms=6)
            n = star.loc[variant, "N_star"]
            if math.isfinite(n):
                ax.plot([n], [star.loc[variant, "loss_star"]], marker=marker, ms=11, mfc="white", mec=colour,
                        mew=1.5, ls="none")
        ax.set_xscale("log")
        ax.set_xlabel("parameters N (all but the prefix's position embeddings)")
        ax.set_ylabel(ylabel)
        ax.set_title(f"{'bytes (V = 262)' if kind == 'bytes' else 'SentencePiece'}, C = {budget_label}")
        ax.legend()
    fig.tight_layout()
    return fig


def _outcome(verdict) -> str:
    return "no claim" if verdict is None else str(verdict)


def verdict_table(shifts: pd.DataFrame) -> pd.DataFrame:
    """One row per comparison (:func:`replication.studies.transfer.shifts`): the shift as a ratio of optima
    with its interval, the per-seed t test, and the outcome for the article's claim."""
    v = shifts.assign(article=[ARTICLE[c][0] for c in shifts["comparison"]],
                      verdict=[_outcome(x) for x in shifts["verdict"]])
    ratio = [("outside the trained range" if not math.isfinite(r["ratio"]) else
              f"{r['ratio']:.2f} [{math.exp(r['low']):.2f}, {math.exp(r['high']):.2f}]") for _, r in v.iterrows()]
    return v.assign(ratio_text=ratio)[["comparison", "article", "ratio_text", "per-seed t", "verdict"]]


def show_verdicts(shifts: pd.DataFrame, level: float, caption: str = "Each comparison's shift of the optimum"):
    """:func:`verdict_table` as the page shows it."""
    return tables.table(verdict_table(shifts), headers={
        "comparison": "comparison", "article": "what the article says",
        "ratio_text": f"N* ratio [{level:.0%} interval]", "per-seed t": "per-seed shift, paired t",
        "verdict": "verdict on the article"}, caption=caption)


def show_optima(optima: pd.DataFrame, level: float):
    o = optima.assign(star=[tables.number(n) if math.isfinite(n) else w for n, w in zip(optima["N_star"],
                                                                                        optima["where"])])
    return tables.table(o, headers={"variant": "variant", "star": "N* (parameters)",
                                    "N_star low": f"{level:.0%} low", "N_star high": f"{level:.0%} high",
                                    "interior share": "resamples with a minimum"},
                        formats={"N_star low": "int", "N_star high": "int", "interior share": "pct"},
                        columns=["variant", "star", "N_star low", "N_star high", "interior share", "seeds"],
                        caption="The optimum N* of each variant")


def show_size_tests(tests: pd.DataFrame):
    return tables.table(tests, headers={"comparison": "comparison", "width": "width d", "N_self": "N (parameters)",
                                        "test": "loss − decoder's, paired t"},
                        columns=["comparison", "width", "N_self", "test"],
                        caption="The prefix's effect on the final loss at each size")


def glue_numbers(study, runs: pd.DataFrame, shifts: pd.DataFrame,
                 body: pd.DataFrame | None = None, size_tests: pd.DataFrame | None = None,
                 power: pd.DataFrame | None = None, predicted: float | None = None,
                 confound: dict | None = None) -> dict:
    """The Verdict box (``tr_verdict``: the article's headline claim, :func:`replication.studies.transfer.
    verdicts`' first) and the numbers the prose quotes (``shifts`` and ``body``: :func:`replication.studies.
    transfer.shifts` by N_self and N_body; ``power``: :func:`replication.studies.transfer_reading.design_power`
    at the ``predicted`` log shift; ``confound``: :func:`~replication.studies.transfer_reading.vocabulary_confound`)."""
    headline = [v for v in shifts["verdict"] if v is not None][:1]
    glue("tr_verdict", Markdown(box_markdown(headline)), display=False)
    out = {"tr_train_bytes": TRAIN_TOKENS, "tr_budget": tables.sci(study.budget), "tr_n_opt": study.optimum,
           "tr_runs": len(runs), "tr_seeds": len(study.seeds), "tr_prefix": study.num_prefix,
           "tr_latents": study.chinchilla.num_latents,
           "tr_core_min": float(runs.drop_duplicates("run_id")["wall_s"].sum() / 60),
           "tr_sizes": ", ".join(f"{n:,}" for n in sorted(runs.loc[runs["variant"] == "decoder", "N_self"].unique()))}
    rows = [(f"tr_{key}", shifts, name) for key, name in (
        ("self", "prefix, C_self"), ("total", "prefix, C_self + C_cross"), ("sp", "prefix, SentencePiece"),
        ("vocab", "vocabulary, decoder"), ("inter", "vocabulary x prefix"))]
    if body is not None:
        rows.append(("tr_vocab_body", body, "vocabulary, decoder"))
    for key, table, name in rows:
        v = table.set_index("comparison")
        if name not in v.index:
            continue
        r = v.loc[name]
        out[f"{key}_ratio"] = f"{r['ratio']:.2f}" if math.isfinite(r["ratio"]) else "outside the trained range"
        out[f"{key}_lo"], out[f"{key}_hi"] = math.exp(r["low"]), math.exp(r["high"])
        out[f"{key}_p"] = tables.number(r["per-seed p"], 2) if math.isfinite(r["per-seed p"]) else "no test"
        out[f"{key}_verdict"] = _outcome(r["verdict"])
    if size_tests is not None:  # what the prefix does to the loss at a fixed size, per way of counting
        for key, name in (("self", "prefix, C_self"), ("total", "prefix, C_self + C_cross")):
            d = size_tests.loc[size_tests["comparison"] == name, "difference"]
            if len(d):
                out[f"tr_cost_{key}_lo"], out[f"tr_cost_{key}_hi"] = float(d.min()), float(d.max())
    if power is not None:
        detect = [c for c in power.columns if c.startswith("smallest factor")][0]
        for key, name in (("self", "prefix, C_self"), ("total", "prefix, C_self + C_cross")):
            if name in power.index:
                out[f"tr_{key}_detect"] = float(power.loc[name, detect])
                out[f"tr_{key}_power"] = float(power.loc[name, "power at the predicted shift"])
        out["tr_pred_pct"] = float(100 * (1 - math.exp(predicted))) if predicted is not None else math.nan
        v = shifts.set_index("comparison")
        if "prefix, C_self + C_cross" in v.index:
            out["tr_total_equiv"] = ("passes" if v.loc["prefix, C_self + C_cross", "shift test"] == WITHIN
                                     else "does not pass")
    if confound is not None:
        out |= {"tr_conf_width": int(confound["width"]), "tr_conf_v": int(confound["vocab_size"]),
                "tr_conf_share_bytes": 100 * confound["unembedding share, bytes"],
                "tr_conf_share_sp": 100 * confound["unembedding share, sentencepiece"],
                "tr_conf_text": confound["text per budget, SentencePiece / bytes"]}
    for k, val in out.items():
        glue(k, val, display=False)
    return out
