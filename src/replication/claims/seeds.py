"""The claims of three secondary write-ups of the Chinchilla paper: a summary (seed 001), an assignment
answer (seed 002) and reading notes (seed 004).
"""
from __future__ import annotations

import math

import numpy as np

from replication.claims.chinchilla import NEEDS_PAPER_RUNS, other_rows_law
from replication.claims.computed import d_opt_at, eq10_loss, growth, law, n_opt_at, table_exponents
from replication.claims.rules import Claim, Interval, Predicate, Printed, Range, Within
from replication.estimate import Decoder
from replication.sources import chinchilla as paper

_NEEDS_MODELS = "needs the trained models themselves (an evaluation, not a computation)"


def _training_flops(model: str, tokens: float) -> dict[str, float]:
    """Training FLOPs of a Table 4 model ("Gopher" or "Chinchilla") on ``tokens`` tokens: 6ND, and
    Appendix F as written. Decoder's parameter count gives 279.7B and 70.1B for these shapes."""
    shape = paper.TABLE_4[model]
    m = Decoder(num_layers=shape["n_layers"], d_model=shape["d_model"], ffw_size=4 * shape["d_model"],
                num_heads=shape["n_heads"], kv_size=shape["kv_size"])
    return {"6ND": 6 * m.num_params * tokens, "Appendix F": m.flops("appendix_f") * tokens / m.seq_len}


def seed_001_claims() -> list[Claim]:
    """A summary of the Chinchilla paper."""
    exps = table_exponents()
    return [
        Claim("001.half", "001", "N_opt ∝ C^~0.5, D_opt ∝ C^~0.5", 0.5, Within(abs=0.05, fmt=".3f"), "glance",
              lambda: {f"A{k} {n}": exps[f"approach{k}"][i] for k in (1, 2, 3) for i, n in enumerate("ab")},
              note="exponents from Table 3, Table A3 and eq. 10 (see Table 2)"),
        Claim("001.kaplan.N", "001", "increase 5.4x on N ... while C is increased on 10x", 5.4, Printed(".1f"),
              "glance", lambda: 10 ** paper.TABLE_2["kaplan"]["a"], note="10^0.73"),
        Claim("001.kaplan.D", "001", "and 1.8x on D", 1.8, Printed(".1f", truncate=True), "glance",
              lambda: 10 ** paper.TABLE_2["kaplan"]["b"],
              note="10^0.27 with Kaplan's b = 0.27; 1.8 matches only cut to one decimal (or 10/5.5 = 1.82)"),
        Claim("001.regime", "001", "Kaplan ~1.5B, Hoffmann ~23B [data size]", "as stated", Printed(), "glance",
              note=f"describes the two papers' training setups: {NEEDS_PAPER_RUNS}"),
        Claim("001.embedding", "001", "not counting embeddings skews Kaplan's exponent (Pearce & Song, 2024)",
              "as stated", Printed(), "glance", note="needs Kaplan's runs re-fitted; a claim of a third paper"),
        Claim("001.cosine", "001", "Overestimating the number of training steps with the cosine cycle length "
              "leads to performance drops", "as stated", Printed(), "experiment1", note=NEEDS_PAPER_RUNS),
        Claim("001.decay10", "001", "decaying by 10x slightly better than to 0.0; 5x clearly worse", "as stated",
              Printed(), "experiment1", note=NEEDS_PAPER_RUNS),
        Claim("001.adamw", "001", "AdamW slightly outperforms Adam", "as stated", Printed(), "experiment1",
              note=NEEDS_PAPER_RUNS),
        Claim("001.300b", "001", "GPT-3 175B, Gopher 280B, MT-NLG 530B ... ~300B tokens", "as stated", Printed(),
              "glance", note="facts about other models' training, reported in their papers"),
    ]


