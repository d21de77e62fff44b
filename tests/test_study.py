"""Our CPU-scale Chinchilla study: its design, its FLOP and parameter counts against the PyTorch model,
the recorded learning-rate sweep, and its analysis on fake run stores with known answers.

Nothing here trains. The recorded sweep (read from runs/) is the only real data; everything else is a
store written by tests/_study_fakes.py from a known loss surface.
"""
import math
import re
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from _study_fakes import LAW, TINY, fake_store, surface
from replication.errors import ReplicationError
from replication.store.runs import RunStore
from replication.studies import chinchilla as S
from replication.studies import chinchilla_lr as LR
from replication.studies import chinchilla_tuning as T
from replication.studies.chinchilla_design import (DEFAULT, PILOTS, RECIPES, TRAIN_TOKENS, WIDTHS, flops_exponent,
                                                   ladder, num_nonembedding_params, num_params)
from replication.training.model import PerceiverAR

pytestmark = pytest.mark.usefixtures("one_thread")


def executed_per_token(model) -> int:
    """Training FLOPs per token of every matmul of one step, by hand: per layer the weights (q, k, v
    6d^2, output 2d^2, MLP 16d^2) and attention over the full n x n (q.k^T 2dn, attention.v 2dn), and
    the tied unembedding 2dV; backward costs twice forward. test_executed_flops_match_a_count_of_the_model
    checks this against PyTorch's own count."""
    d, n, L, V = model.num_channels, model.num_latents, model.num_layers, model.vocab_size
    return 3 * (L * (24 * d * d + 4 * d * n) + 2 * d * V)


def torch_params(model) -> tuple[int, int]:
    """(every parameter, every parameter but the embeddings and the output bias) of the PyTorch model."""
    net = PerceiverAR(model)
    total = sum(p.numel() for p in net.parameters())
    embedding = {"tok_emb.weight", "pos_emb.weight", "out_bias"}
    return total, sum(p.numel() for name, p in net.named_parameters() if name not in embedding)


# -- 1. the default design -------------------------------------------------------------------------


def test_default_budgets_sizes_and_seeds():
    s = DEFAULT
    b = np.array(s.budgets)
    assert len(b) >= 5 and b[-1] / b[0] >= 16
    points = s.isoflop_points()
    for k, rungs in enumerate(s.profiles):
        sizes = {num_params(s.model(j)) for j in rungs}
        assert len(sizes) >= 5
        for j in rungs:
            assert len({seed for kk, jj, seed in points if (kk, jj) == (k, j)}) >= 2
    ids = [c.run_id() for c in s.configs()]
    assert len(ids) == len(set(ids))
    assert s.check() == []


def test_default_isoflop_runs_train_enough_steps_and_few_enough_epochs():
    s = DEFAULT
    for k, j, seed in s.isoflop_points():
        cfg = s.config(j, s.budgets[k], seed)
        tokens_per_step = s.batch_size * s.num_latents
        steps = math.ceil(s.budgets[k] / executed_per_token(cfg.model) / tokens_per_step)
        assert cfg.num_steps() == steps
        assert steps >= s.min_steps
        assert steps * tokens_per_step / TRAIN_TOKENS <= s.max_epochs


def test_train_tokens_is_the_recorded_training_split():
    # any recorded run of the default corpus says how many tokens its training split had
    cfg = DEFAULT.sweep_configs()[0]
    assert RunStore().run(cfg.run_id()).summary["train_tokens"] == TRAIN_TOKENS


def test_default_models_are_one_shape_family():
    s = DEFAULT
    for j in range(len(s.widths)):
        total, nonembedding = torch_params(s.model(j))
        assert nonembedding >= total / 2, f"d={s.widths[j]}"
    shapes = {(c.model.num_layers, c.model.num_heads, c.model.num_prefix) for c in s.configs()}
    assert shapes == {(s.num_layers, s.num_heads, 0)}
    ratios = np.array(s.widths[1:]) / np.array(s.widths[:-1])
    assert np.all(np.abs(ratios - 2 ** 0.25) <= 0.1), ratios
    assert s.widths == WIDTHS


def test_default_sweep_brackets_enough_rates_at_enough_sizes():
    rates = {}
    for j, lr in DEFAULT.sweep_points():
        rates.setdefault(j, set()).add(lr)
    wide = [j for j, r in rates.items() if len(r) >= 4 and max(r) / min(r) >= 8]
    assert len(wide) >= 3


