"""The wide study's chapter: its verdict, glued numbers and tables (its figures: :mod:`_lib.wide_figures`),
from what the run store has recorded so far (:mod:`replication.studies.wide`). A part that has not trained
yet is said to be waiting, in the chapter's own words, and shows nothing computed from it."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from IPython.display import Markdown
from myst_nb import glue

from replication.errors import ReplicationError
from replication.fit.vertex import DEFAULT_ESTIMATOR, VERTEX_ESTIMATORS, WINDOW
from replication.papers.chinchilla import ISOFLOP_BUDGETS
from replication.studies import chinchilla, wide, wide_lr, wide_paired
from replication.studies.chinchilla_approaches import refit_row
from replication.studies.chinchilla_design import DEFAULT as KJV
from replication.studies.chinchilla_design import num_params
from replication.studies.chinchilla_design import TRAIN_TOKENS as KJV_TRAIN_TOKENS
from replication.studies.chinchilla_runs import runs_table
from replication.studies.runs import open_store
from replication.studies.wide_design import BYTES_PER_TOKEN, KJV_LAW, TRAIN_TOKENS, WideStudy
from replication.verdict import box_markdown

from . import study as study_view
from .study_figures import PAPER_TOKENS_PER_PARAM
from .tables import sci, table

#: how the robustness table names each other estimator of a profile's minimum
ESTIMATOR_NAMES = {"all": "paper's parabola through every size",
                   "window": f"parabola through the {WINDOW} sizes nearest the lowest loss",
                   "spline": "minimum of a spline"}
#: SentencePiece vocabulary whose bytes per token convert bytes per parameter for the prose
VOCAB = 32000


@dataclass
class State:
    """What the store holds of the study, each part None until it can be computed."""

    study: WideStudy
    progress: pd.DataFrame
    sweep: pd.DataFrame
    rule: wide_lr.HorizonRule | None
    optima: pd.DataFrame | None
    warmup: pd.DataFrame
    runs: pd.DataFrame | None
    fit2: object | None
    counts: pd.DataFrame | None
    robust: pd.DataFrame | None
    fit3: object | None
    intervals1: dict | None
    predictions: list | None
    duel: pd.DataFrame
    batch: pd.DataFrame


def read(study: WideStudy, bootstrap: int, seed: int, store=None) -> State:
    """Everything the chapter shows, as far as the store has it."""
    s = open_store(store)
    sweep = wide_lr.sweep_table(study, s, recorded_only=True)
    try:
        rule = study.rule
    except ReplicationError:
        rule = None
    optima = wide_lr.cell_optima(sweep) if rule is not None else None
    try:
        runs = runs_table(study, s, recorded_only=True) if rule is not None else None
    except ReplicationError:
        runs = None
    fit2 = counts = robust = fit3 = intervals1 = predictions = None
    if runs is not None:
        try:
            fit2 = chinchilla.approach2(study, runs=runs, bootstrap=bootstrap, seed=seed)
        except ReplicationError:
            fit2 = None
        if fit2 is not None and int(fit2.table["interior"].sum()) >= 3:
            counts = chinchilla.accounting_table(study, bootstrap=bootstrap, seed=seed, runs=runs, headline=fit2)
            robust = robustness(study, runs, fit2, counts, bootstrap, seed)
            try:  # on a study still training, too few budgets for these is "not yet", not an error
                fit3 = chinchilla.approach3(study, runs=runs, bootstrap=min(bootstrap, 400), seed=seed,
                                            intervals=True)
                curves = chinchilla.curves_table(study, runs=runs)
                fit1 = chinchilla.approach1(study, bootstrap=min(bootstrap, 200), seed=seed, curves=curves)
                intervals1 = chinchilla.approach1_intervals(study, curves=curves, fit=fit1,
                                                            bootstrap=min(bootstrap, 200), seed=seed)
            except ReplicationError:
                fit3 = intervals1 = None
        try:
            predictions = wide.held_out_prediction(study, runs=runs, bootstrap=bootstrap, seed=seed)
        except ReplicationError:
            predictions = None
    duel = wide_paired.duel_table(study, s) if rule is not None else pd.DataFrame()
    batch = wide_paired.batch_table(study, s) if rule is not None else pd.DataFrame()
    return State(study, wide.progress(study, s), sweep, rule, optima, wide_paired.warmup_table(study, s), runs,
                 fit2, counts, robust, fit3, intervals1, predictions, duel, batch)


def robustness(study: WideStudy, runs: pd.DataFrame, fit2, counts: pd.DataFrame, bootstrap: int,
               seed: int) -> pd.DataFrame:
    """a and b (executed FLOPs) under each change of analysis (:func:`replication.studies.chinchilla.
    robustness_table`: each width left out, the sizes around each vertex, one seed, Approach 3's Huber δ),
    the other estimators of a profile's minimum, each budget left out, and the same analysis on our first
    study's runs (the King James Bible)."""
    widest = counts.set_index("count").loc["executed", "a widest"]
    out = chinchilla.robustness_table(study, bootstrap=bootstrap, seed=seed, runs=runs, headline=fit2,
                                      widest=widest)
    rows = [refit_row(study, f"vertices by the {ESTIMATOR_NAMES[e]}", runs, e)
            for e in VERTEX_ESTIMATORS if e != DEFAULT_ESTIMATOR]
    rows += [refit_row(study, f"without budget {sci(study.budgets[k])}", runs[runs["budget"] != k])
             for k in sorted(runs["budget"].unique())]
    first = "our first study, on the King James Bible"
    try:
        rows.append(refit_row(KJV, first, chinchilla.runs_table(KJV)))
    except ReplicationError as err:  # a store without the first study's runs
        rows.append({"analysis": first, "a": np.nan, "b": np.nan, "note": str(err)})
    extra = pd.DataFrame(rows)
    lo, hi = fit2.ci["a"]
    extra["inside"] = [bool(lo <= a <= hi) if np.isfinite(a) else None for a in extra["a"]]
    extra["inside widest"] = [bool(widest[0] <= a <= widest[1]) if np.isfinite(a) else None for a in extra["a"]]
    return pd.concat([out, extra], ignore_index=True)


# -- the verdict ---------------------------------------------------------------------------------------


def glue_verdict(st: State) -> None:
    vertices = 0 if st.fit2 is None else int(st.fit2.table["interior"].sum())
    found = wide.verdicts(st.study, counts=st.counts, vertices=vertices, predictions=st.predictions or [],
                          duel_runs=st.duel)
    glue("wd_verdict", Markdown(box_markdown(found)), display=False)


# -- numbers --------------------------------------------------------------------------------------------


def glue_numbers(st: State) -> dict:
    """Every number the prose quotes, glued under its name (and returned)."""
    s, p = st.study, st.progress.set_index("part")
    out = {"wd_budgets": len(s.budgets), "wd_c_lo": sci(s.budgets[0]), "wd_c_hi": sci(s.budgets[-1]),
           "wd_paper_tpp": PAPER_TOKENS_PER_PARAM,
           "wd_span": s.budgets[-1] / s.budgets[0], "wd_train_mb": TRAIN_TOKENS / 1e6,
           "wd_kjv_k": KJV_LAW[0], "wd_kjv_a": KJV_LAW[1], "wd_held_out": s.held_out,
           "wd_runs": int(p.loc["total", "runs"]), "wd_recorded": int(p.loc["total", "recorded"]),
           "wd_planned_min": float(p.loc["total", "planned core-minutes"]),
           "wd_recorded_min": float(p.loc["total", "recorded core-minutes"]),
           "wd_bpt": BYTES_PER_TOKEN[VOCAB], "wd_vocab": VOCAB,
           "wd_n_lo": s.n(s.widths[min(j for k in range(len(s.budgets)) for j in s.profile(k))]),
           "wd_n_hi": s.n(s.widths[max(j for k in range(len(s.budgets)) for j in s.profile(k))]),
           "wd_sweep_runs": len(st.sweep), "wd_sweep_widths": ", ".join(str(s.widths[j]) for j in s.sweep_rungs),
           "wd_h_lo": s.sweep_horizons[0], "wd_h_hi": s.sweep_horizons[-1],
           "wd_min_steps": s.min_steps, "wd_max_epochs": s.max_epochs, "wd_side": s.sizes_per_side,
           "wd_vertex_seeds": len(s.seeds) + len(s.vertex_seeds), "wd_rates": len(s.sweep_factors),
           "wd_rate_step": float(np.exp(np.mean(np.diff(np.log(sorted(s.sweep_factors)))))),
           "wd_duel_ratio": s.duel_ratio, "wd_duel_seeds": len(s.duel_seeds),
           "wd_corpus_x": TRAIN_TOKENS / KJV_TRAIN_TOKENS,
           "wd_kjv_span": KJV.budgets[-1] / KJV.budgets[0], "wd_context": s.num_latents,
           "wd_paper_span": max(ISOFLOP_BUDGETS) / min(ISOFLOP_BUDGETS),
           "wd_sweep_n_hi": s.n(s.widths[max(s.sweep_rungs)])}
    tpp = kjv_horizons()
    out |= {"wd_kjv_tpp_lo": min(tpp), "wd_kjv_tpp_hi": max(tpp)}
    for k, v in out.items():
        glue(k, v, display=False)
    glue("wd_rule_md", Markdown(rule_markdown(st)), display=False)
    glue("wd_warmup_md", Markdown(warmup_markdown(st)), display=False)
    glue("wd_profiles_md", Markdown(profiles_markdown(st)), display=False)
    glue("wd_prediction_md", Markdown(prediction_markdown(st)), display=False)
    glue("wd_duel_md", Markdown(duel_markdown(st)), display=False)
    glue("wd_batch_md", Markdown(batch_markdown(st)), display=False)
    return out


def kjv_horizons() -> list[float]:
    """Bytes per parameter of every IsoFLOP run of the King James study, from its design (as its runs trained)."""
    out = []
    for k, j, _ in KJV.isoflop_points():
        m, per_step = KJV.model(j), KJV.batch_size * KJV.num_latents
        steps = math.ceil(KJV.budgets[k] / m.shape().self_attn_flops("executed") / per_step)
        out.append(steps * per_step / num_params(m))
    return out


def rule_markdown(st: State) -> str:
    """What the sweep has found: the fitted rule and its cells, or how far it has come."""
    first = len(st.study.sweep_points())
    done = int((st.sweep["seed"] == 0).sum()) if len(st.sweep) else 0
    if st.rule is None:
        return (f"The sweep is training: {done} of its {first} first-seed runs are recorded, and the rule waits "
                "on all of them (and on the second seeds at each cell's best rate and its neighbours).")
    r, opt = st.rule, st.optima
    inside = int(np.isfinite(opt["lr*"]).sum())
    return (f"Fitted to the {inside} bracketed optima of the {len(opt)} cells, the rule is "
            f"lr\\*(N, D/N) = {r.lr_ref:.3g} (N / 10⁵)^−{r.n_exponent:.3g} ((D/N) / 32)^−{r.tpp_exponent:.3g}: "
            + ("a longer horizon wants a lower rate" if r.tpp_exponent > 0 else
               "a longer horizon wants a higher rate, not a lower one")
            + f", and a model four times as large a rate {4 ** -r.n_exponent:.2f} times as high. Every later run "
              "trains at the rule's rate for its size and horizon.")


def warmup_markdown(st: State) -> str:
    t = st.warmup
    if t.empty:
        return "**Warmup.** The warmup pilot has not trained yet."
    tests = {w: test for w, test in wide_paired.warmup_tests(t).items() if test.seeds}
    parts = [f"warmup over {_tokens(w)}: {test}" for w, test in tests.items()]
    used = st.study.warmup_tokens_per_param
    text = (f"**Warmup.** Recorded so far: {len(t)} of the pilot's {len(st.study.warmup_points())} runs (d = "
            f"{st.study.widths[st.study.warmup_rung]}, {st.study.sweep_horizons[-1]:g} bytes per parameter). ")
    text += ("Against no warmup, paired by seed: " + "; ".join(parts) + ". " if parts else
             "No warmup has a run without warmup of the same seed to be compared with yet. ")
    return text + "The study trains " + ("without warmup." if used == 0 else f"with warmup over {_tokens(used)}.")


def _tokens(w: float) -> str:
    """A warmup of ``w`` tokens per parameter, as the chapter writes it: "N tokens", "10N tokens"."""
    return "N tokens" if w == 1 else f"{w:g}N tokens"


def _percent(x: float, digits: int = 0) -> str:
    if not math.isfinite(x):
        return "—"
    return f"{x:+.{digits}%}".replace("-", "\u2212")


def profiles_markdown(st: State) -> str:
    if st.runs is None:
        return "No IsoFLOP run is recorded yet: they train once the learning-rate rule is fitted."
    t = st.runs
    per = t.groupby("budget").size()
    full = {k: len([p for p in st.study.isoflop_points() if p[0] == k]) for k in per.index}
    done = [f"{sci(st.study.budgets[k])} ({n} of {full[k]})" for k, n in per.items()]
    text = f"Recorded so far, runs per budget: {', '.join(done)}."
    if st.fit2 is not None:
        tab = st.fit2.table
        text += (f" {int(tab['interior'].sum())} of these {len(tab)} budgets have an interior minimum (a vertex "
                 "with trained sizes on both sides).")
    if st.counts is None:
        text += " The exponents need three vertices and wait on more budgets."
    return text


def prediction_markdown(st: State) -> str:
    held = ", ".join(sci(st.study.budgets[k]) for k in st.study.held_out_budgets)
    if not st.predictions:
        return (f"The held-out budgets ({held} FLOPs) have not trained yet: the prediction is made, and judged, "
                "when they have.")
    lines = []
    for p in st.predictions:
        if not math.isfinite(p.measured_n_star):
            lines.append(f"At {sci(p.budget)} FLOPs the held-in fits predict N\\* = {p.n_star:,.0f} "
                         f"({p.n_star_interval[0]:,.0f} to {p.n_star_interval[1]:,.0f}) and the minimum loss "
                         f"{p.loss_star:.4f} ({p.loss_star_interval[0]:.4f} to {p.loss_star_interval[1]:.4f}); the "
                         "budget has no vertex yet, so the prediction waits on more of its runs.")
            continue
        lines.append(f"At {sci(p.budget)} FLOPs the held-in fits predict N\\* = {p.n_star:,.0f} ({p.n_star_interval[0]:,.0f} "
                     f"to {p.n_star_interval[1]:,.0f}) and measure {p.measured_n_star:,.0f}, "
                     f"{_percent(p.n_star_error, 1)} off, {'inside' if p.n_star_inside else 'outside'} the interval; "
                     f"the minimum loss {p.loss_star:.4f} ({p.loss_star_interval[0]:.4f} to "
                     f"{p.loss_star_interval[1]:.4f}) against {p.measured_loss_star:.4f} measured, "
                     f"{_percent(p.loss_star_error, 1)} off, {'inside' if p.loss_star_inside else 'outside'}.")
    measured = [p for p in st.predictions if math.isfinite(p.measured_n_star)]
    if len(measured) == len(st.predictions) == st.study.held_out:
        top = measured[-1]
        inside = all(p.inside_jointly for p in measured)
        lines.append(f"The verdict judges the {2 * len(measured)} numbers together, each against its "
                     f"{top.joint_level:.1%} interval (Bonferroni), so that all fall inside with "
                     f"{wide.LEVEL:.0%} probability where the law holds: they "
                     f"{'all fall inside' if inside else 'do not all fall inside'} (at {sci(top.budget)} FLOPs, "
                     f"N\\* {top.n_star_joint[0]:,.0f} to {top.n_star_joint[1]:,.0f} and the least loss "
                     f"{top.loss_star_joint[0]:.4f} to {top.loss_star_joint[1]:.4f}).")
    return " ".join(lines)


def batch_markdown(st: State) -> str:
    s = st.study
    head = (f"**Batch size.** The study trains {s.batch_size} sequences of {s.num_latents} bytes a step. At "
            f"{sci(s.budgets[s.batch_budget])} FLOPs the two widths beside the expected vertex trained again with "
            f"{s.batch_alternative} (the same budget and rate, half the steps)")
    if st.batch.empty:
        return f"{head}: none of those runs is recorded yet."
    tests = wide_paired.batch_tests(st.batch, s)
    parts = "; ".join(f"d = {w}: {t}" for w, t in tests.items())
    return f"{head}. Batch {s.batch_alternative} minus batch {s.batch_size}, paired by seed: {parts}."


def duel_markdown(st: State) -> str:
    s = st.study
    if s.duel_n_opt is None:
        return ("Chinchilla against Gopher trains last, at the N_opt the held-in budgets predict for the top "
                "budget once all their runs are recorded; none of its runs is recorded yet.")
    models = ", ".join(f"{name} d = {w} ({s.n(w):,.0f} parameters)" for name, w in s.duel_widths().items())
    where = (f"The held-in budgets predict N_opt = {s.duel_n_opt:,.0f} at {sci(s.budgets[-1])} FLOPs; the models "
             f"are the {models}.")
    if st.duel.empty:
        return f"{where} None of their runs is recorded yet."
    tests, v = wide_paired.duel(st.duel)
    parts = [f"the {name} model: {t}" for name, t in tests.items()]
    own = wide_paired.n_opt_loss(st.duel, wide.top_prediction(s, st.predictions), wide.LEVEL)
    spread = ("one run" if own is None or own["seeds"] < 2 else
              f"from {own['least']:.3f} to {own['greatest']:.3f}, {wide.LEVEL:.0%} t interval of the mean "
              f"{own['interval'][0]:.3f} to {own['interval'][1]:.3f}")
    its = "" if own is None else (
        f" The predicted N_opt's loss averages {own['mean']:.3f} over its {own['seeds']} "
        f"seed{'s' if own['seeds'] > 1 else ''} ({spread}); the mean lies {own['where']} "
        f"the {wide.LEVEL:.0%} interval of the least loss the held-in fits predict for this budget, "
        f"{own['predicted']:.3f} ({own['predicted interval'][0]:.3f} to {own['predicted interval'][1]:.3f}). The "
        "prediction is the least loss over sizes, so a model off the budget's vertex would lie above it even "
        "where the law is right.")
    return (f"{where} Recorded: {len(st.duel)} of {len(s.duel_points())} runs. Against the predicted N_opt, "
            f"paired by seed, {'; '.join(parts)}. Outcome: *{v.label}*.{its}")


# -- tables ---------------------------------------------------------------------------------------------


def design_table(study: WideStudy):
    """The budgets: the vertex the King James law expects, the widths trained, tokens per parameter there."""
    rows = []
    for k, c in enumerate(study.budgets):
        v = study.widths[study.nearest_rung(study.expected_n(c))]
        tpp = study.tokens(v, c) / study.n(v)
        rows.append({"C": c, "N": study.expected_n(c), "d": v, "widths": ", ".join(str(study.widths[j])
                                                                              for j in study.profile(k)),
                     "bpp": tpp, "tpp": tpp / BYTES_PER_TOKEN[VOCAB],
                     "epochs": max(study.epochs(study.widths[j], c) for j in study.profile(k)),
                     "role": "held out" if k in study.held_out_budgets else "fitted"})
    return table(pd.DataFrame(rows), index="C",
                 headers={"C": "budget C (executed FLOPs)", "N": "N* the King James law expects",
                          "d": "width there", "widths": "widths trained", "bpp": "bytes per parameter there",
                          "tpp": f"SentencePiece tokens per parameter (V = {VOCAB:,})",
                          "epochs": "most epochs of a run", "role": "in the fits"},
                 formats={"C": "sci", "N": "sig3", "d": "int", "bpp": "f0", "tpp": "f1", "epochs": "f2"},
                 caption="The wide study's budgets and the sizes trained on each")


def vertex_table(st: State):
    """Each budget's vertex with its 80% interval, bytes and SentencePiece tokens per parameter there (None
    until a budget has runs)."""
    return None if st.fit2 is None else study_view.vertex_table(st.fit2, BYTES_PER_TOKEN[VOCAB])


def accounting_table(st: State):
    """The exponents under every count (None until three budgets have a vertex)."""
    return None if st.counts is None else study_view.accounting_table(st.counts)


def intervals_table(st: State):
    """Every exponent with all its intervals (None until three budgets have a vertex)."""
    return None if st.counts is None else study_view.intervals_table(st.counts)


def robustness_table(st: State):
    """a and b under each change of analysis (None until three budgets have a vertex)."""
    return None if st.robust is None else study_view.robustness_table(st.robust)


def approach3_table(st: State):
    """Approach 3's constants and the exponents they imply (None until three budgets have a vertex)."""
    return None if st.fit3 is None else study_view.approach3_table(st.fit3)


def approaches_table(st: State):
    """a and b of Approaches 1 and 3 with every interval, against Table 2 (None until three budgets have a
    vertex)."""
    return None if st.fit3 is None else study_view.approach_intervals_table(st.fit3, st.intervals1)


def progress_table(st: State):
    return table(st.progress, index="part",
                 headers={"part": "part", "runs": "runs", "recorded": "recorded",
                          "planned core-minutes": "core-minutes planned",
                          "recorded core-minutes": "core-minutes recorded"},
                 formats={"runs": "int", "recorded": "int", "planned core-minutes": "f0",
                          "recorded core-minutes": "f0"},
                 caption="What has trained: each part's runs and core-minutes, planned and recorded")


def prediction_table(st: State):
    """The held-out prediction against what the held-out budgets measure (None until they have runs)."""
    if not st.predictions:
        return None
    t = wide.prediction_table(st.predictions)
    t["N* interval"] = [f"{lo:,.0f} to {hi:,.0f}" for lo, hi in zip(t["N* low"], t["N* high"])]
    t["L* interval"] = [f"{lo:.4f} to {hi:.4f}" for lo, hi in zip(t["L* low"], t["L* high"])]
    return table(t, index="C", columns=["C", "N* predicted", "N* interval", "N* measured", "N* error",
                                        "L* predicted", "L* interval", "L* measured", "L* error"],
                 headers={"C": "held-out budget C", "N* predicted": "N* predicted",
                          "N* interval": "80% prediction interval", "N* measured": "N* measured",
                          "N* error": "error", "L* predicted": "least loss predicted",
                          "L* interval": "80% prediction interval", "L* measured": "least loss measured",
                          "L* error": "error"},
                 formats={"C": "sci", "N* predicted": "int", "N* measured": "int", "L* predicted": "f4",
                          "L* measured": "f4", "N* error": lambda x: _percent(x, 1), "L* error": lambda x: _percent(x, 1)},
                 caption="The held-out prediction: what the fits on the lower budgets predict at the top two (C in "
                         "executed FLOPs, losses in nats per byte)")