def seed_002_claims() -> list[Claim]:
    """An assignment answer: exponents, Gopher's budget, the trillion-parameter row, MMLU."""
    exps = table_exponents()
    gopher, chinchilla = paper.GOPHER, paper.CHINCHILLA

    def parity():
        g = _training_flops("Gopher", gopher["D"])
        c = _training_flops("Chinchilla", chinchilla["D"])
        return {k: c[k] / g[k] for k in g}

    t3 = paper.TABLE_3
    i1t = int(np.flatnonzero(t3["N"].to_numpy() == 1e12)[0])
    return [
        Claim("002.a2", "002", "Approach 2: a = 0.49", 0.49, Printed(".2f"), "approach2",
              lambda: exps["approach2"][0], note="a free power law through Table A3"),
        Claim("002.b2", "002", "b = 0.51", 0.51, Printed(".2f"), "approach2", lambda: exps["approach2"][1],
              note="a free power law through Table A3"),
        Claim("002.kaplan", "002", "a_Kaplan = 0.73, b_Kaplan = 0.27", "as stated", Printed(), "glance",
              note="Kaplan's own fit to his own runs"),
        Claim("002.equal", "002", "both quantities should scale almost equally", "a ≈ b",
              Predicate(fmt=".3f", reading="|a - b| at most 0.1 for every approach",
                        test=lambda v: all(abs(x) <= 0.1 for x in v.values())), "glance",
              lambda: {f"A{k}": exps[f"approach{k}"][1] - exps[f"approach{k}"][0] for k in (1, 2, 3)}),
        Claim("002.gopher_budget", "002", "5.76e23 FLOPs (Gopher's budget)", paper.GOPHER_FLOPS, Printed(".2e"), "flops",
              lambda: _training_flops("Gopher", gopher["D"]),
              note="Gopher: 280B parameters, 300B tokens. Chinchilla's 6ND is 5.88e23, within 2% of 5.76e23"),
        Claim("002.n_range", "002", "the optimal model size ... between 40 and 70 billion parameters", (40e9, 70e9),
              Range(fmt=".1f", scale=1e9, unit="B"), "approach3", lambda: n_opt_at(paper.GOPHER_FLOPS),
              note="N_opt at 5.76e23 FLOPs: Krasser's laws for A1 and A2, eq. 10 (unrounded) for A3"),
        Claim("002.tokens", "002", "Training tokens: 1.4T tokens", 1.4e12, Printed(".1f", scale=1e12, unit="T"),
              "approach1", lambda: float(law(1).d_opt(paper.GOPHER_FLOPS)), note="D_opt of Approach 1 at 5.76e23"),
        Claim("002.undertrained", "002", "Gopher was significantly over-parameterized while being undertrained",
              "as stated", Predicate(fmt=".2f", reading="Gopher's N above and D below the optimum, every approach",
                                     test=lambda v: all(x > 1 for k, x in v.items() if k.startswith("N")) and all(
                                         x < 1 for k, x in v.items() if k.startswith("D"))),
              "approach1", lambda: {f"N/N_opt {k}": gopher["N"] / v for k, v in n_opt_at(paper.GOPHER_FLOPS).items()}
              | {f"D/D_opt {k}": gopher["D"] / v for k, v in d_opt_at(paper.GOPHER_FLOPS).items()}),
        Claim("002.parity", "002", "Compute_Chinchilla = Compute_Gopher", 1.0, Within(rel=0.05, fmt=".3f"), "flops",
              parity, note="Chinchilla / Gopher training FLOPs: 70B on 1.4T tokens against 280B on 300B"),
        Claim("002.4x", "002", "4× smaller parameter count", 4.0, Printed(".1f"), "glance",
              lambda: gopher["N"] / chinchilla["N"]),
        Claim("002.mmlu_c", "002", "Chinchilla accuracy = 67.6%", 67.6, Printed(".1f", unit="%"), "claims",
              note=_NEEDS_MODELS),
        Claim("002.mmlu_g", "002", "Gopher accuracy = 60.0%", 60.0, Printed(".1f", unit="%"), "claims",
              note=_NEEDS_MODELS),
        Claim("002.mmlu_h", "002", "Human expert performance = 89.8%", 89.8, Printed(".1f", unit="%"), "claims",
              note="a human baseline from the MMLU paper, not something code computes"),
        Claim("002.mmlu_gain", "002", "7.6 percentage point improvement over Gopher", 7.6, Printed(".1f"), "claims",
              lambda: 67.6 - 60.0, note="arithmetic on the two quoted accuracies only"),
        Claim("002.gt90", "002", "Greater than 90 / First model to achieve >90", "garbled", Printed(), "claims",
              note="garbled: as written it contradicts the 67.6% above; nothing here can check it"),
        Claim("002.1t.C", "002", "Compute budget = 1.27e26 FLOPs [1T parameters]", 1.27e26, Printed(".2e"),
              "approach1", lambda: 6 * 1e12 * Interval.printed(21.2e12, ".1f", 1e12),
              note="6·N·D with Table 3's 21.2T tokens"),
        Claim("002.1t.gopher", "002", "= 221.3× Gopher compute", 221.3, Printed(".1f"), "approach1",
              lambda: Interval.printed(1.27e26, ".2e") / Interval.printed(paper.GOPHER_FLOPS, ".2e"),
              note="1.27e26 / 5.76e23, both as printed"),
        Claim("002.1t.D", "002", "Training tokens = 21.2 trillion", 21.2e12,
              Within(rel=0.01, fmt=".1f", scale=1e12, unit="T"), "approach1",
              lambda: other_rows_law(t3["N"], t3["D"], i1t), note="the law D(N) through Table 3's other rows"),
        Claim("002.1e26", "002", "a compute budget of 10^26 FLOPs", 26, Printed(".0f"), "approach1",
              lambda: math.log10((1e12 / law(1).k_N) ** (1 / law(1).a)),
              note="log10 of the budget at which Approach 1 makes 1T parameters optimal"),
        Claim("002.250x", "002", "(over 250× the compute used to train Gopher)", 250.0,
              Predicate(fmt=".1f", reading="10^26 / 5.76e23 above 250", test=lambda v: v > 250), "approach1",
              lambda: 1e26 / paper.GOPHER_FLOPS,
              note="10^26 is 174× Gopher's budget; even Table 3's 1.27e26 is only 221×"),
    ]


