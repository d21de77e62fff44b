"""The wide study's design (replication.studies.wide_design, wide_lr, wide_plan; issue 30): its invariants,
its learning-rate rule, its plan and its place in ``replication sweep``. Nothing here trains. The checks of
the real corpus (``make corpus``, which ``make test`` runs first) skip elsewhere, outside CI."""
import math
import os
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from replication.cli import main as cli
from replication.corpus import debian
from replication.errors import ReplicationError
from replication.studies.chinchilla_design import DEFAULT as KJV
from replication.studies.wide_design import DEFAULT, KJV_LAW, KJV_LR, TRAIN_TOKENS, WideStudy
from replication.studies.wide_lr import HorizonRule, best_and_neighbours, fit_rule
from replication.studies.wide_plan import MEASURED, Speed, plan
from replication.sweep import designs

RULE = HorizonRule(0.01, 0.6, 0.1)
STUDY = replace(DEFAULT, lr_rule=RULE)


def test_budgets_span_100x_each_twice_the_last():
    c = np.array(DEFAULT.budgets)
    assert len(c) >= 8 and c[-1] / c[0] >= 100
    assert np.allclose(c[1:] / c[:-1], 2)


def test_every_run_keeps_the_rules():
    """Within two epochs of the training split and at least min_steps steps, every IsoFLOP, sweep, pilot,
    batch and duel run; the design's own check finds nothing."""
    assert DEFAULT.check() == []
    for cfg in STUDY.tuning_configs() + STUDY.configs() + STUDY.duel_configs():
        tokens = cfg.num_steps() * cfg.batch_size * cfg.model.num_latents
        assert tokens / TRAIN_TOKENS <= 2.0, cfg
        assert cfg.num_steps() >= DEFAULT.min_steps, cfg


def test_two_or_more_sizes_either_side_of_each_expected_vertex():
    for k, c in enumerate(DEFAULT.budgets):
        v = DEFAULT.nearest_rung(DEFAULT.expected_n(c))
        rungs = DEFAULT.profile(k)
        assert v in rungs
        assert sum(j < v for j in rungs) >= 2 and sum(j > v for j in rungs) >= 2


def test_three_seeds_at_the_three_widths_around_each_vertex():
    pts = DEFAULT.isoflop_points()
    for k, c in enumerate(DEFAULT.budgets):
        v = DEFAULT.nearest_rung(DEFAULT.expected_n(c))
        for j in (v - 1, v, v + 1):
            assert len({s for kk, jj, s in pts if (kk, jj) == (k, j)}) >= 3
    assert len(pts) == len(set(pts))


def test_the_sweep_crosses_three_widths_and_two_horizons_four_times_apart():
    pts = DEFAULT.sweep_points()
    assert len({j for j, *_ in pts}) >= 3
    horizons = sorted({h for _, h, *_ in pts})
    assert len(horizons) >= 2 and horizons[-1] / horizons[0] >= 4
    for j in DEFAULT.sweep_rungs:
        for h in horizons:
            rates = sorted(lr for jj, hh, lr, _ in pts if (jj, hh) == (j, h))
            assert len(rates) >= 5 and rates[0] < KJV_LR(DEFAULT.n(DEFAULT.widths[j]), h) < rates[-1]


def test_second_seeds_go_to_each_cells_best_rate_and_its_neighbours():
    grid = pd.DataFrame({"rung": [0] * 5 + [1] * 3, "horizon": [16.0] * 5 + [64.0] * 3,
                         "lr": [1, 2, 4, 8, 16, 1, 2, 4], "loss": [5, 4, 3, 3.5, 4, 2, 2.5, 3]})
    assert best_and_neighbours(grid) == [(0, 16.0, 2.0), (0, 16.0, 4.0), (0, 16.0, 8.0), (1, 64.0, 1.0),
                                         (1, 64.0, 2.0)]


def test_the_rule_is_fitted_per_size_and_horizon():
    """Parabolas in log lr through synthetic losses whose optimum is RULE's find RULE again."""
    rows = []
    for n in (2e4, 6e4, 1.5e5):
        for h in (16.0, 64.0):
            best = RULE(n, h)
            for f in (0.25, 0.5, 1.0, 2.0, 4.0):
                lr = best * f * 1.1
                rows.append({"rung": int(n), "width": 1, "N": n, "horizon": h, "lr": lr, "seed": 0,
                             "loss": 2 + 0.1 * math.log(lr / best) ** 2})
    fitted = fit_rule(pd.DataFrame(rows))
    assert (fitted.lr_ref, fitted.n_exponent, fitted.tpp_exponent) == pytest.approx((0.01, 0.6, 0.1), rel=1e-6)
    assert fitted.cells == 6
    with pytest.raises(ReplicationError, match="3 at 2 sizes and 2 horizons"):
        HorizonRule.fit([1e4, 2e4], [16, 16], [1e-2, 5e-3])


def test_runs_use_the_rule_at_their_size_and_horizon():
    cfgs = STUDY.configs()
    assert len({c.run_id() for c in cfgs}) == len(cfgs)
    for cfg in cfgs:
        n = cfg.model.shape().num_params
        d = cfg.num_steps() * cfg.batch_size * cfg.model.num_latents
        assert cfg.lr == RULE.rate(n, d / n)
        assert (cfg.corpus, cfg.tokenizer, cfg.accounting) == ("debian-docs", "bytes", "executed")


