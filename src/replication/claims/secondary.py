"""The claims of three secondary write-ups of the Chinchilla paper: a published summary of the paper, a course
assignment's answer and reading notes on the paper.

Where the points read off Chinchilla's Figure 4 or our own runs decide a claim, it is checked against them
(replicated from data); otherwise against the paper's printed numbers (arithmetic), or, where a write-up
only quotes the paper, against the quoted number (restated).
"""
from __future__ import annotations

import math

import numpy as np

from functools import partial

from replication.claims.chinchilla import FIGURE4, NEEDS_PAPER_RUNS, from_figure4, in_interval, other_rows_law
from replication.claims.computed import d_opt_at, eq10_loss, figure4, growth, law, n_opt_at, recipe_verdicts
from replication.claims.ledger import ARITHMETIC, DATA, RESTATED, Claim
from replication.claims.rules import Interval, Predicate, Printed, Range, FromTests, Within
from replication.counting import Decoder
from replication.papers import chinchilla as paper
from replication.studies import wide_paired
from replication.studies.wide_design import DEFAULT as WIDE

_NEEDS_MODELS = "needs the trained models themselves (an evaluation, not a computation)"
_STUDY = ("our CPU-scale Chinchilla study: the paired difference over 4 seeds (the other recipe minus the paper's), "
          "a paired t test at 95%")

_R = WIDE.duel_ratio
_DUEL = (f"our CPU-scale study at its top budget: the model ~{_R:g}× larger on ~{_R:g}× fewer tokens against the "
         "N_opt the smaller budgets predict, paired by seed, a paired t test at 95%")

_arith = partial(Claim, kind=ARITHMETIC)
_cpu_claim = partial(Claim, kind=DATA, at_cpu_scale=True, note=_STUDY)


def data_exponents() -> dict[str, float]:
    """a and b of Approaches 2 and 3 refitted to the points read off Figure 4."""
    f = figure4()
    return {f"A{k} {n}": float(f[f"approach{k}_{n}"]) for k in (2, 3) for n in "ab"}


def replicated_approaches() -> dict[str, str]:
    """Whether Approaches 2 and 3 replicate on the Figure 4 points: Table 2's Approach-2 a and b inside the
    95% intervals of the IsoFLOP refit, eq. 10's five constants inside those of the Huber refit."""
    f = figure4()
    inside2 = all(lo <= paper.TABLE_2["approach2"][n] <= hi for n in "ab" for lo, hi in [f[f"approach2_{n}_ci95"]])
    return {"Approach 2": "agrees" if inside2 else "disagrees",
            "Approach 3": "agrees" if f["paper_replicates"] else "disagrees"}


def recipe(claim: str) -> dict:
    """Our study's paired comparison behind one of the paper's recipe claims ("cosine", "decay" or
    "AdamW"): its test, and its verdict on the paper's claim (``outcome``)."""
    v = recipe_verdicts()
    name = {"cosine": "cycle 1.5×", "decay": "decay to 0", "AdamW": "AdamW (wd 0.1)"}[claim]
    r = v[v["recipe"] == name].iloc[0]
    return {f"{name} − baseline": r["test"], "outcome": r["verdict"]}


def _training_flops(model: str, tokens: float) -> dict[str, float]:
    """Training FLOPs of a Table 4 model ("Gopher" or "Chinchilla") on ``tokens`` tokens: 6ND, and
    Appendix F as written. Decoder's parameter count gives 279.7B and 70.1B for these shapes."""
    shape = paper.TABLE_4[model]
    m = Decoder(num_layers=shape["n_layers"], d_model=shape["d_model"], ffw_size=4 * shape["d_model"],
                num_heads=shape["n_heads"], kv_size=shape["kv_size"])
    return {"6ND": 6 * m.num_params * tokens, "Appendix F": m.flops("appendix_f") * tokens / m.seq_len}


