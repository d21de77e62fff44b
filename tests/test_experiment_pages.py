"""The experiment chapters' and the article-scale chapter's presentation helpers (book/_lib/experiment.py and
book/_lib/article_scale.py): every table they show has readable numbers (no e+ notation, nothing cut off, no
0..n index), the figures have labelled axes, and the glued prose numbers exist at both scales."""
import re

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from replication.studies import krasser as ps  # noqa: E402


def _results(name: str, shift: dict[int, float]) -> pd.DataFrame:
    """A results table for the default study of ``name``: three seeds per model, the reference's losses
    1.00, 1.10, 0.90 plus ``shift[model]``."""
    study = ps.cpu_study(name)
    setup = study.experiment.setup()
    rows = []
    for m, (d, L) in enumerate(study.experiment.models, start=1):
        for seed, base in enumerate((1.00, 1.10, 0.90)):
            rows.append({"model": m, "label": study.label(m), "shape": f"{d}/{L}",
                         "N_self": int(setup.loc[m, "N_self"]), "seed": seed, "run_id": f"none{m}-{seed}",
                         "final_loss": base + shift.get(m, 0.0), "steps": int(setup.loc[m, "num_steps"]),
                         "C_self": 1e12, "C": 1.5e12, "epochs": 0.5, "wall_s": 60.0})
    return pd.DataFrame(rows)


def _html(styler) -> str:
    html = styler.to_html()
    assert "e+" not in html and "e-0" not in html and "…" not in html, html
    assert 'class="rp-table"' in html
    return html


def _cells(styler) -> list[str]:
    """The cells as a reader sees them (the helper writes HTML entities, e.g. &lt;)."""
    import html

    return [html.unescape(str(x)) for x in styler.data.to_numpy().ravel()]


@pytest.mark.parametrize("name", ["1", "2a", "2b"])
def test_every_experiment_table_reads_as_numbers(name):
    from _lib import experiment as E

    study = ps.cpu_study(name)
    results = _results(name, {2: 0.05, 3: 0.02, 4: -0.1, 5: 0.3})
    summary = ps.loss_summary(results)
    shown = [*E.article_setup_tables(name), E.article_ratio_table(name), E.predictions_table(name),
             E.article_results_table(name), E.gpu_hours_table(E.gpu_hours(name)), *E.design_tables(study.experiment),
             E.design_comparison_table(study, results), E.design_comparison_table(study, None),
             E.model_choice_table(study.experiment), E.summary_display(study, summary),
             E.verdict_display(study, results),
             E.against_reference_table(study, results), E.cost_table(results), E.conclusion_table(study, results)]
    for t in shown:
        html = _html(t)
        # no raw variable names as headers
        for raw in ("num_channels", "num_steps", "D_iso", "C_self_hat", "wall_s", "N_self/N_opt"):
            assert f">{raw}<" not in html
    # at most nine columns, so that each fits the page's column; every table numbered and captioned
    assert all(t.data.shape[1] <= 9 for t in shown)
    assert all(t.rp_caption for t in shown)
    # the reference's parameters in the design table, with a thousands separator
    sizes, _, _ = E.design_tables(study.experiment)
    n_ref = int(study.experiment.setup().loc[1, "N_self"])
    assert f"{n_ref:,}" in _cells(sizes)


def test_article_tables_set_the_accountings_side_by_side():
    from _lib import experiment as E

    steps, models, self_flops, flops = E.article_setup_tables("1")
    assert steps.data.loc["2 (predicted)", "channels / layers"].tolist() == ["624/11", "592/10"]
    assert steps.data.loc["1 (reference)", "steps"].tolist() == ["50,000", "50,000"]
    # at most three quantities per table, each in both accountings (four were 770-807 px against the 772 px
    # column at 1400 px)
    assert self_flops.data.shape[1] == flops.data.shape[1] == 4 and models.data.shape[1] <= 6
    assert self_flops.data.loc["1 (reference)"].tolist() == ["5.78×10¹⁷", "4.07×10¹⁷", "5.53×10¹⁷", "5.53×10¹⁷"]
    steps, models, *_ = E.article_setup_tables("2a")  # the parameters do not depend on the accounting: shown once
    assert {c[1] for c in models.data.columns} == {"all"} and "Table 3 (Experiment 2a)" in models.rp_caption
    assert steps.data.columns[0] == ("channels / layers", "all")
    choice = E.model_choice_table(ps.cpu_study("1").experiment).data
    assert list(choice.index) == ["Approach 1", "Approach 2"]
    assert [c[1] for c in choice.columns if c[0].startswith("budget")] == ["article", "corrected"]