def test_chinchilla_against_gopher_at_the_top_budget():
    unpinned = replace(DEFAULT, duel_n_opt=None)  # before the held-in budgets have trained
    widths = unpinned.duel_widths()
    n = {k: DEFAULT.n(w) for k, w in widths.items()}
    opt = n["predicted N_opt"]
    assert opt == pytest.approx(DEFAULT.expected_n(DEFAULT.budgets[-1]), rel=0.05)
    assert 3.5 <= n["4x larger"] / opt <= 4.5 and 3.5 <= opt / n["4x smaller"] <= 4.5
    pts = unpinned.duel_points()
    assert all(sum(p[0] == k for p in pts) >= 4 for k in widths)
    assert [p[2] for p in pts[:3]] == [0, 0, 0]  # seed by seed: a sweep stopped part way leaves whole pairs
    assert {c.budget_flops for c in STUDY.duel_configs()} == {DEFAULT.budgets[-1]}
    # the predicted N_opt the training session gives moves the three models
    moved = replace(DEFAULT, duel_n_opt=opt / 2)
    assert DEFAULT.n(moved.duel_widths()["predicted N_opt"]) < opt
    # the design trains the duel at the N_opt its recorded held-in budgets predict
    from replication.studies.wide import held_in_n_opt

    assert DEFAULT.duel_n_opt == held_in_n_opt(replace(DEFAULT, duel_n_opt=None))
    assert DEFAULT.check() == []
    # where the corpus leaves no model 4x smaller within two epochs, the check says so
    assert any("4x smaller" in line for line in moved.check())


def test_fits_hold_out_the_top_two_budgets():
    assert DEFAULT.fit_budgets == tuple(range(6)) and DEFAULT.held_out_budgets == (6, 7)


def test_budgets_and_device_are_the_parameters():
    """A longer list of budgets changes the runs and nothing else of a run; a device's throughput changes
    the minutes only."""
    longer = replace(STUDY, budgets=DEFAULT.budgets + (6.4e13,))
    old = {c.run_id() for c in STUDY.isoflop_configs()}
    assert old < {c.run_id() for c in longer.isoflop_configs()}
    gpu = plan(DEFAULT, Speed(throughput=1e12))
    cpu = plan(DEFAULT)
    assert (gpu["runs"] == cpu["runs"]).all() and np.allclose(gpu["executed FLOPs"], cpu["executed FLOPs"])
    assert gpu["core-minutes"].iloc[-1] == pytest.approx(cpu["executed FLOPs"].iloc[-1] / 1e12 / 60)


def test_the_plan_fits_six_hours_of_two_cores():
    t = plan(DEFAULT).set_index("part")
    assert t.loc["total", "core-minutes"] <= 6 * 2 * 60
    assert t.loc["total", "runs"] == t["runs"].iloc[:-1].sum()
    # the plan printed before training, the duel at the King James law's N_opt; trained at the held-in fit's
    # 418k, none of the duel's models is an IsoFLOP run of the top budget, and the duel costs more
    before = plan(replace(DEFAULT, duel_n_opt=None)).set_index("part")
    assert before.loc["total", "executed FLOPs"] == pytest.approx(1.24e15, rel=0.02)
    assert t.loc["Chinchilla against Gopher", "runs"] == 12 > before.loc["Chinchilla against Gopher", "runs"]
    # the step measured slowest at the widest width, and the fitted line through every measured step
    speed = Speed()
    for _, r in MEASURED.iterrows():
        assert np.polyval(speed.lines["compiled_s"], r["flops_per_step"]) == pytest.approx(r["compiled_s"],
                                                                                           rel=0.1)


def test_the_plan_command(capsys):
    assert cli(["sweep", "plan", "wide"]) == 0
    out = capsys.readouterr().out
    assert "Chinchilla against Gopher" in out and "fits" in out and "total" in out
    assert cli(["sweep", "plan", "wide", "--budgets", "1e12,5e11"]) == 2
    assert "need at least two, increasing" in capsys.readouterr().err
    assert cli(["sweep", "plan", "kjv"]) == 2


def test_the_sweep_runs_the_tuning_first(tmp_path, monkeypatch):
    tuning = designs.plan("wide", "tuning", root=tmp_path)
    assert len(tuning) == len({c.run_id() for c in DEFAULT.tuning_configs()})
    with pytest.raises(ReplicationError, match="replication sweep wide --design tuning"):
        designs.plan("wide", "isoflop", root=tmp_path)
    import replication.studies.wide_lr as wide_lr

    monkeypatch.setattr(wide_lr, "recorded_rule", lambda study, store=None: RULE)
    everything = designs.plan("wide", root=tmp_path)
    assert {p.run_id for p in everything} == {c.run_id() for c in DEFAULT.tuning_configs() + STUDY.configs()}


def test_the_expected_vertices_and_first_rates_are_the_king_james_studys():
    from replication.studies.chinchilla import approach2

    fit = approach2(bootstrap=0)
    assert KJV_LAW == (float(f"{fit.params['k_N']:.3g}"), float(f"{fit.params['a']:.3g}"))
    assert (KJV_LR.lr_ref, KJV_LR.n_exponent, KJV_LR.tpp_exponent) == (KJV.rule.lr_ref, KJV.rule.exponent, 0.0)


def _real_corpus():
    try:
        return debian.manifest()
    except ReplicationError as err:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"{err} (make test runs it first)")


def test_the_real_corpus_is_the_designs():
    m = _real_corpus()
    from replication.corpus import load_data

    assert m["bytes"] >= 25e6 and m["documents"] >= 3000
    data = load_data("debian-docs", "bytes")
    assert len(data.train) == TRAIN_TOKENS
    assert WideStudy().train_tokens == TRAIN_TOKENS