def _parse_check(lines):
    """check()'s lines as {(width, "steps" | "epochs"): value}."""
    out = {}
    for line in lines:
        m = re.fullmatch(r"budget [^,]+, d=(\d+): ([\d.]+) (steps|epochs) [<>] [\d.]+", line)
        assert m, line
        out[(int(m[1]), m[3])] = float(m[2])
    return out


def test_check_reports_runs_that_break_the_rules():
    s = DEFAULT
    tokens_per_step = s.batch_size * s.num_latents
    # a first budget of 1e11: its larger sizes train fewer than min_steps steps
    small = replace(s, budgets=(1e11,) + s.budgets[1:])
    want = {}
    for j in s.profiles[0]:
        steps = math.ceil(1e11 / executed_per_token(s.model(j)) / tokens_per_step)
        if steps < s.min_steps:
            want[(s.widths[j], "steps")] = steps
    assert (s.widths[s.profiles[0][-1]], "steps") in want  # the largest model at least
    assert _parse_check(small.check()) == want
    runs_per_width = {s.widths[j]: len(s.seeds) + len(s.vertex_seeds) * ((0, j) in s.vertex_points)
                      for j in s.profiles[0]}
    assert len(small.check()) == sum(runs_per_width[w] for w, _ in want)  # each seed's run once
    # a last budget of 1e14: its smaller sizes see the training split more than max_epochs times
    big = replace(s, budgets=s.budgets[:-1] + (1e14,))
    want = {}
    for j in s.profiles[-1]:
        epochs = math.ceil(1e14 / executed_per_token(s.model(j)) / tokens_per_step) * tokens_per_step / TRAIN_TOKENS
        if epochs > s.max_epochs:
            want[(s.widths[j], "epochs")] = round(epochs, 2)
    assert want and _parse_check(big.check()) == want
    last = len(s.budgets) - 1
    runs_per_width = {s.widths[j]: len(s.seeds) + len(s.vertex_seeds) * ((last, j) in s.vertex_points)
                      for j in s.profiles[-1]}
    assert len(big.check()) == sum(runs_per_width[w] for w, _ in want)


# -- 2, 3. parameter and FLOP counts against the PyTorch model --------------------------------------


def test_parameter_counts_match_the_model():
    for j in range(len(WIDTHS)):
        m = DEFAULT.model(j)
        total, nonembedding = torch_params(m)
        assert num_params(m) == total
        assert num_nonembedding_params(m) == nonembedding


def _counted_forward(net, idx, targets, math_attention=False) -> dict:
    """FLOPs by op of one forward pass, as torch.utils.flop_counter counts them."""
    from contextlib import nullcontext

    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    with sdpa_kernel(SDPBackend.MATH) if math_attention else nullcontext(), FlopCounterMode(display=False) as counter:
        net(idx, targets)
    return {str(op): v for op, v in counter.get_flop_counts()["Global"].items()}


def test_executed_flops_match_a_count_of_the_model():
    torch.manual_seed(0)
    for j in range(len(WIDTHS)):
        m = DEFAULT.model(j)
        d, n, L, V = m.num_channels, m.num_latents, m.num_layers, m.vocab_size
        net = PerceiverAR(m)
        idx = torch.randint(0, V, (2, n))
        counted = sum(_counted_forward(net, idx, idx).values()) / idx.numel()
        # FlopCounterMode counts the linear layers and the unembedding (mm, addmm) but gives the fused
        # scaled-dot-product attention of the CPU nothing, so attention is added by hand: per layer and
        # token 2dn for q.k^T and 2dn for attention.v over the full n x n. Embedding lookups, norms,
        # softmax and GELU are not matmuls, and neither count has them.
        assert counted == L * 24 * d * d + 2 * d * V
        forward = counted + L * 4 * d * n
        assert 3 * forward == m.shape().self_attn_flops("executed") == executed_per_token(m)


def test_flop_count_terms_are_what_torch_executes():
    torch.manual_seed(0)
    m = DEFAULT.model(5)
    d, n, L, V = m.num_channels, m.num_latents, m.num_layers, m.vocab_size
    net = PerceiverAR(m)
    idx = torch.randint(0, V, (2, n))
    tokens = idx.numel()
    # attention through SDPA's unfused math path: its two batched matmuls are the hand-added term
    ops = _counted_forward(net, idx, idx, math_attention=True)
    assert ops["aten.bmm"] / tokens == L * 4 * d * n
    # backward runs twice forward's matmuls exactly (the embedding's backward is a scatter, not a matmul)
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        _, loss = net(idx, idx)
        loss.backward()
    forward = sum(_counted_forward(net, idx, idx).values())
    assert counter.get_total_flops() == 3 * forward


