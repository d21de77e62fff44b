"""The Perceiver AR transfer test (replication.studies.transfer): its design against counts done here
by hand, and its analysis on fake run stores with planted optima (nothing is trained)."""
import itertools
import json
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from replication.errors import ReplicationError
from replication.store.runs import RunStore
from replication.studies import transfer as X
from replication.studies import transfer_design as D
from replication.studies import transfer_reading as R
from replication.studies.chinchilla_design import DEFAULT, TRAIN_TOKENS, WIDTHS, ChinchillaStudy

L, n, B, P = DEFAULT.num_layers, DEFAULT.num_latents, DEFAULT.batch_size, 3 * DEFAULT.num_latents


def params(d, V=262, seq=n, layers=L):
    """N of Krasser's model by hand: tied token embedding, positions, hybrid layer, decoder layers, output bias."""
    return V * d + seq * d + 12 * d * d + 7 * d + (layers - 1) * (12 * d * d + 4 * d) + V


def c_self(d, V=262):
    return 3 * (L * (24 * d * d + 4 * d * n) + 2 * d * V)


def c_cross(d, p=0.5):
    return 3 * int((4 * d * d * P / n + 4 * d * P) * (1 - p))


N_OPT = params(WIDTHS[5])  # the ladder's rung 5 (d = 24): the study's middle budget's middle size
#: the design checked at the study's middle budget, its N_opt given (counts below by hand)
T = X.TransferStudy(budget=1e12, n_opt=N_OPT)


# -- the design -------------------------------------------------------------------------------------


def test_budget_prefix_and_sizes():
    assert X.TRANSFER.budget == 5e11 and X.TransferStudy().budget == 1e12  # the book's, and the default
    assert X.TRANSFER.n_opt is None and T.optimum == N_OPT  # the book's reads its N_opt from the study's runs
    assert T.budget == 1e12 and T.num_prefix == 384 and T.seeds == (0, 1, 2, 3)
    ladder = np.log([params(d) for d in WIDTHS])
    want = tuple(int(np.abs(ladder - math.log(f * N_OPT)).argmin()) for f in (0.5, 1, 2))
    assert want == (3, 5, 7) and T.sizes() == want
    # three factors that all land on rung 5 take its neighbours
    assert X.TransferStudy(factors=(0.9, 1.0, 1.1), n_opt=N_OPT).sizes() == (4, 5, 6)
    with pytest.raises(ReplicationError, match=r"^n_opt=.*off the study's ladder"):
        X.TransferStudy(n_opt=params(WIDTHS[-1]))  # 2x the largest rung is not on the ladder


def test_decoder_runs_are_the_studys_own():
    iso = {c.run_id() for c in DEFAULT.isoflop_configs()}
    dec = [(j, s, c) for v, j, s, c in T.runs() if v == "decoder"]
    assert len(dec) == 12
    for j, s, c in dec:
        assert c.run_id() == DEFAULT.config(j, 1e12, s).run_id()
        if s in DEFAULT.seeds:  # seeds 0 and 1 of rungs 3, 5, 7 are IsoFLOP runs of the middle budget
            assert c.run_id() in iso


def test_prefix_runs_under_both_counts():
    runs = {(v, j, s): c for v, j, s, c in T.runs()}
    for j in (3, 5, 7):
        d = WIDTHS[j]
        for s in T.seeds:
            dec, own, tot = (runs[(v, j, s)] for v in ("decoder", "prefix, C_self", "prefix, C_self + C_cross"))
            assert own.model.num_prefix == P and own.model.prefix_dropout == 0.5 and dec.model.num_prefix == 0
            assert own.lr == tot.lr == dec.lr == DEFAULT.lr(j)
            steps_self = math.ceil(1e12 / c_self(d) / (B * n))
            steps_total = math.ceil(1e12 / (c_self(d) + c_cross(d)) / (B * n))
            assert dec.num_steps() == own.num_steps() == steps_self
            assert tot.num_steps() == steps_total and tot.budget_flops is None
            ratio = c_self(d) / (c_self(d) + c_cross(d))
            assert tot.num_steps() / own.num_steps() == pytest.approx(ratio, abs=2 / steps_self)
            assert tot.eval_interval == math.ceil(steps_total / DEFAULT.evals_per_run)
            same = ("model", "corpus", "tokenizer", "batch_size", "lr", "seed", "beta2", "eval_windows")
            assert all(getattr(tot, f) == getattr(own, f) for f in same)


