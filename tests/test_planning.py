"""Planning with a fitted law: the compute-optimal frontier, the inference-aware optimum (Sardana & Frankle
2023) against a brute-force grid, and the command's answers and errors."""
import json

import numpy as np
import pytest

from replication.cli import main as cli_main
from replication.cli.plan import answer
from replication.fit import planning, predict_loss
from replication.papers import chinchilla as paper
from replication.papers.models import PUBLISHED_MODELS
from replication.studies.planning import load_law
from replication.verdict import DIFFERS, HOLDS

P = paper.EQ10_UNROUNDED


def test_compute_optimal_reproduces_gopher_budget_and_table_a3():
    # the paper: at Gopher's budget "the optimal model size ... is somewhere between 40 and 70 billion" (40B is
    # Approach 3); Table A3 prints, for each size, the budget at which Approach 3 makes it optimal
    r = planning.compute_optimal(P, paper.GOPHER_FLOPS)
    assert 39.5e9 < float(r["N"]) < 41e9
    assert float(r["N"] * r["D"] * 6) == pytest.approx(paper.GOPHER_FLOPS, rel=1e-12)
    t = paper.TABLE_A3
    for N, C, D in zip(t["N"], t["approach3_C"], t["approach3_D"]):
        if abs(C / (6 * N * D) - 1) > 0.25:  # the 175B row's misprinted exponent
            continue
        got = planning.compute_optimal(P, C)
        assert float(got["N"]) == pytest.approx(N, rel=0.12)
        assert float(got["D"]) == pytest.approx(D, rel=0.12)


def test_zero_inference_equals_compute_optimal_model_at_that_loss():
    for loss in (1.95, 2.0, 2.3):
        r = planning.inference_optimal(P, loss, 0.0)
        c = planning.chinchilla_at_loss(P, loss)
        assert float(r["N"]) == pytest.approx(float(c["N"]), rel=1e-6)
        assert float(r["D"]) == pytest.approx(float(c["D"]), rel=1e-6)
        # and that model is on the frontier: compute-optimal at its own budget
        f = planning.compute_optimal(P, 6 * c["N"] * c["D"])
        assert float(f["N"]) == pytest.approx(float(c["N"]), rel=1e-9)
        assert float(predict_loss(P, r["N"], r["D"])) == pytest.approx(loss, abs=1e-12)


def test_more_inference_means_smaller_longer_and_never_more_flops():
    T = np.logspace(9, 15, 40)
    r = planning.inference_optimal(P, 2.0, T)
    assert np.all(np.diff(r["N"]) < 0) and np.all(np.diff(r["D"]) > 0)
    assert np.all(r["total_flops"] <= r["chinchilla"]["total_flops"] * (1 + 1e-12))
    assert np.all(r["saved_fraction"] > 0) and np.all(np.diff(r["saved_fraction"]) > 0)
    np.testing.assert_allclose(predict_loss(P, r["N"], r["D"]), 2.0, atol=1e-12)


@pytest.mark.parametrize("law", [P, paper.EPOCH_FIT])
@pytest.mark.parametrize("T", [0.0, 1e11, 1e12, 1e13, 1e14])
def test_against_brute_force_grid_on_the_iso_loss_curve(law, T):
    loss = 2.0 if law is P else 2.1
    r = planning.inference_optimal(law, loss, T)
    gap = loss - law["E"]
    n_min = (law["A"] / gap) ** (1 / law["alpha"])
    N = n_min * np.logspace(1e-6, 4, 400_001)  # every size that can reach the loss, up to 10^4 x the smallest
    D = (law["B"] / (gap - law["A"] / N ** law["alpha"])) ** (1 / law["beta"])
    cost = 6 * N * D + 2 * N * T
    i = int(np.argmin(cost))
    assert 0 < i < N.size - 1  # an interior minimum
    assert float(r["N"]) == pytest.approx(N[i], rel=1e-3)
    assert float(r["total_flops"]) == pytest.approx(cost[i], rel=1e-6)
    assert float(r["total_flops"]) <= cost.min() * (1 + 1e-9)


