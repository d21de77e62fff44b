"""The planning chapter's tables, figures and glued numbers (book/_lib/planning.py), under the paper's law."""
import re

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from _lib import planning as view  # noqa: E402
from replication.fit import planning  # noqa: E402
from replication.studies.planning import load_law  # noqa: E402
from replication.verdict import words  # noqa: E402


@pytest.fixture(scope="module")
def law():
    return load_law("paper")


def body(styler) -> list[list[str]]:
    html = styler.to_html()
    assert 'class="rp-table"' in html and "e+" not in html and "e-0" not in html and "…" not in html
    text = lambda x: re.sub(r"<[^>]+>", "", x).strip()  # noqa: E731
    return [[text(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)]
            for r in re.findall(r"<tr>(.*?)</tr>", html.split("<tbody>")[1], re.S)]


def test_sweep_table_shows_the_chosen_lifetimes(law):
    T = np.logspace(9, 15, 61)
    sweep = planning.inference_sweep(law.params, [2.1, 2.0], T)
    rows = body(view.sweep_table(sweep, T[::10]))
    assert len(rows) == 2 * 7
    r = planning.inference_optimal(law.params, 2.0, 1e12)
    row = next(x for x in rows if x[0] == "2.00" and x[1] == "10¹²")
    assert row[4] == f"{float(r['tokens_per_param']):,.0f}" and row[5] == f"{float(r['size_ratio']):.2f}"


def test_models_view_marks_under_trained_models(law):
    models = planning.placements(law.params)
    rows = {r[0]: r for r in body(view.models_view(models))}
    assert rows["Chinchilla"][-1] == "none (under-trained)"  # under eq. 10 Chinchilla is below the frontier
    assert rows["Llama-2-7B"][-1].endswith("10¹²")
    assert rows["GPT-3"][1] == "1.75×10¹¹"


def test_law_comparison_gives_intervals_only_with_samples(law):
    rows = body(view.law_comparison({"paper": law}, 2.0, [1e12]))
    assert rows == [[view.LAW_LABELS["paper"], "10¹²",
                     f"{float(planning.inference_optimal(law.params, 2.0, 1e12)['N']) / 1e9:.1f}",
                     f"{float(planning.inference_optimal(law.params, 2.0, 1e12)['D']) / 1e12:.2f}",
                     f"{float(planning.inference_optimal(law.params, 2.0, 1e12)['tokens_per_param']):.0f}"]]


def test_verdict_and_glued_numbers(law):
    v = view.glue_numbers(law, 2.0, 1e12, 1e13, planning.placements(law.params))
    assert v["pl_verdict"] == "holds"
    box = v["planning_verdict"].data
    assert box.startswith("{bdg-success}`holds`") and "0." in box and words(box) <= 60
    assert v["pl_size1"] < 1 < v["pl_tokens1"] and v["pl_size2"] < v["pl_size1"]
    assert v["pl_T1_s"] == "10¹²" and v["pl_gopher_C_s"] == "5.76×10²³"
    assert v["pl_beyond"].startswith("All of these")


def test_figures_have_labelled_axes_and_distinct_lines(law):
    T = np.logspace(9, 15, 31)
    sweep = planning.inference_sweep(law.params, [2.1, 2.0, 1.95], T)
    for fig in (view.plot_optimum(sweep), view.plot_savings(sweep),
                view.plot_models(law.params, planning.placements(law.params))):
        for ax in fig.axes:
            assert ax.get_xlabel() and ax.get_ylabel()
    styles = {(line.get_color(), line.get_linestyle()) for line in view.plot_optimum(sweep).axes[0].lines}
    assert len(styles) == 3