# -- 4. the recorded learning-rate sweep (runs/, read only) -----------------------------------------


def test_recorded_sweep_brackets_every_optimum_and_gives_the_rule():
    s = DEFAULT
    sweep = LR.sweep_table(s)
    opt = LR.lr_optima(sweep)
    assert len(opt) == len(s.sweep_rungs) and opt["inside"].all()
    # lr* by hand from the summaries: a parabola in log lr through the best rate and its neighbours
    store = RunStore()
    loss = {}
    for (j, lr), cfg in zip(s.sweep_points(), s.sweep_configs()):
        loss.setdefault(j, {})[lr] = store.run(cfg.run_id()).summary["final_val_loss"]
    log_n, log_lr = [], []
    for j, by_lr in sorted(loss.items()):
        lrs = sorted(by_lr)
        i = int(np.argmin([by_lr[r] for r in lrs]))
        assert 0 < i < len(lrs) - 1
        c2, c1, _ = np.polyfit(np.log(lrs[i - 1:i + 2]), [by_lr[r] for r in lrs[i - 1:i + 2]], 2)
        log_n.append(math.log(num_params(s.model(j)) / 1e5))
        log_lr.append(-c1 / (2 * c2))
    slope, icpt = np.polyfit(log_n, log_lr, 1)
    rule = LR.fit_lr_rule(sweep)
    assert rule.lr_ref == pytest.approx(math.exp(icpt), rel=1e-9)
    assert rule.exponent == pytest.approx(-slope, rel=1e-9) and rule.sizes == 3
    # the design reads its rule from the recorded sweep, stated to three significant digits
    assert s.rule == LR.LrRule(float(f"{math.exp(icpt):.3g}"), float(f"{-slope:.3g}"), 3) == rule.stated()
    assert (s.rule.lr_ref, s.rule.exponent) == (9.67e-3, 0.647)  # what every recorded run was trained with
    for j in range(len(s.widths)):
        n = torch_params(s.model(j))[0]
        assert s.lr(j) == float(f"{s.rule.lr_ref * (n / 1e5) ** -s.rule.exponent:.3g}")
    for k, j, seed in s.isoflop_points():
        assert s.config(j, s.budgets[k], seed).lr == s.lr(j)


def test_every_recorded_run_of_the_design_is_found():
    # the rule read from the sweep gives every run the rate it was recorded with: no run id moved
    assert S.missing(DEFAULT) == []
    assert len(S.runs_table(DEFAULT)) == len(DEFAULT.isoflop_points())


def test_train_missing_with_nothing_missing_trains_nothing(monkeypatch):
    import replication.sweep.local as local

    def refuse(*args, **kwargs):
        raise AssertionError("a recorded study was trained")

    monkeypatch.setattr(local, "get_or_train_many", refuse)
    runs = S.train_missing(DEFAULT)
    assert [r.id for r in runs] == [c.run_id() for c in DEFAULT.configs()] and all(r.finished for r in runs)


def test_a_rule_is_read_once_and_shared_frozen(monkeypatch):
    from dataclasses import FrozenInstanceError

    first = LR.recorded_rule(DEFAULT)
    assert LR.recorded_rule(replace(DEFAULT, seeds=(0,))) is first  # same sweep, same store: read once
    with pytest.raises(FrozenInstanceError):
        first.lr_ref = 1.0
    given = LR.LrRule(1e-2, 0.5)
    assert replace(DEFAULT, lr_rule=given).lr(5) == float(f"{1e-2 * (num_params(DEFAULT.model(5)) / 1e5) ** -0.5:.3g}")
    with pytest.raises(ReplicationError, match="lr_rule="):
        replace(DEFAULT, lr_rule=(1e-2, 0.5))


def test_a_store_without_the_sweep_names_it(tmp_path):
    with pytest.raises(ReplicationError, match=r"^17 run\(s\) of the learning-rate sweep are not recorded in .*; the "
                       r"design's learning-rate rule is fitted to them: train them \(replication sweep chinchilla "
                       r"--design tuning\) or give the design a rule") as err:
        LR.recorded_rule(DEFAULT, tmp_path)
    assert "\n" not in str(err.value)