def test_vocabulary_matches_the_articles_share():
    article = params(512, V=32000, seq=2048, layers=9)
    assert article == pytest.approx(4.58e7, rel=2e-3)  # the article's Table 1
    target = 32000 * 512 / article
    d = WIDTHS[5]
    share = {V: V * d / params(d, V=V, seq=n + P) for V in T.vocab_sizes}
    best = min(share, key=lambda V: abs(share[V] - target))
    assert D.article_share() == pytest.approx(target) and T.vocab_size() == best == 1024
    # with the position embeddings counted too (bytes already has 0.40 here, so 512 is nearest)
    target2 = (32000 + 2048) * 512 / article
    share2 = {V: (V + n + P) * d / params(d, V=V, seq=n + P) for V in T.vocab_sizes}
    best2 = min(share2, key=lambda V: abs(share2[V] - target2))
    assert X.TransferStudy(share="token+positions", n_opt=N_OPT).vocab_size() == best2 == 512
    sp = [c for v, _, _, c in T.runs() if "SentencePiece" in v]
    assert len(sp) == 24 and {c.tokenizer for c in sp} == {"sentencepiece:1024"}


def test_check():
    assert T.check({"sentencepiece:1024": TRAIN_TOKENS // 3}) == []
    lines = X.TransferStudy(variants=("decoder",), n_opt=N_OPT).check()
    assert lines == []
    # a longer minimum changes the sweep's runs too: this design takes the default's rule rather than its own
    strict = X.TransferStudy(chinchilla=ChinchillaStudy(min_steps=3000, lr_rule=DEFAULT.rule), variants=("decoder",),
                             n_opt=N_OPT)
    bad = strict.check()
    assert bad == [f"decoder, d={WIDTHS[j]}: {math.ceil(1e12 / c_self(WIDTHS[j]) / (B * n))} steps < 3000"
                   for j in (5, 7)]
    assert any("epochs not checked" in line for line in T.check())


@pytest.mark.parametrize("kwargs, pattern", [
    ({"budget": 1e13}, r"^budget=1e\+13 is out of range; allowed: \[2\.5e\+11, 4e\+12\] \(the study's budgets, "
                       r"executed FLOPs\)$"),
    ({"factors": (1.0, 2.0)}, r"^factors="),
    ({"seeds": (0,)}, r"^seeds=\(0,\)"),
    ({"variants": ("decoder", "nope")}, r"^variants='nope' is not known"),
    ({"variants": ("prefix, C_self",)}, r"^variants=.*'decoder'"),
    ({"vocab_sizes": (20000,)}, r"^vocab_sizes=20000 is out of range; allowed: \[16, 10689\]$"),
    ({"share": "all"}, r"^share='all' is not known"),
    ({"prefix_dropout": 1.0}, r"^prefix_dropout=1\.0 is out of range; allowed: \[0, 1\)$"),
])
def test_bad_designs(kwargs, pattern):
    with pytest.raises(ReplicationError, match=pattern) as err:
        X.TransferStudy(**kwargs)
    assert "\n" not in str(err.value)


def test_bad_calls():
    for call, pattern in [(lambda: replace(T, n_opt=1.0), r"^n_opt=1\.0 is out of range"),
                          (lambda: T.config("decoder, SentencePiece", 5, 0), r"^variant=.*needs vocab_size"),
                          (lambda: T.config("encoder", 5, 0), r"^variant='encoder' is not known"),
]:
        with pytest.raises(ReplicationError, match=pattern) as err:
            call()
        assert "\n" not in str(err.value)


# -- the analysis, on fake stores -------------------------------------------------------------------


def fake_table(log_shift, noise=0.0, seed_sd=0.05, curvature=0.05, seed=0) -> pd.DataFrame:
    """Final losses of every run: E + curvature (log N_self − log N*_v)² + a per-seed offset (shared by
    every variant, as paired seeds share batches) + per-run noise; N*_v is the variant's middle size
    times exp(log_shift[v])."""
    rng = np.random.default_rng(seed)
    offset = dict(zip(T.seeds, seed_sd * rng.standard_normal(len(T.seeds))))
    rows = []
    for v, j, s, cfg in T.runs():
        n_self = cfg.model.shape().num_self_attn_params
        mid = replace(cfg.model, num_channels=WIDTHS[5]).shape().num_self_attn_params
        loss = 1.5 + curvature * (math.log(n_self / mid) - log_shift.get(v, 0.0)) ** 2
        rows.append({"variant": v, "rung": j, "width": WIDTHS[j], "seed": s, "N_self": n_self,
                     "loss": loss + offset[s] + noise * rng.standard_normal(), "run_id": cfg.run_id()})
    return pd.DataFrame(rows)


def write_store(root, log_shift, **surface) -> pd.DataFrame:
    """Record every run of :func:`fake_table` in a run store under ``root``; returns the table."""
    store, t = RunStore(root), fake_table(log_shift, **surface)
    for (*_, cfg), loss in zip(T.runs(), t["loss"]):
        run = store.run(cfg.run_id())
        run.write_config(cfg.identity())
        last = {"step": cfg.num_steps(), "latent_tokens": 1, "loss": loss, "C_self": 1.0, "C_cross": 0.0}  # the run's last records
        run.metrics_path.write_text("".join(json.dumps({"kind": k, **last}) + "\n" for k in ("train", "val")))
        run.write_summary({"final_val_loss": loss, "steps": cfg.num_steps(), "latent_tokens": 1, "C_self": 1.0, "C_cross": 0.0,
                           "num_params": cfg.model.shape().num_params, "wall_s": 1.0})
    return t


def vertex(t, variant, seeds=None):
    """log N* of a variant by numpy's own polyfit through the mean loss (over ``seeds``, repeats counted)."""
    g = t[t["variant"] == variant].pivot_table(index="N_self", columns="seed", values="loss")
    y = g[list(g.columns) if seeds is None else list(seeds)].mean(axis=1)
    a, b, _ = np.polyfit(np.log(g.index.to_numpy(float)), y.to_numpy(), 2)
    return -b / (2 * a)


def test_planted_shift_is_found(tmp_path):
    # 1.5x: inside the sizes trained (2x would be past the largest, 1.85x the middle)
    written = write_store(tmp_path, {"prefix, C_self": math.log(1.5)}, noise=0.001)
    t = X.runs_table(T, tmp_path)
    assert len(t) == 60 and np.array_equal(t["loss"], written["loss"])
    v = X.shifts(t).set_index("comparison")
    want = vertex(written, "prefix, C_self") - vertex(written, "decoder")
    assert v.loc["prefix, C_self", "shift"] == pytest.approx(want, abs=1e-9)
    assert want == pytest.approx(math.log(1.5), abs=0.05)
    assert v.loc["prefix, C_self", "shift test"] == "moves"
    assert v.loc["prefix, C_self + C_cross", "shift test"] == "within the margin"
    assert v.loc["prefix, SentencePiece", "shift test"] == "within the margin"
    # the article's claims against them: the prefix moves N* (refuted), not with SentencePiece (borne out)
    assert v.loc["prefix, C_self", "verdict"].outcome == "disagrees" and v.loc["prefix, C_self + C_cross", "verdict"] is None
    assert v.loc["prefix, SentencePiece", "verdict"].outcome == "agrees"
    # SentencePiece's middle size is larger in N (its embedding): the planted optimum moves by that much
    sp_mid, mid = (params(WIDTHS[5], V=V) for V in (1024, 262))
    assert v.loc["vocabulary, decoder", "shift"] == pytest.approx(math.log(sp_mid / mid), abs=0.05)
    assert v.loc["vocabulary, decoder", "shift test"] == "moves" and v.loc["vocabulary, decoder", "verdict"].outcome == "agrees"
    assert v.loc["vocabulary x prefix", "shift test"] == "moves" and v.loc["vocabulary x prefix", "shift"] < 0
    assert v.loc["vocabulary x prefix", "verdict"].outcome == "disagrees"  # the article: the vocabulary changes nothing
    verdicts = X.verdicts(T, t)
    assert [x.claim for x in verdicts] == [f"The article says {X.ARTICLE[c][0]}." for c in X.COMPARISONS
                                          if X.ARTICLE[c][1] is not None]
    first = v.loc["prefix, C_self"]
    assert verdicts[0].ours == first["ratio"] and verdicts[0].interval == pytest.approx(
        (math.exp(first["low"]), math.exp(first["high"])))
    # the interval is the bootstrap over all 4^4 joint draws of seeds, recomputed here with polyfit
    draws = [vertex(written, "prefix, C_self", sd) - vertex(written, "decoder", sd)
             for sd in itertools.product(T.seeds, repeat=4)]
    lo, hi = np.percentile(draws, [2.5, 97.5])
    assert (v.loc["prefix, C_self", "low"], v.loc["prefix, C_self", "high"]) == pytest.approx((lo, hi), abs=1e-9)
    o = X.optima(t).set_index("variant")
    assert o.loc["decoder", "N_star"] == pytest.approx(math.exp(vertex(written, "decoder")))


def test_no_shift_rarely_agrees():
    """Calibration: with nothing planted, "moves" (a false positive) comes at about the nominal 5%."""
    outcomes = [o for k in range(40) for o in X.shifts(fake_table({}, noise=0.001, seed=k)).set_index(
        "comparison").loc[["prefix, C_self", "prefix, C_self + C_cross", "prefix, SentencePiece"], "shift test"]]
    assert outcomes.count("moves") <= 12  # of 120; binomial(120, 0.05) exceeds 12 with probability 0.7%
    assert outcomes.count("within the margin") >= 90


def test_noise_is_not_distinguishable_and_tests_are_paired(tmp_path):
    written = write_store(tmp_path, {}, noise=0.2, seed=3)
    t = X.runs_table(T, tmp_path)
    v = X.shifts(t).set_index("comparison")
    assert v.loc["prefix, C_self", "shift test"].startswith("inconclusive (4 seeds, power ")
    assert str(v.loc["prefix, C_self", "verdict"]) == v.loc["prefix, C_self", "shift test"]
    s = X.size_tests(t)
    row = s[(s["comparison"] == "prefix, C_self") & (s["rung"] == 5)].iloc[0]
    a, b = (written[(written["variant"] == x) & (written["rung"] == 5)].sort_values("seed")["loss"]
            for x in ("prefix, C_self", "decoder"))
    assert row["p"] == pytest.approx(stats.ttest_rel(a.to_numpy(), b.to_numpy()).pvalue)


def test_optimum_outside_the_range_is_not_a_number(tmp_path):
    write_store(tmp_path, {"prefix, C_self": math.log(10)}, noise=0.001)
    t = X.runs_table(T, tmp_path)
    o = X.optima(t).set_index("variant")
    assert math.isnan(o.loc["prefix, C_self", "N_star"])
    assert o.loc["prefix, C_self", "where"] == "outside the trained range (above the largest size)"
    v = X.shifts(t).set_index("comparison")
    assert math.isnan(v.loc["prefix, C_self", "shift"]) and v.loc["prefix, C_self", "shift test"] == "moves"
    assert "outside the trained range" in v.loc["prefix, C_self", "verdict"].finding


def test_missing_run_and_bad_analysis_inputs(tmp_path):
    write_store(tmp_path, {})
    first = T.runs()[0][3].run_id()
    assert X.missing(T, tmp_path) == []
    (tmp_path / first / "summary.json").unlink()
    with pytest.raises(ReplicationError, match=rf"^1 run\(s\) of the transfer test .*first: {first}\)"):
        X.runs_table(T, tmp_path)
    assert [c.run_id() for c in X.missing(T, tmp_path)] == [first]
    write_store(tmp_path, {})  # records it again
    t = X.runs_table(T, tmp_path)
    for call, pattern in [(lambda: X.shifts(t, margin=0), r"^margin=0 is out of range; allowed: \(0, 10\]$"),
                          (lambda: X.shifts(t, bootstrap=0), r"^bootstrap=0 is out of range"),
                          (lambda: X.optima(t, level=1.0), r"^level=1\.0 is out of range")]:
        with pytest.raises(ReplicationError, match=pattern) as err:
            call()
        assert "\n" not in str(err.value)


def test_the_articles_claims_read_the_shift_test():
    def verdict(name, reading, low=0.1):
        row = {"comparison": name, "ratio": 1.2, "low": low, "high": low + 0.3, "seeds": 4, "power": 0.31,
               "per-seed p": 0.2}
        return X._article_verdict(row, reading, 0.95)

    # the article: the prefix does not move N*; a shift that is found refutes it, one ruled out confirms it
    assert verdict("prefix, C_self", "moves").outcome == "disagrees"
    assert verdict("prefix, C_self", "within the margin").outcome == "agrees"
    assert str(verdict("prefix, SentencePiece", "inconclusive")) == "inconclusive (4 seeds, power 0.31)"
    # the article: bytes put N* below SentencePiece, i.e. log(N*_SP / N*_bytes) > 0
    assert verdict("vocabulary, decoder", "moves", low=0.2).outcome == "agrees"
    assert verdict("vocabulary, decoder", "moves", low=-0.9).outcome == "disagrees"
    assert verdict("vocabulary, decoder", "within the margin").outcome == "disagrees"
    assert verdict("prefix, C_self + C_cross", "moves") is None  # no claim


def test_sizes_without_the_token_embedding(tmp_path):
    """At one width a larger vocabulary adds V d to N_self: counted without it, the planted optimum (the same
    width for both vocabularies) does not move."""
    write_store(tmp_path, {}, noise=0.0)
    t = X.runs_table(T, tmp_path)
    assert (t["N_body"] == t["N_self"] - t["V"] * t["width"]).all() and set(t["V"]) == {262, 1024}
    whole = X.shifts(t, bootstrap=200).set_index("comparison").loc["vocabulary, decoder"]
    body = X.shifts(t, bootstrap=200, size="N_body").set_index("comparison").loc["vocabulary, decoder"]
    assert whole["shift test"] == "moves" and whole["shift"] > 0.3
    # the same width is not the same N_body either (the fake surface is planted in N_self): a smaller shift
    assert abs(body["shift"]) < whole["shift"] / 2
    with pytest.raises(ReplicationError, match=r"^size='N' is not known"):
        X.optima(t, size="N")


def test_design_power_is_the_smallest_shift_seen_four_times_in_five():
    from replication.studies.stats import paired_power

    v = pd.DataFrame({"comparison": ["prefix, C_self", "prefix, C_self + C_cross", "vocabulary, decoder"],
                      "seeds": [4, 4, 4], "per-seed sd": [0.06, 0.13, 0.07]})
    pred = -0.08
    p = R.design_power(v, pred)
    col = "smallest factor detected (80% power)"
    for name, sd in zip(v["comparison"], v["per-seed sd"]):
        f = p.loc[name, col]
        assert paired_power(4, math.log(f), sd) == pytest.approx(0.8, abs=1e-6)
    assert p.loc["prefix, C_self", col] < p.loc["prefix, C_self + C_cross", col]
    assert p.loc["prefix, C_self", "power at the predicted shift"] == pytest.approx(paired_power(4, pred, 0.06))
    assert math.isnan(p.loc["vocabulary, decoder", "power at the predicted shift"])  # no prediction there


def test_predicted_prefix_shift_is_the_law_on_the_budget_the_prefix_leaves():
    t = pd.DataFrame({"variant": ["prefix, C_self + C_cross"] * 3 + ["decoder"],
                      "C_self": [1.0, 1.0, 1.0, 1.0], "C_cross": [0.1, 0.2, 0.3, 0.0]})
    assert R.predicted_prefix_shift(t, 0.5) == pytest.approx(-0.5 * math.log(1.2))
    with pytest.raises(ReplicationError, match="no 'prefix, C_self \\+ C_cross' runs"):
        R.predicted_prefix_shift(t[t["variant"] == "decoder"], 0.5)
