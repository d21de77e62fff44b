"""The wide study's results (replication.studies.wide, issue 30): the held-out prediction validated on runs
from a known loss surface, its prediction interval's coverage, and the tables read from a store that holds
part of the study. Nothing here trains."""
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy.stats import t as student_t

from _study_fakes import WIDE_LAW, fake_wide_store, record
from replication.errors import ReplicationError
from replication.fit import predict_loss
from replication.store.runs import RunStore
from replication.studies import wide, wide_paired
from replication.studies.chinchilla_design import num_nonembedding_params
from replication.studies.chinchilla_runs import COUNTS, per_token_flops, runs_table
from replication.studies.wide_design import DEFAULT, TRAIN_TOKENS, WideStudy
from replication.studies.wide_lr import HorizonRule
from replication.sweep import designs
from replication.verdict import box_markdown, words

#: A surface whose IsoFLOP minima fall inside every profile of the design.
LAW = WIDE_LAW
#: The learning-rate optimum the fake store's losses have.
RULE = HorizonRule(0.008, 0.5, 0.15)
STUDY = replace(DEFAULT, lr_rule=HorizonRule(0.01, 0.6, 0.1), duel_n_opt=2.5e5)


def synthetic_runs(noise=0.0, seed=0, study=DEFAULT):
    """The runs table of every IsoFLOP run of ``study`` had its final loss followed ``LAW`` (times a
    log-normal factor of sd ``noise``)."""
    rng = np.random.default_rng(seed)
    rows = []
    for k, j, s in study.isoflop_points():
        w, m, c = study.widths[j], study.model(j), study.budgets[k]
        n, d = study.n(w), study.tokens(w, c)
        row = {"N": n, "D": d, "C": c, "seed": s, "budget": k, "rung": j, "width": w,
               "loss": float(predict_loss(LAW, n, d)) * math.exp(noise * rng.standard_normal()),
               "N_nonembedding": num_nonembedding_params(m)}
        rows.append(row | {f"C {x}": per_token_flops(m, x) * d for x in COUNTS})
    return pd.DataFrame(rows)


def true_optimum(c, study=DEFAULT):
    """N* and L* of LAW along the IsoFLOP line of ``c`` (D = c over the executed FLOPs per token,
    interpolated in log-log between even widths), on a fine grid."""
    ws = np.arange(4, 402, 2)
    logn = np.log([study.n(w) for w in ws])
    logp = np.log([study.per_token(w) for w in ws])
    g = np.linspace(logn[0], logn[-1], 200_001)
    loss = predict_loss(LAW, np.exp(g), c / np.exp(np.interp(g, logn, logp)))
    i = int(np.argmin(loss))
    return math.exp(g[i]), float(loss[i])


def test_the_held_out_prediction_recovers_a_known_surface():
    """Noise-free runs: each held-out budget's measured vertex is the surface's to 0.5%, the prediction
    from the six held-in budgets is within 3% (the line through them bends a little: the executed FLOPs per
    token are not proportional to N), and the predicted minimum loss within 0.01%."""
    preds = wide.held_out_prediction(runs=synthetic_runs(), bootstrap=100)
    assert [p.budget for p in preds] == [DEFAULT.budgets[k] for k in DEFAULT.held_out_budgets]
    for p in preds:
        n_star, loss_star = true_optimum(p.budget)
        assert p.measured_n_star == pytest.approx(n_star, rel=5e-3)
        assert p.n_star == pytest.approx(n_star, rel=0.03)
        assert p.loss_star == pytest.approx(loss_star, rel=1e-4)
        assert p.measured_loss_star == pytest.approx(loss_star, rel=1e-4)
        assert p.n_star_error == pytest.approx(p.measured_n_star / p.n_star - 1)