def test_ladder_and_flops_exponent():
    t = ladder(TINY)
    assert list(t["width"]) == list(TINY.widths) and (t["share"] > 0.5).all()
    assert list(t["lr"]) == [TINY.lr(j) for j in range(len(TINY.widths))]
    k = flops_exponent(TINY)
    n, f = np.log(t["N"].to_numpy(float)), np.log(t["flops"].to_numpy(float))
    assert k == pytest.approx(np.polyfit(n, f, 1)[0]) and 0.5 < k < 1


# -- 5. the analysis on a known surface -------------------------------------------------------------

#: recipe -> nats added: with the paper's claimed sign (cycle 1.5× worse), against it (AdamW worse,
#: the paper says better), and none
RECIPE_SHIFT = {"cycle 1.5×": 0.05, "AdamW (wd 0.1)": 0.05, "decay to 0": 0.0}
#: per-seed jitter of each recipe's runs; decay to 0's sums to zero, so its difference is exactly none
RECIPE_JITTER = {"cycle 1.5×": (0.002, -0.001, 0.0, 0.001), "AdamW (wd 0.1)": (-0.002, 0.001, 0.002, 0.0),
                 "decay to 0": (0.001, -0.001, 0.002, -0.002)}
#: pilot -> {value: nats}; the values the pilots share (beta2 0.999, batch 8, warmup N tokens) get none
PILOT_SHIFT = {"beta2": {0.95: 0.02, 0.99: 0.005}, "batch": {4: 0.01, 16: -0.004},
               "warmup": {0.0: -0.004, 10.0: 0.006}}


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    root = tmp_path_factory.mktemp("clean")
    return root, fake_store(root)


@pytest.fixture(scope="module")
def noisy(tmp_path_factory):
    root = tmp_path_factory.mktemp("noisy")
    return root, fake_store(root, noise=0.01, seed_sd=0.02, recipe_shift=RECIPE_SHIFT, recipe_jitter=RECIPE_JITTER,
                            pilot_shift=PILOT_SHIFT)


def true_optima(study, law=LAW, points=20_001):
    """(N_opt, D_opt) of ``law`` along each budget's IsoFLOP line, by brute force: D = C / executed
    FLOPs per token at N, interpolated in log-log between the sizes trained on that budget."""
    out = []
    for c, rungs in zip(study.budgets, study.profiles):
        n = np.array([torch_params(study.model(j))[0] for j in rungs], float)
        f = np.array([executed_per_token(study.model(j)) for j in rungs], float)
        grid = np.linspace(np.log(n[0]), np.log(n[-1]), points)
        d = c / np.exp(np.interp(grid, np.log(n), np.log(f)))
        i = int(np.argmin(surface(np.exp(grid), d, law)))
        assert 0 < i < points - 1  # LAW was chosen so that every minimum is interior
        out.append((math.exp(grid[i]), d[i]))
    return np.array(out)


def test_approach2_recovers_the_vertices_and_exponents(clean):
    root, _ = clean
    fit = S.approach2(TINY, root, bootstrap=0)
    truth = true_optima(TINY)
    t = fit.table
    assert t["interior"].all() and fit.details["budgets_used"] == len(TINY.budgets)
    # well within the grid's resolution: neighbouring sizes are at least 1.24x apart in N, and the
    # vertices fall within 1.008x of the truth (a tenth of a step allowed)
    step = min(np.diff(np.log([num_params(TINY.model(j)) for j in range(9)])))
    assert np.abs(np.log(t["N_star"] / truth[:, 0])).max() < step / 10
    assert np.abs(np.log(t["D_star"] / truth[:, 1])).max() < step / 10
    a_true = np.polyfit(np.log(TINY.budgets), np.log(truth[:, 0]), 1)[0]
    b_true = np.polyfit(np.log(TINY.budgets), np.log(truth[:, 1]), 1)[0]
    assert fit["a"] == pytest.approx(a_true, abs=0.005)
    assert fit["b"] == pytest.approx(b_true, abs=0.005)
    # and C* is each vertex's own compute, close to the budget it was trained on
    assert np.allclose(t["C*"], TINY.budgets, rtol=0.02)