def test_verdict_and_reference_tables_carry_the_paired_test():
    from _lib import experiment as E

    study = ps.cpu_study("2a")
    results = _results("2a", {2: 0.05, 3: 0.01})  # the same shift in every seed: no spread, p = 0
    v = E.verdict_table(study, results).set_index("approach")
    test = ps.compare(results, 2, 1)
    assert v.loc[2, "difference"] == pytest.approx(0.05)
    assert v.loc[2, "interval"] == f"[{test.low:+.4f}, {test.high:+.4f}]".replace("-", "−")
    assert v.loc[2, "outcome"] == "agrees" and v.loc[2, "predicted"] == "2 (Approach 2's prediction)"
    cells = _cells(E.verdict_display(study, results))
    assert "+0.0500" in cells and "< 0.001" in cells
    cells = _cells(E.against_reference_table(study, results))
    assert "higher" in cells and "3 (Approach 1's prediction)" in cells


def test_model_names_in_words():
    from _lib.experiment import model_name

    assert model_name("Model 1 (ref)") == "1 (reference)"
    assert model_name("Model 3 (opt 1)") == "3 (Approach 1's prediction)"
    assert model_name("Model 4") == "4"


def test_glued_prose_numbers_at_both_scales():
    from _lib import experiment as E

    study = ps.cpu_study("1")
    results = _results("1", {2: 0.04, 3: 0.1, 4: 0.03})
    hours = E.gpu_hours("1")
    on = E.glue_design(study, results, "t", hours)
    off = E.glue_design(study, None, "t", hours)
    assert set(on) == set(off) and all(isinstance(x, str) for x in on.values())
    assert not any("e+" in x for x in on.values())
    assert on["t_c_ref"] == "6.3×10¹¹" and on["t_steps1"] == "1,200" and on["t_pos2_a2"] == "1.00"
    assert on["t_best_seeds"] == "lowest in each of the 3 seeds"
    assert on["t_gpu_hours"] == f"{hours['GPU-hours'].sum():.1f}"
    # the article's Experiment 1: the correction shrinks C_ref by 30% (5.78e17 to 4.07e17)
    assert (on["t_art_cref_article"], on["t_art_cref_corrected"], on["t_art_cref_drop"]) == \
        ("5.78×10¹⁷", "4.07×10¹⁷", "30%")
    assert off["t_epochs_hi"].startswith("not trained")
    assert E.glue_verdict(study, results, "t")["t_n_opt2"] == "8.7×10⁴"


def test_optimum_is_written_without_e_notation():
    from _lib import experiment as E

    study = ps.cpu_study("1")
    n = study.experiment.setup()["N_self"].to_numpy(float)
    loss = 1.5 + 0.1 * (np.log(n) - np.log(6e4)) ** 2
    results = _results("1", {m: loss[m - 1] - 1.0 for m in range(1, 5)})
    phrase = E.optimum_phrase(ps.loss_summary(results))
    assert re.search(r"at 6(\.0)?×10⁴ parameters", phrase), phrase


def test_experiment_figures_label_their_axes():
    from _lib import experiment as E

    study = ps.cpu_study("2b")
    results = _results("2b", {2: 0.05, 3: -0.05, 4: 0.2})
    fig = E.plot_final_loss(study, ps.loss_summary(results))
    ax = fig.axes[0]
    assert "nats per byte" in ax.get_ylabel() and "N_{self}" in ax.get_xlabel()  # 2b reads bytes
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("Approach 2" in t and "×10" in t for t in labels) and not any("e+" in t for t in labels)
    curves = pd.DataFrame([{"model": m, "label": study.label(m), "seed": s, "C_self/C_ref": x, "loss": 2 - x + m / 10}
                           for m in (1, 2, 3, 4) for s in (0, 1, 2) for x in (0.25, 0.5, 1.0)])
    ax = E.plot_loss_vs_flops(study, curves).axes[0]
    lines = [line for line in ax.get_lines() if line.get_label()[:1].isdigit()]
    assert len(lines) == 4
    assert len({(str(line.get_linestyle()), line.get_marker()) for line in lines}) == 4  # none hidden under another
    assert "1: 48/2 (reference)" in [line.get_label() for line in lines]
    assert "nats per byte" in ax.get_ylabel()
    sentencepiece = ps.cpu_study("1")
    assert "nats per token" in E.plot_final_loss(sentencepiece, ps.loss_summary(_results("1", {}))).axes[0].get_ylabel()