def test_the_held_out_prediction_is_kept_by_its_runs_and_arguments(tmp_path, monkeypatch):
    """Kept on disk (the chapters and the headlines ask for it): read back as computed, and computed again for
    other runs or other arguments."""
    from replication import memo

    monkeypatch.setenv(memo.ENV, str(tmp_path))
    runs = synthetic_runs()
    direct = wide._held_out_prediction(DEFAULT, runs, "executed", 100, 0, 1e-3, "profile", wide.LEVEL)
    first, again = (wide.held_out_prediction(runs=runs, bootstrap=100) for _ in range(2))
    assert first == again == direct and isinstance(first[0].n_star_interval, tuple)
    kept = lambda: list(tmp_path.glob("wide_held_out_prediction-*.json"))  # noqa: E731
    assert len(kept()) == 1
    wide.held_out_prediction(runs=runs.assign(loss=runs["loss"] * 1.001), bootstrap=100)
    wide.held_out_prediction(runs=runs, bootstrap=100, level=0.9)
    assert len(kept()) == 3


def test_the_prediction_interval_covers_the_truth_under_noise():
    """Seeds of 0.3% noise in the loss: the 80% intervals of N* and L* hold the surface's values in most
    replicates, and are wider than without noise."""
    hits = {"N": 0, "L": 0}
    preds = []
    for r in range(5):
        for p in wide.held_out_prediction(runs=synthetic_runs(0.003, seed=100 + r), bootstrap=100, seed=r):
            n_star, loss_star = true_optimum(p.budget)
            hits["N"] += p.n_star_interval[0] <= n_star <= p.n_star_interval[1]
            hits["L"] += p.loss_star_interval[0] <= loss_star <= p.loss_star_interval[1]
            preds.append(p)
    assert hits["N"] >= 8 and hits["L"] >= 7, hits
    quiet = wide.held_out_prediction(runs=synthetic_runs(), bootstrap=100)[0]
    assert all(p.n_star_interval[1] / p.n_star_interval[0] > quiet.n_star_interval[1] / quiet.n_star_interval[0]
               for p in preds)


def test_the_lines_prediction_interval_has_its_coverage():
    """The t prediction interval of a new point (k − 2 degrees of freedom) holds it 80% of the time, on
    lines of six points drawn with a known scatter and a new point beyond their range."""
    rng = np.random.default_rng(0)
    x = np.log(np.array([2.5e11 * 2 ** i for i in range(6)]))
    x0 = math.log(3.2e13)
    hits = 0
    for _ in range(4000):
        y = 0.5 * x + 0.1 * rng.standard_normal(6)
        _, (lo, hi) = wide._line_prediction(x, y, x0)
        hits += lo <= 0.5 * x0 + 0.1 * rng.standard_normal() <= hi
    assert hits / 4000 == pytest.approx(0.8, abs=0.02)


def test_the_duel_design_waits_on_the_held_in_runs(tmp_path):
    fake_wide_store(tmp_path, DEFAULT, LAW, RULE, tuning_only=True)  # a fitted rule, and no IsoFLOP run
    with pytest.raises(ReplicationError, match="IsoFLOP run"):
        designs.plan("wide", "duel", root=tmp_path)


def test_the_prediction_needs_held_out_runs_and_three_vertices():
    t = synthetic_runs()
    with pytest.raises(ReplicationError, match="no held-out budget"):
        wide.held_out_prediction(runs=t[t["budget"] < 6], bootstrap=0)
    with pytest.raises(ReplicationError, match="3 are needed"):
        wide.held_out_prediction(runs=t[t["budget"].isin([0, 1, 6, 7])], bootstrap=0)


def test_progress_counts_what_is_recorded(tmp_path):
    store = RunStore(tmp_path)
    first = [STUDY.sweep_config(*p) for p in STUDY.sweep_points()]
    for cfg in first[:3]:
        record(store, cfg, lambda d: 3.0, TRAIN_TOKENS, wall_s=120.0)
    t = wide.progress(STUDY, store).set_index("part")
    assert t.loc["learning-rate sweep, first seeds", ["runs", "recorded"]].tolist() == [len(first), 3]
    assert t.loc["learning-rate sweep, first seeds", "recorded core-minutes"] == pytest.approx(6.0)
    assert t.loc["IsoFLOP profiles, first seeds", "recorded"] == 0
    assert t.loc["total", "recorded"] == 3
    assert t.loc["total", "runs"] == t["runs"].iloc[:-1].sum()
    # the second seeds wait on the first: planned, none recorded
    assert wide.part_configs(STUDY, store)["learning-rate sweep, second seeds"] is None