def test_approach2_interval_on_noisy_runs(noisy):
    root, _ = noisy
    fit = S.approach2(TINY, root, bootstrap=200, seed=1)
    for name in ("a", "b"):
        lo, hi = fit.ci[name]
        assert lo < fit[name] < hi
    t = fit.table
    assert (t["N_star low"] <= t["N_star"]).all() and (t["N_star"] <= t["N_star high"]).all()


def test_accounting_table_moves_the_exponents_as_derived(clean):
    root, _ = clean
    table = S.accounting_table(TINY, root, bootstrap=0).set_index("count")
    assert list(table.index) == list(S.COUNTS)
    ex = S.approach2(TINY, root, bootstrap=0)
    a, b = ex["a"], ex["b"]
    # the same slopes, computed once by the fit and once through exponents(): equal to rounding
    assert table.loc["executed", "a"] == pytest.approx(a, abs=1e-12)
    assert table.loc["executed", "b"] == pytest.approx(b, abs=1e-12)
    # Every count sees the same runs, so the vertices N*, D* barely move; only their compute does:
    # log C*_count = log C*_executed + log r(N*), r = the count's FLOPs per token / executed ones. If r
    # has elasticity e = dlog r / dlog N and the count's N has elasticity e_N in N, then across budgets
    # dlog C_count = (1 + e a) dlog C_executed, so a_count = e_N a / (1 + e a) and b_count = b / (1 + e a),
    # with e (and e_N) between their smallest and largest values over the ladder's segments (the code
    # interpolates in log-log between trained sizes). For 6N, e > 0 on every segment: attention (12Ldn)
    # and the position embedding weigh less in f than in 6N as d grows, so the 6N row's a and b are
    # both smaller than the executed ones. Without embeddings, N_ne grows faster than N (e_N > 1) and
    # 6N_ne faster than f, so b is smaller and a moves either way; C_self's r is nearly flat.
    models = [TINY.model(j) for j in range(9)]
    n = np.array([num_params(m) for m in models], float)
    f = np.array([executed_per_token(m) for m in models], float)
    n_ne = np.array([num_nonembedding_params(m) for m in models], float)
    c_self = np.array([m.shape().self_attn_flops("corrected") for m in models], float)
    counted = {"C_self": (n, c_self), "6N": (n, 6 * n), "6N non-embedding": (n_ne, 6 * n_ne)}
    slack = 0.003  # the least-squares slope over three budgets is not exactly one secant
    for count, (n_count, per_token) in counted.items():
        e = np.diff(np.log(per_token / f)) / np.diff(np.log(n))
        e_n = np.diff(np.log(n_count)) / np.diff(np.log(n))
        lo, hi = e_n.min() * a / (1 + e.max() * a), e_n.max() * a / (1 + e.min() * a)
        assert lo - slack < table.loc[count, "a"] < hi + slack
        assert b / (1 + e.max() * a) - slack < table.loc[count, "b"] < b / (1 + e.min() * a) + slack
        if count != "C_self":
            assert e.min() > 0 and table.loc[count, "b"] < b
    e_6n = np.diff(np.log(6 * n / f)) / np.diff(np.log(n))
    assert e_6n.min() > 0 and table.loc["6N", "a"] < a