def test_fixed_size_and_fixed_tokens_are_consistent_with_the_optimum():
    r = planning.inference_optimal(P, 2.0, 1e12)
    n = planning.with_params(P, float(r["N"]), T=1e12)  # the tokens that make this N optimal for T
    assert float(n["D"]) == pytest.approx(float(r["D"]), rel=1e-9)
    d = planning.with_tokens(P, float(r["D"]), T=1e12)
    assert float(d["N"]) == pytest.approx(float(r["N"]), rel=1e-9)
    assert float(planning.with_params(P, 7e9, loss=2.0)["loss"]) == pytest.approx(2.0, abs=1e-12)
    assert float(planning.with_tokens(P, 2e12, C=6e23)["N"]) == pytest.approx(6e23 / (6 * 2e12))
    # with no inference, a fixed size's best data is its compute-optimal one
    c = planning.compute_optimal(P, 1e23)
    assert float(planning.with_params(P, float(c["N"]))["D"]) == pytest.approx(float(c["D"]), rel=1e-9)


def test_placement_of_published_models():
    g = planning.placement(P, *PUBLISHED_MODELS["Gopher"])
    assert g["loss"] == pytest.approx(predict_loss(P, 280e9, 300e9))
    assert g["overtraining"] < 1 and np.isnan(g["breakeven_inference_tokens"])  # under-trained
    m = planning.placement(P, *PUBLISHED_MODELS["Llama-2-7B"])
    assert m["overtraining"] > 1
    # a model optimal for its break-even T is the inference-aware optimum at its own loss
    r = planning.inference_optimal(P, m["loss"], m["breakeven_inference_tokens"])
    assert float(r["N"]) == pytest.approx(7e9, rel=1e-6) and float(r["D"]) == pytest.approx(2e12, rel=1e-6)


def test_intervals_from_samples():
    rng = np.random.default_rng(0)
    base = np.array([P[k] for k in planning.KEYS])
    samples = base * (1 + 0.02 * rng.standard_normal((200, 5)))
    samples[0, 2] = 2.5  # a sample whose E is above the target: it gives no answer, and is counted out
    law = planning.Law("synthetic", dict(P), samples)
    iv = planning.plan_samples(law, planning.inference_optimal, 2.0, 1e12)
    assert iv["kept"] == 199 and iv["samples"] == 200
    point = planning.inference_optimal(P, 2.0, 1e12)
    assert iv["N"][0] < float(point["N"]) < iv["N"][1]