def test_the_warmup_pilot_and_its_paired_tests(tmp_path):
    store = RunStore(tmp_path)
    cfgs = STUDY.tuning_configs()[len(STUDY.sweep_points()):]
    shift = {0.0: 0.0, 1.0: -0.010, 10.0: 0.020}
    seed_effect = {0: 0.0, 1: 0.05}
    jitter = {(1.0, 1): 0.002, (10.0, 1): -0.003}
    for (w, s), cfg in zip(STUDY.warmup_points(), cfgs):
        record(store, cfg, lambda d, w=w, s=s: 2.5 + shift[w] + seed_effect[s] + jitter.get((w, s), 0.0))
    t = wide_paired.warmup_table(STUDY, store)
    assert len(t) == 6 and t.loc[t["warmup"] == 0, "vs none"].tolist() == [0.0, 0.0]
    tests = wide_paired.warmup_tests(t)
    assert tests[1.0].difference == pytest.approx(-0.009) and tests[1.0].seeds == 2
    assert tests[10.0].difference == pytest.approx(0.0185)
    assert (t["warmup steps"] > 0).sum() == 4


def test_chinchilla_against_gopher_is_a_paired_test(tmp_path):
    store = RunStore(tmp_path)
    seed_effect = {0: 0.0, 1: 0.03, 2: -0.02, 3: 0.01}
    gap = {"predicted N_opt": 0.0, "4x larger": 0.020, "4x smaller": 0.035}
    wiggle = [0.001, -0.002, 0.0015, -0.0005]
    for (name, w, s), cfg in zip(STUDY.duel_points(), STUDY.duel_configs()):
        record(store, cfg, lambda d, name=name, s=s: 2.0 + seed_effect[s] + gap[name]
               + (wiggle[s] if name != "predicted N_opt" else 0.0))
    t = wide_paired.duel_table(STUDY, store)
    assert len(t) == 12 and set(t["model"]) == set(gap)
    tests, verdict = wide_paired.duel(t)
    assert tests["4x larger"].difference == pytest.approx(0.020 + np.mean(wiggle))
    assert tests["4x smaller"].seeds == 4 and tests["4x smaller"].p < 0.001
    assert verdict.outcome == "agrees"
    # a model no better than N_opt on some seeds: not significant, so inconclusive
    t.loc[(t["model"] == "4x larger") & (t["seed"] == 0), "loss"] -= 0.05
    assert wide_paired.duel(t)[1].outcome == "inconclusive"
    with pytest.raises(ReplicationError, match="no run of Chinchilla against Gopher"):
        wide_paired.duel(t.iloc[0:0])
    # N_opt's mean loss over its seeds (2.005) against the least loss predicted for the budget
    from types import SimpleNamespace

    def where(lo, hi, table=t):
        return wide_paired.n_opt_loss(table, SimpleNamespace(loss_star=(lo + hi) / 2, loss_star_interval=(lo, hi)),
                                      0.8)
    own = where(1.99, 2.02)
    assert own["mean"] == pytest.approx(2.005) and own["seeds"] == 4 and own["where"] == "inside"
    assert (own["least"], own["greatest"]) == pytest.approx((1.98, 2.03))
    # the mean's 80% t interval over the four seeds
    half = student_t.ppf(0.9, 3) * np.std([0.0, 0.03, -0.02, 0.01], ddof=1) / 2
    assert own["interval"] == pytest.approx((2.005 - half, 2.005 + half))
    assert where(2.006, 2.1)["where"] == "below" and where(1.9, 2.004)["where"] == "above"
    # a NaN loss is no seed; one seed has no interval
    nan_seed = t.assign(loss=np.where((t["model"] == "predicted N_opt") & (t["seed"] == 3), np.nan, t["loss"]))
    assert where(1.9, 2.1, nan_seed)["seeds"] == 3
    one = where(1.9, 2.1, t[(t["model"] != "predicted N_opt") | (t["seed"] == 0)])
    assert one["seeds"] == 1 and np.isnan(one["interval"]).all() and one["mean"] == pytest.approx(2.0)
    assert wide_paired.n_opt_loss(t, None, 0.8) is None
    assert wide_paired.n_opt_loss(t[t["model"] != "predicted N_opt"], SimpleNamespace(loss_star_interval=(1, 3)),
                                  0.8) is None