def test_exponents_carry_every_interval_recomputed_independently(noisy):
    root, _ = noisy
    runs = S.runs_table(TINY, root)
    fit = S.approach2(TINY, root, runs=runs, bootstrap=100, seed=0)
    ex = S.exponents(TINY, runs=runs, fit=fit)
    t = fit.table
    log_c, log_n, log_d = (np.log(t[c].to_numpy(float)) for c in ("C*", "N_star", "D_star"))
    a = ex["a"]
    assert a.estimate == pytest.approx(fit["a"], abs=1e-12) and ex["b"].estimate == pytest.approx(fit["b"], abs=1e-12)
    # the bootstrap interval is the headline's own (the same resamples)
    assert a.bootstrap == (pytest.approx(fit.ci["a"][0], abs=1e-9), pytest.approx(fit.ci["a"][1], abs=1e-9))
    # residual t: scipy's regression of the vertices
    ref = stats.linregress(log_c, log_n)
    half = stats.t.ppf(0.9, len(t) - 2) * ref.stderr
    assert a.residual == (pytest.approx(ref.slope - half), pytest.approx(ref.slope + half))
    # leave one width out: the headline refitted on the runs without each width, one at a time
    # (a width whose loss leaves fewer than 2 vertices gives no slope, and no part of the range)
    lowo = []
    for w in sorted(runs["width"].unique()):
        try:
            lowo.append(S.approach2(TINY, runs=runs[runs["width"] != w], bootstrap=0)["a"])
        except ReplicationError:
            pass
    assert len(lowo) >= 3
    assert dict(a.ranges)["leave one width out"] == (pytest.approx(min(lowo)), pytest.approx(max(lowo)))
    # leave one budget out: the slope through the other vertices
    lobo = [np.polyfit(np.delete(log_c, i), np.delete(log_n, i), 1)[0] for i in range(len(t))]
    assert dict(a.ranges)["leave one budget out"] == (pytest.approx(min(lobo)), pytest.approx(max(lobo)))
    # b/a against the nominal budgets: the same under every count that sees every parameter
    r = {c: S.exponents(TINY, runs=runs, count=c, bootstrap=0)["b/a"].estimate for c in ("executed", "C_self", "6N")}
    assert r["C_self"] == pytest.approx(r["executed"]) and r["6N"] == pytest.approx(r["executed"])
    budget = np.log(t["C"].to_numpy(float))
    assert r["6N"] == pytest.approx(np.polyfit(budget, log_d, 1)[0] / np.polyfit(budget, log_n, 1)[0])
    with pytest.raises(ReplicationError, match="counts C as 'executed'"):
        S.exponents(TINY, runs=runs, count="6N", fit=fit)


@pytest.mark.slow
def test_robustness_table_rows_and_inside(noisy):
    root, _ = noisy
    t = S.robustness_table(TINY, root, bootstrap=100, seed=0)
    widths = sorted({TINY.widths[j] for rungs in TINY.profiles for j in rungs})
    want = (["Approach 2, every run (headline)"] + [f"without width {w}" for w in widths]
            + ["3 sizes around each vertex", "5 sizes around each vertex"] + [f"seed {s} only" for s in TINY.seeds]
            + [f"Approach 3, Huber δ = {d:g}" for d in (1e-4, 1e-3, 1e-2, 1e-1)])
    assert list(t["analysis"]) == want
    lo, hi = S.approach2(TINY, root, bootstrap=100, seed=0).ci["a"]
    assert t["a"].iloc[0] == pytest.approx(S.approach2(TINY, root, bootstrap=0)["a"])
    assert t["inside"].iloc[0]
    expect = [bool(lo <= a <= hi) if a == a else None for a in t["a"]]
    assert t["inside"].tolist() == expect


def test_fake_sweep_gives_back_the_planted_rule(clean):
    root, _ = clean
    # the fake loss is exactly quadratic in log lr around the study's own rule, so the three-point
    # parabolas and the log-log fit recover it to rounding
    sweep = LR.sweep_table(TINY, root)
    assert LR.lr_optima(sweep)["inside"].all()
    rule = LR.fit_lr_rule(sweep)
    assert rule.lr_ref == pytest.approx(TINY.rule.lr_ref, rel=1e-9)
    assert rule.exponent == pytest.approx(TINY.rule.exponent, rel=1e-9)


def test_runs_table_is_the_fake_runs(clean):
    root, final = clean
    t = S.runs_table(TINY, root)
    assert list(t.columns[:5]) == ["N", "D", "C", "loss", "seed"]
    assert len(t) == len(TINY.isoflop_points())
    for row in t.itertuples():
        cfg = TINY.config(row.rung, TINY.budgets[row.budget], row.seed)
        assert row.D == cfg.num_steps() * TINY.batch_size * TINY.num_latents
        assert row.loss == final[cfg.run_id()]
    assert np.allclose(t["C 6N"], 6 * t["N"] * t["D"])
    assert np.allclose(t["C executed"], [executed_per_token(TINY.model(j)) * d for j, d in zip(t["rung"], t["D"])])


# -- 6. reading never trains ------------------------------------------------------------------------


def test_runs_table_names_the_missing_run_and_creates_nothing(tmp_path, monkeypatch):
    import replication.sweep.local as local
    import replication.training.runner as runner

    def refuse(*args, **kwargs):
        raise AssertionError("a table trained a run")

    monkeypatch.setattr(runner, "get_or_train", refuse)
    monkeypatch.setattr(local, "get_or_train_many", refuse)
    k, j, seed = TINY.isoflop_points()[0]
    first = TINY.config(j, TINY.budgets[k], seed).run_id()
    with pytest.raises(ReplicationError, match=f"not recorded.*first: {first}"):
        S.runs_table(TINY, store=tmp_path)
    assert list(tmp_path.iterdir()) == []