@pytest.mark.parametrize("args, words", [
    (["--loss", "1.6"], ["1.6", "E = 1.693", "'paper'"]),
    (["--compute", "-1"], ["--compute=-1.0", "[1e+06, 1e+35] FLOPs"]),
    (["--compute=-1"], ["compute"]),
    (["--loss", "2", "--inference-tokens=-5"], ["--inference-tokens=-5.0", "[0, 1e+20]"]),
    (["--params", "0"], ["params"]),
    (["--params", "1e6", "--loss", "2.0"], ["cannot reach loss 2"]),
    (["--params", "1e9", "--tokens", "1e12"], ["not both"]),
    (["--compute", "1e23", "--loss", "2"], ["--compute"]),
    ([], ["--compute"]),
    (["--compute", "nan"], ["compute"]),
    (["--law", "nope", "--compute", "1e23"], ["law"]),
])
def test_bad_input_is_one_line_exit_2(capsys, args, words):
    assert cli_main(["plan", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("replication plan: error:")
    for w in words:
        assert w in err


def test_cli_compute_at_gophers_budget(capsys):
    assert cli_main(["plan", "--compute", "5.76e23", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["answer"]["N"] == pytest.approx(float(planning.compute_optimal(P, 5.76e23)["N"]), rel=1e-12)
    assert out["answer"]["tokens_per_param"] == pytest.approx(58.93, abs=0.01)
    assert out["extrapolation"] is True
    assert cli_main(["plan", "--loss", "2.0", "--inference-tokens", "1e13"]) == 0
    text = capsys.readouterr().out
    assert "Chinchilla-optimal" in text and "FLOPs saved" in text


def test_law_from_a_csv(tmp_path):
    from replication.fit import synthetic_isoflops
    runs = synthetic_isoflops(P, [6e18, 1e19, 3e19, 6e19, 3e20], sizes=8, span=1.6, noise=0.0)
    path = tmp_path / "runs.csv"
    runs.to_csv(path, index=False)
    law = load_law(data=str(path), bootstrap=20)
    assert law.params["alpha"] == pytest.approx(P["alpha"], rel=1e-3)
    out = answer(law, loss=2.2, inference_tokens=1e11)
    assert out["interval"]["samples"] == 20
    exact = planning.inference_optimal(P, 2.2, 1e11)
    assert out["answer"]["N"] == pytest.approx(float(exact["N"]), rel=1e-2)


def test_paper_laws_carry_no_samples_and_the_runs_behind_them():
    law = load_law("paper-rounded")
    assert law.params == dict(paper.EQ10) and law.samples is None
    assert law.extrapolates(70e9, 1.4e12) and not law.extrapolates(1e9, 20e9)


def test_sweep_compares_every_lifetime_with_the_chinchilla_optimum():
    T = np.array([0.0, 1e12, 1e14])
    t = planning.inference_sweep(P, [2.1, 2.0], T)
    assert len(t) == 6 and list(t["T"][:3]) == list(T)
    at_zero = t[t["T"] == 0]
    assert np.allclose(at_zero["N / N_chinchilla"], 1) and np.allclose(at_zero["saved %"], 0, atol=1e-9)
    r = planning.inference_optimal(P, 2.0, 1e14)
    row = t[(t["loss"] == 2.0) & (t["T"] == 1e14)].iloc[0]
    assert row["N"] == pytest.approx(float(r["N"]))
    assert row["saved %"] == pytest.approx(100 * float(r["saved_fraction"]))
    with pytest.raises(Exception, match="losses"):
        planning.inference_sweep(P, [], T)


def test_placements_are_one_row_per_model():
    t = planning.placements(P)
    assert list(t.index) == list(PUBLISHED_MODELS)
    assert t.loc["Gopher", "loss"] == pytest.approx(planning.placement(P, 280e9, 300e9)["loss"])


def test_compare_laws_gives_intervals_only_where_a_law_has_samples():
    rng = np.random.default_rng(0)
    base = np.array([P[k] for k in planning.KEYS])
    sampled = planning.Law("sampled", dict(P), base * (1 + 0.01 * rng.standard_normal((100, 5))))
    t = planning.compare_laws([planning.Law("paper", dict(P)), sampled], 2.0, [1e12])
    plain, boot = t.iloc[0], t.iloc[1]
    assert np.isnan(plain["N lo"]) and plain["N"] == pytest.approx(float(planning.inference_optimal(P, 2.0, 1e12)["N"]))
    assert boot["N lo"] < boot["N"] < boot["N hi"] and boot["D/N lo"] < boot["D/N"] < boot["D/N hi"]


def test_smaller_and_longer_holds_under_eq10_and_differs_with_no_traffic():
    law = planning.Law("paper", dict(P))
    v = planning.smaller_and_longer([law], 2.0, [1e12, 1e13])
    assert v.outcome == HOLDS and v.ours == pytest.approx(float(planning.inference_optimal(P, 2.0, 1e12)["size_ratio"]))
    # with no inference the optimum is the Chinchilla-optimal model itself: not smaller
    assert planning.smaller_and_longer([law], 2.0, [0.0]).outcome == DIFFERS