def test_article_scale_tables_and_figure_without_a_record(tmp_path):
    from _lib import article_scale

    page = article_scale.setup(str(tmp_path), False, 0.35, 989.0, "corrected", 8)
    assert page.record is None
    for t in (article_scale.hours_display(page), article_scale.totals_display(page)):
        _html(t)
    assert "assumed" in _cells(article_scale.totals_display(page))
    # nothing measured: no figure (the prose says so)
    assert article_scale.plot_precision(page) is None and article_scale.precision_figure(page) is None


def test_article_scale_figure_and_throughput_with_a_record(tmp_path):
    from _lib import article_scale

    record = {"throughput": [{"shape": "reference", "compile": False, "num_params": 45796096, "batch_size": 80,
                              "latent_tokens_per_s": 123456.0, "model_flops_per_s": 1.2e14, "mfu": 0.3,
                              "peak_memory_bytes": 5 * 2**30, "first_step_s": 2.5}],
              "precision_comparison": {"num_channels": 512, "num_layers": 9, "num_latents": 512, "num_prefix": 1536,
                                       "steps": 3, "fp32": {"train_loss": [5.0, 4.0, 3.0]},
                                       "bf16-autocast": {"train_loss": [5.0, 4.01, 3.0]}}}
    page = article_scale.Page(record, 1, pd.DataFrame(), "corrected", 8)
    cells = _cells(article_scale.throughput_table(page))
    assert "eager" in cells and "30.0%" in cells and "4.58×10⁷" in cells
    ax = article_scale.plot_precision(page).axes[0]
    assert [line.get_label() for line in ax.get_lines()] == ["fp32 (TF32 off)", "bf16 autocast"]
    assert "nats per byte" in ax.get_ylabel()
    assert "<svg" in article_scale.precision_figure(page).data


def test_size_ratio_is_a_plain_number():
    from _lib import experiment as E

    study = ps.cpu_study("1")
    v = E.glue_design(study, None, "t", E.gpu_hours("1"))
    ratio = E.krasser_design.experiment("1").setup().loc[1, "N"] / study.experiment.setup().loc[1, "N"]
    assert v["t_size_ratio"] == f"{float(f'{ratio:.2g}'):,.0f}" and "e" not in v["t_size_ratio"]
    assert v["t_vdn_ref_article_vocab"] == "96%"


def test_glued_run_limits_at_both_scales():
    """The learning rate against the study's rule, the steps, the bigram plateau and the cross-experiment
    reading, glued from the recorded runs (and 'not trained' where the chapter trains nothing)."""
    from _lib import experiment as E

    study = ps.cpu_study("1")
    results = ps.runs_table(study)
    on, off = E.glue_run_limits(study, results, "t"), E.glue_run_limits(study, None, "t")
    limits = on.pop("limits")
    assert off.pop("limits") is None
    assert set(on) == set(off) and all(isinstance(x, str) for x in on.values())
    assert (on["t_lrf_lo"], on["t_lrf_hi"], on["t_all_lrf_lo"]) == ("2.5", "5.4", "1.5")
    assert (on["t_steps_lo"], on["t_steps_hi"], on["t_all_steps_lo"]) == ("484", "1,845", "277")
    assert (on["t_never"], on["t_exit_lo"], on["t_plateau"]) == ("12 of 12", "none", "3.76")
    assert (on["t_best_n_opt_e1"], on["t_best_n_opt_e2"]) == ("0.62", "0.42")
    assert (on["t_bytes_r"], on["t_bytes_latest"], on["t_bytes_spread"]) == ("0.66", "8 of 9", "0.12")
    assert off["t_plateau"].startswith("not trained") and off["t_lrf_hi"] == "5.4"
    assert on["t_unit"] == off["t_unit"] == "nats per token"  # SentencePiece; the byte experiments: per byte
    assert E.glue_run_limits(ps.cpu_study("2b"), None, "t")["t_unit"] == "nats per byte"
    html = _html(E.run_limits_table(limits))
    assert "rule / ours" in html and "5.4" in html


@pytest.mark.parametrize("name", ["1", "2a", "2b"])
def test_the_verdict_box_gives_the_articles_claim_and_ours_at_both_scales(name):
    from _lib import experiment as E
    from replication.verdict import words

    study = ps.cpu_study(name)
    on = E.glue_verdict(study, _results(name, {2: 0.05, 3: 0.02, 4: -0.1, 5: 0.3}), "t")["t_verdict"]
    off = E.glue_verdict(study, None, "t")["t_verdict"]
    assert on.startswith("{bdg-") and ps.article_claim(name) in on and "paired seeds at CPU scale" in on
    assert words(on) <= 60 and off == f"{ps.article_claim(name)} At CPU scale: {ps.NOT_TRAINED}."