# -- 7. the recipe claims ---------------------------------------------------------------------------


def _recipe_losses(study, final, name) -> pd.Series:
    return pd.Series({s: final[study.recipe_config(name, s).run_id()] for s in study.recipe_seeds})


def _seeds_for_power(effect, sd, level=0.95, power=0.8):
    """The fewest seeds n >= 2 whose paired t test finds ``effect`` with ``power``, from scipy's
    noncentral t directly."""
    for n in range(2, 1000):
        crit = stats.t.ppf(0.5 + level / 2, n - 1)
        nc = effect * math.sqrt(n) / sd
        # P(T > crit) + P(T < -crit), the lower tail written as an upper one of -nc (T is antisymmetric in nc)
        if stats.nct.sf(crit, n - 1, nc) + stats.nct.sf(crit, n - 1, -nc) >= power:
            return n
    raise AssertionError("no n found")


def test_recipe_verdicts_follow_the_shifts(noisy):
    root, final = noisy
    t = T.recipe_tests(TINY, root).set_index("recipe")
    assert set(t.index) == set(T.RECIPE_CLAIMS) and set(RECIPES) == {"baseline", *T.RECIPE_CLAIMS}
    assert t.loc["cycle 1.5×", "verdict"].outcome == "agrees"  # +0.05, the claimed sign (+1)
    assert t.loc["AdamW (wd 0.1)", "verdict"].outcome == "disagrees"  # +0.05, against the claimed −1
    assert t.loc["cycle 1.5×", "verdict"].claim == f"The paper finds {T.RECIPE_CLAIMS['cycle 1.5×'][0]}."
    # no difference (to rounding): inconclusive, with next to no power to find one that small
    v = str(t.loc["decay to 0", "verdict"])
    assert v.startswith(f"inconclusive ({len(TINY.recipe_seeds)} seeds")
    assert v.endswith(")") and ("power" not in v or float(v.rsplit("power ", 1)[1][:-1]) <= 0.06)
    assert t.loc["cycle 1.5×", "claimed direction"] == f"{len(TINY.recipe_seeds)} of {len(TINY.recipe_seeds)}"
    base = _recipe_losses(TINY, final, "baseline")
    for name in T.RECIPE_CLAIMS:
        x = _recipe_losses(TINY, final, name)
        assert t.loc[name, "Δ (recipe − baseline)"] == pytest.approx((x - base).mean(), abs=1e-12)
        planted = RECIPE_SHIFT[name] + np.mean(RECIPE_JITTER[name])
        assert t.loc[name, "Δ (recipe − baseline)"] == pytest.approx(planted)
        assert t.loc[name, "p"] == pytest.approx(stats.ttest_rel(x, base).pvalue, rel=1e-9)
        n = t.loc[name, "seeds for 1% of loss"]
        assert float(n).is_integer() and n >= 2
        assert n == _seeds_for_power(0.01 * base.mean(), (x - base).std(ddof=1))


# -- 8. the pilots ----------------------------------------------------------------------------------


def test_pilot_table_deltas_are_paired_differences(noisy):
    root, final = noisy
    t = T.pilot_table(TINY, root)
    assert len(t) == sum(len(values) for _, values in PILOTS.values())
    for name, (fld, values) in PILOTS.items():
        rows = t[t["pilot"] == name].set_index("value")
        assert list(rows.index) == list(values)
        chosen = getattr(TINY, fld)
        assert rows["chosen"].tolist() == [v == chosen for v in values]
        assert rows.loc[chosen, "Δ vs chosen"] == 0
        runs = dict(zip(((v, s) for v in values for s in TINY.pilot_seeds[name]), TINY.pilot_configs()[name]))
        for v in values:
            diff = [final[runs[v, s].run_id()] - final[runs[chosen, s].run_id()] for s in TINY.pilot_seeds[name]]
            assert rows.loc[v, "Δ vs chosen"] == pytest.approx(np.mean(diff), abs=1e-12)
            assert rows.loc[v, "seeds"] == len(TINY.pilot_seeds[name])