def summary_claims() -> list[Claim]:
    """A summary of the Chinchilla paper."""
    return [
        Claim("summary.half", "summary", "N_opt ∝ C^~0.5, D_opt ∝ C^~0.5", 0.5, Within(abs=0.05, fmt=".3f"),
              "glance",
              data_exponents, kind=DATA,
              note=f"Approaches 2 and 3 on {FIGURE4}; Approach 1 needs loss curves the figure does not give"),
        _arith("summary.kaplan.N", "summary", "increase 5.4x on N ... while C is increased on 10x", 5.4, Printed(".1f"),
               "glance", lambda: 10 ** paper.TABLE_2["kaplan"]["a"], note="10^0.73"),
        _arith("summary.kaplan.D", "summary", "and 1.8x on D", 1.8, Printed(".1f", truncate=True), "glance",
               lambda: 10 ** paper.TABLE_2["kaplan"]["b"],
               note="10^0.27 with Kaplan's b = 0.27; 1.8 matches only cut to one decimal (or 10/5.5 = 1.82)"),
        Claim("summary.regime", "summary", "Kaplan ~1.5B, Hoffmann ~23B [data size]", "as stated", Printed(), "glance",
              note=f"describes the two papers' training setups: {NEEDS_PAPER_RUNS}"),
        Claim("summary.embedding", "summary", "not counting embeddings skews Kaplan's exponent (Pearce & Song, 2024)",
              "as stated", Printed(), "glance", note="needs Kaplan's runs re-fitted; a claim of a third paper"),
        Claim("summary.cosine", "summary", "Overestimating the number of training steps with the cosine cycle length "
              "leads to performance drops", "as stated", Printed(), "study", note=NEEDS_PAPER_RUNS),
        _cpu_claim("summary.cosine.cpu", "summary", "Overestimating the number of training steps with the cosine cycle "
                   "length leads to performance drops", "longer cycles worse",
                   FromTests(reading="a cycle 1.5× the run ends significantly higher"), "study",
                   lambda: recipe("cosine")),
        Claim("summary.decay10", "summary", "decaying by 10x slightly better than to 0.0; 5x clearly worse",
              "as stated",
              Printed(), "study", note=NEEDS_PAPER_RUNS),
        _cpu_claim("summary.decay10.cpu", "summary", "decaying by 10x slightly better than to 0.0; 5x clearly worse",
                   "10× decay best", FromTests(reading="decaying to 0 ends significantly higher"), "study",
                   lambda: recipe("decay")),
        Claim("summary.adamw", "summary", "AdamW slightly outperforms Adam", "as stated", Printed(), "study",
              note=NEEDS_PAPER_RUNS),
        _cpu_claim("summary.adamw.cpu", "summary", "AdamW slightly outperforms Adam", "AdamW better",
                   FromTests(reading="AdamW ends significantly lower than Adam"), "study",
                   lambda: recipe("AdamW")),
        Claim("summary.300b", "summary", "GPT-3 175B, Gopher 280B, MT-NLG 530B ... ~300B tokens", "as stated",
              Printed(),
              "glance", note="facts about other models' training, reported in their papers"),
    ]