def test_the_runs_table_reads_a_study_still_training(tmp_path):
    store = RunStore(tmp_path)
    cfgs = STUDY.isoflop_configs()
    with pytest.raises(ReplicationError, match="no IsoFLOP run"):
        runs_table(STUDY, store, recorded_only=True)
    for cfg in cfgs[:5]:
        record(store, cfg, lambda d: 3.0)
    t = runs_table(STUDY, store, recorded_only=True)
    assert t["run_id"].tolist() == [c.run_id() for c in cfgs[:5]]
    assert set(t["budget"]) == {0}
    with pytest.raises(ReplicationError, match="not recorded"):
        runs_table(STUDY, store)


@pytest.fixture(scope="module")
def complete(tmp_path_factory):
    """A store holding every run of the wide study, its losses from LAW with the learning-rate optimum at
    RULE (0.2% noise per run): a fresh design reads its rule from it."""
    root = tmp_path_factory.mktemp("wide")
    mp = pytest.MonkeyPatch()
    mp.setenv("REPLICATION_RUNS_DIR", str(root))
    study = WideStudy(duel_n_opt=2.93e5)  # not DEFAULT: a design keeps the rule it first read
    store = fake_wide_store(root, study, LAW, RULE, noise=0.002)
    yield study, store
    mp.undo()


def test_the_complete_study_recovers_its_rule_and_its_law(complete):
    """The sweep's fitted rule is the one the losses were made with; every part is recorded; the held-out
    budgets are predicted inside their intervals; the law's N_opt beats both others, paired by seed; and the
    headline verdict rests on all eight budgets."""
    study, store = complete
    rule = study.rule
    assert rule.lr_ref == pytest.approx(RULE.lr_ref, rel=0.1)
    assert rule.n_exponent == pytest.approx(RULE.n_exponent, abs=0.1)
    assert rule.tpp_exponent == pytest.approx(RULE.tpp_exponent, abs=0.1)
    p = wide.progress(study, store)
    assert (p["recorded"] == p["runs"]).all()
    preds = wide.held_out_prediction(study, store, bootstrap=200)
    assert all(x.n_star_inside and x.loss_star_inside for x in preds)
    tests, verdict = wide_paired.duel(wide_paired.duel_table(study, store))
    assert verdict.outcome == "agrees" and all(t.difference > 0.01 for t in tests.values())
    v, held_out, chinchilla_gopher = wide.verdicts(study, store, bootstrap=200)
    assert held_out.outcome == "agrees" and held_out.n == 2 and chinchilla_gopher.outcome == "agrees"
    assert "its loss 1.2" in chinchilla_gopher.finding, chinchilla_gopher.finding
    assert words(box_markdown([v, held_out, chinchilla_gopher])) <= 60
    # the duel's N_opt: the held-in line at the top budget, as the held-out prediction gives it
    assert wide.held_in_n_opt(study, store) == pytest.approx(preds[-1].n_star, rel=1e-3)
    assert wide_paired.duel_table(replace(study, duel_n_opt=None), store).empty
    # the claims ledger's row: the larger model on fewer tokens against N_opt alone, then before the duel trains
    gopher = wide_paired.against_gopher(study, store)
    assert gopher.outcome == "agrees" and gopher.n == len(study.duel_seeds) and gopher.p_value < 0.05
    assert wide_paired.against_gopher(replace(study, duel_n_opt=None), store).outcome == "inconclusive"
    # `replication sweep wide --design duel` trains it there
    duel = designs.plan("wide", "duel", root=store.root)
    n_opt = wide.held_in_n_opt(study, store)
    assert [p.run_id for p in duel] == [c.run_id() for c in replace(study, duel_n_opt=n_opt).duel_configs()]
    assert v.n == len(study.budgets) and v.outcome in ("agrees", "disagrees") and f"all {len(study.budgets)} budgets" in v.finding


