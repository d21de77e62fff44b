"""The book's figure helper (book/_lib/figures.py): nothing set on import, text readable where the page shrinks
a figure, legends off the data, and the same file for the same figure."""
import re
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest

from _lib import figures

matplotlib.use("agg")
FIGURES = Path(__file__).resolve().parents[1] / "book" / "_lib" / "figures.py"


def test_importing_the_module_sets_no_rcparams():
    code = ("import importlib.util, matplotlib as mpl; before = dict(mpl.rcParams); "
            f"spec = importlib.util.spec_from_file_location('figures', {str(FIGURES)!r}); "
            "spec.loader.exec_module(importlib.util.module_from_spec(spec)); "
            "changed = [k for k, v in mpl.rcParams.items() if before[k] != v]; print(changed); assert not changed")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_style_holds_inside_its_context_only():
    default = matplotlib.rcParams["font.size"]
    with figures.style():
        assert matplotlib.rcParams["svg.fonttype"] == "none"
        cycle = [c["color"] for c in matplotlib.rcParams["axes.prop_cycle"]]
        assert tuple(cycle) == figures.PALETTE
    assert matplotlib.rcParams["font.size"] == default
    fig, ax = figures.subplots()
    assert not ax.spines["top"].get_visible()  # drawn in the style
    matplotlib.pyplot.close(fig)


def smallest_text_px(svg: str) -> float:
    """The smallest font of ``svg`` in CSS px as the page shows it at 1400 px (shrunk to the column)."""
    width_pt = float(re.search(r'<svg [^>]*width="([\d.]+)pt"', svg).group(1))
    view_width = float(re.search(r'viewBox="0 0 ([\d.]+) ', svg).group(1))
    natural_px = width_pt * 4 / 3
    shown = min(natural_px, figures.COLUMN_PX)
    sizes = [float(s) for s in re.findall(r"font-size: ([\d.]+)px", svg)]
    return min(sizes) * shown / view_width


def crowded(width: float):
    """A wide figure whose small legend sits on its data."""
    fig, axes = figures.subplots(1, 2, figsize=(width, 3.6))
    x = np.linspace(0, 1, 50)
    for ax in axes:
        for k in range(4):
            ax.plot(x, x * (k + 1) / 4 + 0.1 * np.sin(8 * x), label=f"a long series name {k}")
        ax.scatter(np.tile([0.1, 0.5, 0.9], 3), np.repeat([0.2, 0.5, 0.8], 3))
        ax.legend(fontsize=6, loc="center")
        ax.set_xlabel("x label", fontsize=7)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    return fig


@pytest.mark.parametrize("width", [5.0, 12.0])
def test_every_text_is_readable_where_the_page_shows_the_figure(width):
    fig = crowded(width)
    assert smallest_text_px(figures.svg(fig)) >= figures.MIN_PX - 0.2


def test_a_legend_on_the_data_moves_off_it():
    fig = crowded(10.0)
    figures.svg(fig)
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        assert not figures._covers_data(ax.get_legend(), ax, renderer)


def test_the_same_figure_gives_the_same_file_on_a_white_background():
    a, b = figures.svg(crowded(8.0)), figures.svg(crowded(8.0))
    assert a == b and "<dc:date>" not in a
    assert re.search(r'<g id="patch_1">\s*<path [^>]*style="fill: #ffffff"', a)


def test_a_figure_made_without_pyplot_is_written_too():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], label="a line")
    ax.legend(fontsize=6)
    assert smallest_text_px(figures.svg(fig)) >= figures.MIN_PX - 0.2