def assignment_claims() -> list[Claim]:
    """A course assignment's answer: exponents, Gopher's budget, the trillion-parameter row, MMLU."""
    gopher, chinchilla = paper.GOPHER, paper.CHINCHILLA

    def parity():
        g = _training_flops("Gopher", gopher["D"])
        c = _training_flops("Chinchilla", chinchilla["D"])
        return {k: c[k] / g[k] for k in g}

    t3 = paper.TABLE_3
    i1t = int(np.flatnonzero(t3["N"].to_numpy() == 1e12)[0])
    return [
        Claim("assignment.a2", "assignment", "Approach 2: a = 0.49", 0.49,
              in_interval(0.49, what="the widest 95% interval"), "approach2",
              from_figure4("approach2_a", "approach2_a_widest95"), kind=DATA,
              note=f"IsoFLOP profiles through {FIGURE4}; Table 2's a again", same_test_as="T2.A2.a.data"),
        Claim("assignment.b2", "assignment", "b = 0.51", 0.51, in_interval(0.51, what="the widest 95% interval"),
              "approach2", from_figure4("approach2_b", "approach2_b_widest95"), kind=DATA,
              note=f"IsoFLOP profiles through {FIGURE4}; Table 2's b again (b = 1 − a)", same_test_as="T2.A2.a.data"),
        Claim("assignment.kaplan", "assignment", "a_Kaplan = 0.73, b_Kaplan = 0.27", "as stated", Printed(), "glance",
              note="Kaplan's own fit to his own runs"),
        Claim("assignment.equal", "assignment", "both quantities should scale almost equally", "a ≈ b",
              Predicate(fmt=".3f", reading="|b - a| at most 0.1 for Approaches 2 and 3",
                        test=lambda v: all(abs(x) <= 0.1 for x in v.values())), "glance",
              lambda: {f"A{k}": (e := data_exponents())[f"A{k} b"] - e[f"A{k} a"] for k in (2, 3)}, kind=DATA,
              note=f"b - a on {FIGURE4}"),
        _arith("assignment.gopher_budget", "assignment", "5.76e23 FLOPs (Gopher's budget)", paper.GOPHER_FLOPS,
               Printed(".2e"), "flops",
               lambda: _training_flops("Gopher", gopher["D"]),
               note="Gopher: 280B parameters, 300B tokens. Chinchilla's 6ND is 5.88e23, within 2% of 5.76e23"),
        _arith("assignment.n_range", "assignment", "the optimal model size ... between 40 and 70 billion parameters",
               (40e9, 70e9),
               Range(fmt=".1f", scale=1e9, unit="B"), "approach3", lambda: n_opt_at(paper.GOPHER_FLOPS),
               note="N_opt at 5.76e23 FLOPs: Krasser's laws for A1 and A2, eq. 10 (unrounded) for A3"),
        _arith("assignment.tokens", "assignment", "Training tokens: 1.4T tokens", 1.4e12,
                Printed(".1f", scale=1e12, unit="T"), "approach1",
                lambda: Interval.printed(paper.GOPHER_FLOPS, ".2e") / (6 * paper.CHINCHILLA["N"]),
                note="a design choice of the paper, not an output of its fits: 70B (the top of the 40-70B range) "
                     "on the tokens Gopher's budget then leaves, C/(6N); Table 3 prints 1.5T at this budget"),
        _arith("assignment.undertrained", "assignment",
               "Gopher was significantly over-parameterized while being undertrained",
               "as stated", Predicate(fmt=".2f", reading="Gopher's N above and D below the optimum, every approach",
                                      test=lambda v: all(x > 1 for k, x in v.items() if k.startswith("N")) and all(
                                          x < 1 for k, x in v.items() if k.startswith("D"))),
               "approach1", lambda: {f"N/N_opt {k}": gopher["N"] / v for k, v in n_opt_at(paper.GOPHER_FLOPS).items()}
               | {f"D/D_opt {k}": gopher["D"] / v for k, v in d_opt_at(paper.GOPHER_FLOPS).items()}),
        _arith("assignment.parity", "assignment", "Compute_Chinchilla = Compute_Gopher", 1.0,
               Within(rel=0.05, fmt=".3f"), "flops", parity,
               note="Chinchilla / Gopher training FLOPs: 70B on 1.4T tokens against 280B on 300B"),
        _arith("assignment.4x", "assignment", "4× smaller parameter count", 4.0, Printed(".1f"), "glance",
               lambda: gopher["N"] / chinchilla["N"]),
        Claim("assignment.mmlu_c", "assignment", "Chinchilla accuracy = 67.6%", 67.6, Printed(".1f", unit="%"),
              "claims",
              note=_NEEDS_MODELS),
        Claim("assignment.mmlu_g", "assignment", "Gopher accuracy = 60.0%", 60.0, Printed(".1f", unit="%"), "claims",
              note=_NEEDS_MODELS),
        Claim("assignment.mmlu_h", "assignment", "Human expert performance = 89.8%", 89.8, Printed(".1f", unit="%"),
              "claims",
              note="a human baseline from the MMLU paper, not something code computes"),
        _arith("assignment.mmlu_gain", "assignment", "7.6 percentage point improvement over Gopher", 7.6,
               Printed(".1f"), "claims",
               lambda: 67.6 - 60.0, note="arithmetic on the two quoted accuracies only"),
        Claim("assignment.gt90", "assignment", "Greater than 90 / First model to achieve >90", "garbled", Printed(),
              "claims",
              note="garbled: as written it contradicts the 67.6% above; nothing here can check it"),
        _arith("assignment.1t.C", "assignment", "Compute budget = 1.27e26 FLOPs [1T parameters]", 1.27e26,
               Printed(".2e"),
               "approach1", lambda: 6 * 1e12 * Interval.printed(21.2e12, ".1f", 1e12),
               note="6·N·D with Table 3's 21.2T tokens"),
        _arith("assignment.1t.gopher", "assignment", "= 221.3× Gopher compute", 221.3, Printed(".1f"), "approach1",
               lambda: Interval.printed(1.27e26, ".2e") / Interval.printed(paper.GOPHER_FLOPS, ".2e"),
               note="1.27e26 / 5.76e23, both as printed"),
        _arith("assignment.1t.D", "assignment", "Training tokens = 21.2 trillion", 21.2e12,
               Within(rel=0.01, fmt=".1f", scale=1e12, unit="T"), "approach1",
               lambda: other_rows_law(t3["N"], t3["D"], i1t), note="the law D(N) through Table 3's other rows"),
        _arith("assignment.1e26", "assignment", "a compute budget of 10^26 FLOPs", 26, Printed(".0f"), "approach1",
               lambda: math.log10((1e12 / law(1).k_N) ** (1 / law(1).a)),
               note="log10 of the budget at which Approach 1 makes 1T parameters optimal"),
        _arith("assignment.250x", "assignment", "(over 250× the compute used to train Gopher)", 250.0,
               Predicate(fmt=".1f", reading="10^26 / 5.76e23 above 250", test=lambda v: v > 250), "approach1",
               lambda: 1e26 / paper.GOPHER_FLOPS,
               note="10^26 is 174× Gopher's budget; even Table 3's 1.27e26 is only 221×"),
    ]