def test_the_chapter_reads_a_complete_study(complete):
    """The chapter's view of a complete store: every part computed, every paragraph says what it found."""
    from _lib import wide as view
    from _lib import wide_figures as plots

    study, store = complete
    st = view.read(study, 50, 0, store)
    assert st.rule is not None and st.counts is not None and len(st.predictions) == 2 and len(st.duel) == 12
    robust = st.robust.set_index("analysis")
    assert {f"without width {w}" for w in st.runs["width"].unique()} <= set(robust.index)
    assert robust.loc["without budget 3.2×10¹³", "a"] == pytest.approx(st.fit2["a"], abs=0.1)
    assert "our first study, on the King James Bible" in robust.index
    numbers = view.glue_numbers(st)
    assert numbers["wd_recorded"] == numbers["wd_runs"]
    assert "inside" in view.prediction_markdown(st) and "Outcome: *agrees*" in view.duel_markdown(st)
    assert "the least loss the held-in fits predict for this budget" in view.duel_markdown(st)
    # the batch test: each alternative-batch run beside the batch-8 run of its width and seed
    assert len(st.batch) == len(study.batch_points()) and st.batch["difference"].abs().max() < 0.05
    assert f"Batch {study.batch_alternative} minus batch {study.batch_size}, paired by seed" in view.batch_markdown(st)
    assert "Fitted to the 6 bracketed optima" in view.rule_markdown(st)
    for fig in (plots.plot_sweep(st), plots.plot_profiles(st), plots.plot_prediction(st), plots.plot_duel(st)):
        assert fig.axes
    assert "Table" in view.prediction_table(st)._repr_html_() and "Table" in view.accounting_table(st)._repr_html_()
    assert "Table" in view.robustness_table(st)._repr_html_() and "Table" in view.intervals_table(st)._repr_html_()
    assert "Table" in view.approach3_table(st)._repr_html_() and "Table" in view.vertex_table(st)._repr_html_()
    assert "Table" in view.approaches_table(st)._repr_html_()
    assert st.intervals1["combined"]["a"].vertices == len(study.budgets)


def test_exponents_of_a_study_still_training_with_a_budget_of_one_width():
    """A budget whose only run so far is of one width has no vertex, and none when that width is left out:
    the leave-one-width-out refits keep one vertex per budget (NaN there), as the full fit does."""
    from replication.studies.chinchilla_approach2 import exponents

    t = synthetic_runs(0.002, seed=3)
    t = t[t["seed"] == 0]
    top = t[t["budget"] == 7]
    t = pd.concat([t[t["budget"] < 7], top[top["width"] == top["width"].min()]], ignore_index=True)
    ex = exponents(DEFAULT, runs=t, count="6N", bootstrap=20)
    assert ex["a"].vertices == 7
    lo, hi = dict(ex["a"].ranges)["leave one width out"]
    assert lo <= ex["a"].estimate <= hi and hi - lo < 0.3