def seed_004_claims() -> list[Claim]:
    """Reading notes on the paper, with the constants of eq. 10."""
    exps = table_exponents()
    gopher, chinchilla = paper.GOPHER, paper.CHINCHILLA

    def losses(A, B):
        p = dict(paper.EQ10, A=A, B=B)
        return {"L(Gopher)": eq10_loss(p, **gopher), "L(Chinchilla)": eq10_loss(p, **chinchilla)}

    def floor_vs_chinchilla(params):
        floor = params["E"] + params["B"] / gopher["D"] ** params["beta"]
        return {"best loss with 300B tokens": floor, "L(Chinchilla)": eq10_loss(params, **chinchilla)}

    return [
        Claim("004.kaplan.N", "004", "if 10x compute budget, then 5.5x the number of parameters", 5.5,
              Printed(".1f"), "glance", lambda: 10 ** paper.TABLE_2["kaplan"]["a"],
              note="10^0.73 = 5.37; 5.5 needs a ≥ 0.736. The Chinchilla paper's introduction also writes 5.5×"),
        Claim("004.kaplan.D", "004", "and 1.8x the number of training tokens", 1.8, Printed(".1f", truncate=True),
              "glance", lambda: 10 ** paper.TABLE_2["kaplan"]["b"],
              note="10^0.27 with Kaplan's b = 0.27; 1.8 matches only cut to one decimal (or 10/5.5 = 1.82)"),
        Claim("004.sizes", "004", "Kaplan ... models up to 1B ... Chinchilla ... up to 16B", "as stated",
              Printed(), "glance", note=f"describes the papers' training runs: {NEEDS_PAPER_RUNS}"),
        Claim("004.4x_smaller", "004", "the compute-optimal [Gopher] should be 4 times smaller", 4.0,
              Printed(".0f"), "glance", lambda: gopher["N"] / chinchilla["N"]),
        Claim("004.4x_data", "004", "trained on 4 times more data", 4.0, Printed(".0f"), "glance",
              lambda: chinchilla["D"] / gopher["D"],
              note="1.4T / 300B = 4.67; equal 6ND compute with 4× fewer parameters would be 4× the tokens "
                   "(1.2T)"),
        Claim("004.smaller_longer", "004", "all three predict that current models should be smaller and trained "
              "longer", "as stated",
              Predicate(fmt=".0f", scale=1e9, unit="B", reading="at Gopher's budget every approach puts N_opt "
                        "below 280B and D_opt above 300B",
                        test=lambda v: all(x < 280e9 for k, x in v.items() if k.startswith("N")) and all(
                            x > 300e9 for k, x in v.items() if k.startswith("D"))),
              "approach1", lambda: {f"N_opt {k}": v for k, v in n_opt_at(paper.GOPHER_FLOPS).items()}
              | {f"D_opt {k}": v for k, v in d_opt_at(paper.GOPHER_FLOPS).items()}),
        Claim("004.nine", "004", "a fixed set of 9 different training FLOP counts", 9, Printed(".0f"), "approach2",
              note=f"describes the paper's IsoFLOP runs: {NEEDS_PAPER_RUNS}"),
        Claim("004.lr", "004", "setting the learning rate schedule to approximately match the number of training "
              "tokens results in the best loss", "as stated", Printed(), "experiment1", note=NEEDS_PAPER_RUNS),
        Claim("004.400", "004", "over 400 language models ranging from 70 million to over 16 billion parameters "
              "on 5 to 500 billion tokens", "as stated", Printed(), "approach3", note=NEEDS_PAPER_RUNS),
        Claim("004.doubling", "004", "for every doubling of model size the number of training tokens should also "
              "be doubled", 2.0, Printed(".0f"), "glance",
              lambda: {f"A{k}": 2 ** (exps[f"approach{k}"][1] / exps[f"approach{k}"][0]) for k in (1, 2, 3)},
              note="2^(b/a): tokens grow by this factor per doubling of N_opt"),
        Claim("004.mmlu", "004", "Chinchilla reaches ... 67.5% on the MMLU benchmark", 67.5,
              Printed(".1f", unit="%"), "claims", note=_NEEDS_MODELS + "; seed 002 quotes 67.6%"),
        Claim("004.mmlu_gain", "004", "greater than a 7% improvement over Gopher", "above 7 points",
              Predicate(fmt=".1f", reading="67.5 - 60.0 above 7", test=lambda v: v > 7), "claims",
              lambda: 67.5 - 60.0, note="arithmetic on the quoted accuracies (Gopher's 60.0% from seed 002)"),
        Claim("004.gpt4.N", "004", "per doubling of compute, model size by 2^(1/3) (approximately 1.26)",
              2 ** (1 / 3), Printed(".2f"), "glance", lambda: growth(2.0, "a"),
              note="2^a with Table 2's a: about 1.4; 2^(1/3) would need a = 1/3"),
        Claim("004.gpt4.D", "004", "and the dataset size by 4^(1/3) (approximately 1.59)", 4 ** (1 / 3),
              Printed(".2f"), "glance", lambda: growth(2.0, "b"),
              note="2^b with Table 2's b: about 1.4-1.5; 4^(1/3) would need b = 2/3"),
        Claim("004.gpt4.ratio", "004", "a ratio of tokens to parameters that should increase as the compute budget "
              "grows", 4 ** (1 / 3) / 2 ** (1 / 3), Printed(".2f"), "glance",
              lambda: {k: growth(2.0, "b")[k] / growth(2.0, "a")[k] for k in ("A1", "A2", "A3")},
              note="per doubling: 2^(b-a), flat for Approach 1 and up by 1-6% for Approaches 2 and 3, "
                   "not the 1.26 that 4^(1/3)/2^(1/3) implies"),
        Claim("004.E", "004", "E = 1.69", paper.EQ10["E"], Printed(".2f"), "approach3",
              lambda: paper.EQ10_UNROUNDED["E"], note="against the paper's fit (eq. 10)"),
        Claim("004.alpha", "004", "Alpha = .34", 0.34, Printed(".2f"), "approach3",
              lambda: paper.EQ10_UNROUNDED["alpha"], note="against the paper's fit (eq. 10)"),
        Claim("004.beta", "004", "Beta = .28", 0.28, Printed(".2f"), "approach3",
              lambda: paper.EQ10_UNROUNDED["beta"], note="against the paper's fit (eq. 10)"),
        Claim("004.AB", "004", "A and B are both = 400", 400.0, Printed(".0f"), "approach3",
              lambda: {"A": paper.EQ10["A"], "B": paper.EQ10["B"]},
              note="eq. 10 prints A = 406.4 and B = 410.7: 400 only to one significant figure, and A ≠ B"),
        Claim("004.L_with_400", "004", "[with A = B = 400] L(Gopher) = 1.993, L(Chinchilla) = 1.936",
              "1.993 and 1.936",
              Predicate(fmt=".3f", reading="the note's constants give its losses to 3 decimals",
                        test=lambda v: f"{v['L(Gopher)']:.3f}" == "1.993" and f"{v['L(Chinchilla)']:.3f}" == "1.936"),
              "approach3", lambda: losses(400.0, 400.0),
              note="with the paper's A and B the losses come out (see eq. 10 above)"),
        Claim("004.L_gopher", "004", "L(Gopher) = 1.993", 1.993, Printed(".3f", truncate=True), "approach3",
              lambda: eq10_loss(paper.EQ10, **gopher), note="eq. 10 as printed, at N = 280B, D = 300B"),
        Claim("004.L_chinchilla", "004", "L(Chinchilla) = 1.936", 1.936, Printed(".3f", truncate=True), "approach3",
              lambda: eq10_loss(paper.EQ10, **chinchilla),
              note="eq. 10 as printed, at N = 70B, D = 1.4T"),
        Claim("004.L_unrounded", "004", "L(Gopher) = 1.993, L(Chinchilla) = 1.936 [from the fitted constants]",
              "1.993 and 1.936",
              Predicate(fmt=".3f", reading="the unrounded fit gives the same losses to 3 decimals",
                        test=lambda v: f"{v['L(Gopher)']:.3f}" == "1.993" and f"{v['L(Chinchilla)']:.3f}" == "1.936"),
              "approach3", lambda: {"L(Gopher)": eq10_loss(paper.EQ10_UNROUNDED, **gopher),
                                    "L(Chinchilla)": eq10_loss(paper.EQ10_UNROUNDED, **chinchilla)},
              note="the quoted losses come from the rounded constants, not from the unrounded fit"),
        Claim("004.no_300b", "004", "NO MODEL trained with 300B tokens could EVER be better than Chinchilla",
              "as stated",
              Predicate(fmt=".4f", reading="E + B/300B^β (infinite N) above L(Chinchilla)",
                        test=lambda v: v["best loss with 300B tokens"] > v["L(Chinchilla)"]),
              "approach3", lambda: floor_vs_chinchilla(paper.EQ10), note="eq. 10 as printed"),
        Claim("004.1e24", "004", "creating a model, Chinchilla at the ~10^24 FLOPs point", 24, Printed(".0f"),
              "glance", lambda: math.log10(paper.GOPHER_FLOPS), note="log10 of 5.76e23"),
        Claim("004.biggest", "004", "in NO case is the biggest model the best", "as stated", Printed(),
              "approach2", note=f"read off the paper's IsoFLOP profiles: {NEEDS_PAPER_RUNS}"),
        Claim("004.repeat", "004", "repeating 0.1% of the data degrades an 800M model to a 400M one", "as stated",
              Printed(), "claims", note="a result of another paper's training runs"),
        Claim("004.galactica", "004", "Galactica kept improving with 4.25 epochs", "as stated", Printed(),
              "claims", note="a result of another paper's training runs"),
    ]