def notes_claims() -> list[Claim]:
    """Reading notes on the paper, with the constants of eq. 10."""
    gopher, chinchilla = paper.GOPHER, paper.CHINCHILLA

    def losses(A, B):
        p = dict(paper.EQ10, A=A, B=B)
        return {"L(Gopher)": eq10_loss(p, **gopher), "L(Chinchilla)": eq10_loss(p, **chinchilla)}

    def floor_vs_chinchilla(params):
        floor = params["E"] + params["B"] / gopher["D"] ** params["beta"]
        return {"best loss with 300B tokens": floor, "L(Chinchilla)": eq10_loss(params, **chinchilla)}

    return [
        _arith("notes.kaplan.N", "notes", "if 10x compute budget, then 5.5x the number of parameters", 5.5,
               Printed(".1f"), "glance", lambda: 10 ** paper.TABLE_2["kaplan"]["a"],
               note="10^0.73 = 5.37; 5.5 needs a ≥ 0.736. The Chinchilla paper's introduction also writes 5.5×"),
        _arith("notes.kaplan.D", "notes", "and 1.8x the number of training tokens", 1.8, Printed(".1f", truncate=True),
               "glance", lambda: 10 ** paper.TABLE_2["kaplan"]["b"],
               note="10^0.27 with Kaplan's b = 0.27; 1.8 matches only cut to one decimal (or 10/5.5 = 1.82)"),
        Claim("notes.sizes", "notes", "Kaplan ... models up to 1B ... Chinchilla ... up to 16B", "as stated",
              Printed(), "glance", note=f"describes the papers' training runs: {NEEDS_PAPER_RUNS}"),
        _arith("notes.4x_smaller", "notes", "the compute-optimal [Gopher] should be 4 times smaller", 4.0,
               Printed(".0f"), "glance", lambda: gopher["N"] / chinchilla["N"]),
        _arith("notes.4x_data", "notes", "trained on 4 times more data", 4.0, Printed(".0f"), "glance",
               lambda: chinchilla["D"] / gopher["D"],
               note="1.4T / 300B = 4.67; equal 6ND compute with 4× fewer parameters would be 4× the tokens "
                    "(1.2T)"),
        _arith("notes.smaller_longer", "notes", "all three predict that current models should be smaller and trained "
               "longer", "as stated",
               Predicate(fmt=".0f", scale=1e9, unit="B", reading="at Gopher's budget every approach puts N_opt "
                         "below 280B and D_opt above 300B",
                         test=lambda v: all(x < 280e9 for k, x in v.items() if k.startswith("N")) and all(
                             x > 300e9 for k, x in v.items() if k.startswith("D"))),
               "approach1", lambda: {f"N_opt {k}": v for k, v in n_opt_at(paper.GOPHER_FLOPS).items()}
               | {f"D_opt {k}": v for k, v in d_opt_at(paper.GOPHER_FLOPS).items()}),
        Claim("notes.nine", "notes", "a fixed set of 9 different training FLOP counts", 9, Printed(".0f"), "approach2",
              note=f"describes the paper's IsoFLOP runs: {NEEDS_PAPER_RUNS}"),
        Claim("notes.lr", "notes", "setting the learning rate schedule to approximately match the number of training "
              "tokens results in the best loss", "as stated", Printed(), "study", note=NEEDS_PAPER_RUNS),
        _cpu_claim("notes.lr.cpu", "notes", "setting the learning rate schedule to approximately match the number of "
                   "training tokens results in the best loss", "matched cycle best",
                   FromTests(reading="a cycle 1.5× the run ends significantly higher than the matched one"), "study",
                   lambda: recipe("cosine"), same_test_as="summary.cosine.cpu"),
        Claim("notes.400", "notes", "over 400 language models ranging from 70 million to over 16 billion parameters "
              "on 5 to 500 billion tokens", "as stated", Printed(), "approach3", note=NEEDS_PAPER_RUNS),
        Claim("notes.doubling", "notes", "for every doubling of model size the number of training tokens should also "
              "be doubled", 2.0, Predicate(fmt=".2f", reading="2^(b/a) rounds to 2",
                                           test=lambda v: all(round(x) == 2 for x in v.values())), "glance",
              lambda: {f"A{k}": 2 ** ((e := data_exponents())[f"A{k} b"] / e[f"A{k} a"]) for k in (2, 3)}, kind=DATA,
              note=f"2^(b/a), the growth of tokens per doubling of N_opt, with a and b from {FIGURE4}"),
        Claim("notes.outperforms", "notes", "Chinchilla ... outperforms Gopher, GPT-3, and others", "as stated",
              Printed(), "claims", note=_NEEDS_MODELS),
        _cpu_claim("notes.outperforms.cpu", "notes", "Chinchilla ... outperforms Gopher", "N_opt lower",
                   FromTests(reading=f"the model ~{_R:g}× larger on ~{_R:g}× fewer tokens ends significantly higher"),
                   "wide",
                   lambda: wide_paired.against_gopher(), note=_DUEL),
        Claim("notes.mmlu", "notes", "Chinchilla reaches ... 67.5% on the MMLU benchmark", 67.5,
              Printed(".1f", unit="%"), "claims",
              note=_NEEDS_MODELS + "; the course assignment's answer quotes 67.6%"),
        _arith("notes.mmlu_gain", "notes", "greater than a 7% improvement over Gopher", "above 7 points",
               Predicate(fmt=".1f", reading="67.5 - 60.0 above 7", test=lambda v: v > 7), "claims",
               lambda: 67.5 - 60.0,
               note="arithmetic on the quoted accuracies (Gopher's 60.0% from the course assignment's answer)"),
        _arith("notes.gpt4.N", "notes", "per doubling of compute, model size by 2^(1/3) (approximately 1.26)",
               2 ** (1 / 3), Printed(".2f"), "glance", lambda: growth(2.0, "a"),
               note="2^a with Table 2's a: about 1.4; 2^(1/3) would need a = 1/3"),
        _arith("notes.gpt4.D", "notes", "and the dataset size by 4^(1/3) (approximately 1.59)", 4 ** (1 / 3),
               Printed(".2f"), "glance", lambda: growth(2.0, "b"),
               note="2^b with Table 2's b: about 1.4-1.5; 4^(1/3) would need b = 2/3"),
        _arith("notes.gpt4.ratio", "notes",
               "a ratio of tokens to parameters that should increase as the compute budget "
               "grows", 4 ** (1 / 3) / 2 ** (1 / 3), Printed(".2f"), "glance",
               lambda: {k: growth(2.0, "b")[k] / growth(2.0, "a")[k] for k in ("A1", "A2", "A3")},
               note="per doubling: 2^(b-a), flat for Approach 1 and up by 1-6% for Approaches 2 and 3, "
                    "not the 1.26 that 4^(1/3)/2^(1/3) implies"),
        *(Claim(f"notes.{k}", "notes", f"{label} = {printed}", value, in_interval(value), "approach3",
                from_figure4("huber", "huber_ci95", k), kind=DATA, same_test_as=f"eq10.{k}",
                note=f"the paper's method (Huber, δ = 10⁻³) on {FIGURE4}; the notes quote eq. 10 faithfully")
          for k, label, printed, value in (("E", "E", "1.69", 1.69), ("alpha", "Alpha", ".34", 0.34),
                                           ("beta", "Beta", ".28", 0.28))),
        Claim("notes.AB", "notes", "A and B are both = 400", 400.0, Printed(".0f"), "approach3",
              lambda: {"A": paper.EQ10["A"], "B": paper.EQ10["B"]}, kind=RESTATED,
              note="eq. 10 prints A = 406.4 and B = 410.7: 400 only to one significant figure, and A ≠ B"),
        Claim("notes.one_failed", "notes", "it's one of the three Chinchilla techniques that didn't replicate",
              "one of three", Predicate(reading="on the Figure 4 points Table 2's Approach-2 exponents agree and "
                                        "eq. 10 (Approach 3) does not; Approach 1 cannot be checked there",
                                        test=lambda v: v["Approach 2"] == "agrees" and v["Approach 3"] != "agrees"),
              "approach3", replicated_approaches, kind=DATA,
              note=f"each printed value against the 95% interval of its refit to {FIGURE4}; Approach 1 needs loss "
                   "curves the figure does not give"),
        _arith("notes.L_with_400", "notes", "[with A = B = 400] L(Gopher) = 1.993, L(Chinchilla) = 1.936",
               "1.993 and 1.936",
               Predicate(fmt=".3f", reading="the note's constants give its losses to 3 decimals",
                         test=lambda v: f"{v['L(Gopher)']:.3f}" == "1.993" and f"{v['L(Chinchilla)']:.3f}" == "1.936"),
               "approach3", lambda: losses(400.0, 400.0),
               note="with the paper's A and B the losses come out (see eq. 10 above)"),
        _arith("notes.L_gopher", "notes", "L(Gopher) = 1.993", 1.993, Printed(".3f", truncate=True), "approach3",
               lambda: eq10_loss(paper.EQ10, **gopher), note="eq. 10 as printed, at N = 280B, D = 300B"),
        _arith("notes.L_chinchilla", "notes", "L(Chinchilla) = 1.936", 1.936, Printed(".3f", truncate=True),
               "approach3",
               lambda: eq10_loss(paper.EQ10, **chinchilla),
               note="eq. 10 as printed, at N = 70B, D = 1.4T"),
        _arith("notes.L_unrounded", "notes", "L(Gopher) = 1.993, L(Chinchilla) = 1.936 [from the fitted constants]",
               "1.993 and 1.936",
               Predicate(fmt=".3f", reading="the unrounded fit gives the same losses to 3 decimals",
                         test=lambda v: f"{v['L(Gopher)']:.3f}" == "1.993" and f"{v['L(Chinchilla)']:.3f}" == "1.936"),
               "approach3", lambda: {"L(Gopher)": eq10_loss(paper.EQ10_UNROUNDED, **gopher),
                                     "L(Chinchilla)": eq10_loss(paper.EQ10_UNROUNDED, **chinchilla)},
               note="the quoted losses come from the rounded constants, not from the unrounded fit"),
        _arith("notes.no_300b", "notes", "NO MODEL trained with 300B tokens could EVER be better than Chinchilla",
               "as stated",
               Predicate(fmt=".4f", reading="E + B/300B^β (infinite N) above L(Chinchilla)",
                         test=lambda v: v["best loss with 300B tokens"] > v["L(Chinchilla)"]),
               "approach3", lambda: floor_vs_chinchilla(paper.EQ10), note="eq. 10 as printed"),
        _arith("notes.1e24", "notes", "creating a model, Chinchilla at the ~10^24 FLOPs point", 24, Printed(".0f"),
               "glance", lambda: math.log10(paper.GOPHER_FLOPS), note="log10 of 5.76e23"),
        Claim("notes.biggest", "notes", "in NO case is the biggest model the best", "as stated", Printed(),
              "approach2", note=f"read off the paper's IsoFLOP profiles: {NEEDS_PAPER_RUNS}"),
        Claim("notes.repeat", "notes", "repeating 0.1% of the data degrades an 800M model to a 400M one", "as stated",
              Printed(), "claims", note="a result of another paper's training runs"),
        Claim("notes.galactica", "notes", "Galactica kept improving with 4.25 epochs", "as stated", Printed(),
              "claims", note="a result of another paper's training runs"),
    ]