def test_the_chapter_reads_the_study_at_every_stage_of_its_training(tmp_path, monkeypatch):
    """The store as the study fills it: the tuning, then the IsoFLOP runs in training order, read at a few
    stages (a budget half done, three budgets, all but the top one): the chapter's every table and figure
    comes out, and its verdict waits on three vertices."""
    import matplotlib.pyplot as plt

    from _lib import wide as view
    from _lib import wide_figures as plots
    from replication.studies.chinchilla_design import num_params
    from _study_fakes import surface

    monkeypatch.setenv("REPLICATION_RUNS_DIR", str(tmp_path))
    first = WideStudy()
    store = fake_wide_store(tmp_path, first, LAW, RULE, noise=0.005, tuning_only=True)
    iso = sorted(first.isoflop_points(), key=lambda p: (p[2] not in first.seeds, p[0], p[1]))
    cfgs = [first.config(first.widths[j], first.budgets[k], s) for k, j, s in iso]
    done = 0
    for stage in (10, 25, 44):
        for cfg in cfgs[done:stage]:
            n = num_params(cfg.model)
            off = 0.005 * np.random.default_rng(int(cfg.run_id(), 16)).standard_normal()
            record(store, cfg, lambda d, n=n, off=off: float(surface(n, d, LAW)) + off)
        done = stage
        st = view.read(WideStudy(), 20, 0, store)
        view.glue_numbers(st)
        outcome = wide.verdicts(st.study, counts=st.counts, vertices=0 if st.fit2 is None else
                                int(st.fit2.table["interior"].sum()), predictions=st.predictions or [],
                                duel_runs=st.duel)[0].outcome
        assert (outcome == "inconclusive") == (st.counts is None), stage
        for table in (view.progress_table, view.vertex_table, view.accounting_table, view.intervals_table,
                      view.robustness_table, view.approach3_table, view.approaches_table, view.prediction_table):
            shown = table(st)
            assert shown is None or "Table" in shown._repr_html_()
        for plot in (plots.plot_sweep, plots.plot_profiles, plots.plot_prediction):
            plt.close(plot(st))
    # the first held-out budget has begun: predicted, not yet measured
    assert st.counts is not None and [math.isfinite(p.measured_n_star) for p in st.predictions] == [False]
    assert "no vertex yet" in view.prediction_markdown(st) and "nan" not in view.prediction_table(st)._repr_html_()


def test_a_half_trained_duel_is_inconclusive_not_an_error():
    """The duel lands run by run: with only the predicted model, or without it, or with one seed paired, each
    comparison is a test of the seeds it has, and the verdicts say inconclusive with them."""
    rows = lambda model, seeds, loss: [{"model": model, "width": 40, "N": 1e5, "D/N": 30, "seed": s,  # noqa: E731
                                        "loss": loss + 0.001 * s} for s in seeds]
    only_ref = pd.DataFrame(rows("predicted N_opt", (0, 1), 1.5))
    tests, v = wide_paired.duel(only_ref)
    assert v.outcome == "inconclusive" and v.n == 0
    no_ref = pd.DataFrame(rows("4x larger", (0, 1), 1.6))
    tests, v = wide_paired.duel(no_ref)
    assert v.outcome == "inconclusive" and tests["4x larger"].seeds == 0
    one_pair = pd.DataFrame(rows("predicted N_opt", (0, 1), 1.5) + rows("4x larger", (0,), 1.6)
                            + rows("4x smaller", (0, 1), 1.55))
    tests, v = wide_paired.duel(one_pair)
    assert v.outcome == "inconclusive" and v.n == 1 and tests["4x smaller"].difference == pytest.approx(0.05)
    [_, _, chinchilla_gopher] = wide.verdicts(DEFAULT, counts=None, vertices=0, predictions=[], duel_runs=one_pair)
    assert "larger 1 seed paired" in chinchilla_gopher.finding and "smaller +0.050" in chinchilla_gopher.finding


def test_the_prediction_verdict_judges_jointly_and_says_what_lies_outside_alone():
    def pred(budget, measured_n, measured_loss):
        return wide.Prediction(budget, 100.0, (80.0, 120.0), 2.0, (1.9, 2.1), measured_n, (90.0, 110.0),
                               measured_loss, 0.95, (60.0, 150.0), (1.8, 2.2))
    inside = [pred(1.6e13, 100.0, 2.0), pred(3.2e13, 130.0, 1.85)]  # the second outside its 80% intervals only
    v = wide._prediction_verdict(DEFAULT, inside)
    assert v.outcome == "agrees" and "all inside jointly (2 of 4 outside their own 80%)" in v.finding
    assert "outside their own" not in wide._prediction_verdict(DEFAULT, inside[:1] + inside[:1]).finding
    outside = [inside[0], pred(3.2e13, 160.0, 2.0)]  # N* outside its joint interval too
    assert wide._prediction_verdict(DEFAULT, outside).outcome == "disagrees"
    assert wide._prediction_verdict(DEFAULT, inside[:1]).outcome == "inconclusive"
