"""The study chapter's tables and figures (book/_lib/study.py), on a run store written from a known loss
surface (tests/_study_fakes.py): readable headers, no exponent notation, no index, the fitted values in the
cells, and labelled axes."""
import re

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from _lib import study as view  # noqa: E402
from _study_fakes import TINY, fake_store  # noqa: E402
from replication.studies import chinchilla as S  # noqa: E402
from replication.studies import chinchilla_lr as LR  # noqa: E402
from replication.studies import chinchilla_tuning as T  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")

#: names of the library's columns that must not reach a header
RAW = ("N_star", "D_star", "tokens_per_param", "wall_s", "C_self", "run_id", "interior share", "lr*")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("study_page")
    fake_store(root, noise=0.01, seed_sd=0.02, recipe_shift={"cycle 1.5×": 0.05, "AdamW (wd 0.1)": 0.05,
                                                              "decay to 0": 0.0})
    runs = S.runs_table(TINY, root)
    fit2 = S.approach2(TINY, root, runs=runs, bootstrap=50)
    return {"root": root, "runs": runs, "fit2": fit2,
            "counts": S.accounting_table(TINY, root, bootstrap=20, runs=runs),
            "robust": S.robustness_table(TINY, root, bootstrap=20, runs=runs, headline=fit2),
            "pilots": T.pilot_table(TINY, root), "recipes": T.recipe_tests(TINY, root)}


def cells(styler) -> tuple[list[str], list[list[str]]]:
    """(header texts, rows of the table body as cell texts) of a rendered table."""
    html = styler.to_html()
    assert 'class="rp-table"' in html
    text = lambda x: re.sub(r"<[^>]+>", "", x).strip()  # noqa: E731
    head, body = html.split("<tbody>")
    heads = [text(h) for h in re.findall(r"<th[^>]*>(.*?)</th>", head, re.S)]
    rows = [[text(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)]
            for r in re.findall(r"<tr>(.*?)</tr>", body, re.S)]
    return heads, rows


def readable(styler):
    """What every table of the chapter must be; returns its headers and body rows."""
    heads, rows = cells(styler)
    html = styler.to_html()
    assert "e+" not in html and "e-0" not in html and "…" not in html
    assert not any(raw in h for h in heads for raw in RAW), heads
    assert [r[0] for r in rows[:3]] != ["0", "1", "2"]  # no 0..n index
    return heads, rows


def test_vertex_table_shows_each_vertex_with_its_interval(store):
    heads, rows = readable(view.vertex_table(store["fit2"], bytes_per_token=4.0))
    t = store["fit2"].table
    assert len(rows) == len(t) and "budget C (executed FLOPs)" in heads
    first = t.iloc[0]
    assert rows[0][1] == (f"{first['N_star'] / 1e3:.1f} [{first['N_star low'] / 1e3:.1f}, "
                          f"{first['N_star high'] / 1e3:.1f}]")
    assert rows[0][4] == f"{first['tokens_per_param'] / 4.0:.1f}"


def test_design_and_steps_tables(store):
    heads, rows = readable(view.design_table(TINY))
    assert "parameters N" in heads and len(rows) == len(TINY.widths)
    heads, rows = readable(view.steps_table(store["runs"]))
    assert all(h.endswith("FLOPs") for h in heads if "×10" in h or h.startswith("10"))
    one = store["runs"].iloc[0]
    assert any(f"{one['steps']:,} ({one['epochs']:.1f})" in c for r in rows for c in r)


def test_accounting_robustness_pilot_and_recipe_tables(store):
    heads, rows = readable(view.accounting_table(store["counts"]))
    assert len(rows) == 4 and all("[" in r[1] and " to " in r[-1] for r in rows)
    assert not any("C_self" in r[0] for r in rows)
    # every exponent with every interval: a and b under four counts, b/a with and without embeddings
    heads, rows = readable(view.intervals_table(store["counts"]))
    assert len(rows) == 10 and "widest (decides)" in heads and "residual t 80%" in heads
    six = [r for r in rows if r[0] == "a, 6N"][0]
    e = store["counts"].set_index("count").loc["6N", "intervals"]["a"]
    assert six[heads.index("widest (decides)")] == f"{e.widest[0]:.3f} to {e.widest[1]:.3f}"
    assert six[-1].endswith(e.verdict(0.49).label)
    heads, rows = readable(view.robustness_table(store["robust"]))
    assert len(rows) == len(store["robust"]) and {r[-1] for r in rows} <= {"yes", "no", "no estimate"}
    heads, rows = readable(view.pilot_table(store["pilots"]))
    used = [r for r in rows if r[2] == "yes"]
    assert len(used) == 3 and all(r[5] == "—" for r in used)  # no difference from itself
    heads, rows = readable(view.recipe_table(store["recipes"]))
    assert "outcome" in heads and len(rows) == len(store["recipes"])
    assert [r[4] for r in rows] == [str(v) for v in store["recipes"]["verdict"]]
    heads, rows = readable(view.runs_preview(store["runs"]))
    assert rows[0][0] == f"{store['runs']['N'].iloc[0]:,}"


def test_figures_have_labelled_axes(store):
    fit2 = store["fit2"]
    figs = [view.plot_profiles(fit2, store["runs"]), view.plot_optima(fit2, 4.0),
            view.plot_lr_sweep(TINY, LR.sweep_table(TINY, store["root"])),
            view.plot_robustness(store["robust"], *fit2.ci["a"])]
    curves = S.curves_table(TINY, store["root"], runs=store["runs"])
    envelope = view.plot_envelope(curves, S.approach1(TINY, store["root"], bootstrap=0, curves=curves), TINY)
    figs.append(envelope)
    for fig in figs:
        for ax in fig.axes:
            if ax.get_label() == "<colorbar>":
                continue
            assert ax.get_xlabel() or ax.get_ylabel(), ax
        assert not any("e+" in t.get_text() for ax in fig.axes for t in ax.get_xticklabels() + ax.get_yticklabels())
    assert any(ax.get_label() == "<colorbar>" for ax in envelope.axes)  # the colour of a curve is its N


def test_the_profiles_drawn_are_the_fits_own(store):
    fit2 = store["fit2"]
    ax = view.plot_profiles(fit2, store["runs"]).axes[0]
    drawn = [line for line in ax.lines if line.get_linestyle() == "-" and len(line.get_xdata()) > 10]
    assert len(drawn) == len(fit2.details["curve_N"])
    for line, (n, loss) in zip(drawn, fit2.details["curve_N"]):
        assert np.array_equal(line.get_xdata(), n) and np.array_equal(line.get_ydata(), loss, equal_nan=True)


def test_the_verdict_box_is_the_studys_verdicts(store):
    from replication.verdict import words

    v = S.verdicts(TINY, store["runs"], counts=store["counts"])
    six = store["counts"].set_index("count").loc["6N", "intervals"]
    assert [x.outcome for x in v] == [six["a"].verdict(0.49).outcome, six["b/a"].verdict(0.51 / 0.49).outcome]
    assert v[0].interval == six["a"].widest and v[0].n == len(TINY.budgets)
    from replication.verdict import box_markdown

    assert words(box_markdown(v)) <= 60


def test_uses_the_books_palette_and_sci():
    from _lib import figures, study_figures, tables

    assert study_figures.PALETTE is figures.PALETTE and view.sci is tables.sci
    assert np.isclose(float(view.interval(0.5, (0.4, 0.6)).split()[0]), 0.5)
