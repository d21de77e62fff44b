"""The book's one way of drawing a figure: vector output (SVG, sharp on any screen), a colour-blind-safe
palette, readable type, and ``show(name, fig)`` to hand a figure to a numbered ``glue:figure`` directive
(which carries its caption and alt text) instead of printing it where it was drawn."""
from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt

#: Okabe-Ito, a colour-blind-safe palette
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")

STYLE = {
    "axes.prop_cycle": mpl.cycler(color=PALETTE),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "font.size": 10,
    "legend.frameon": False,
    "figure.dpi": 100,
    "savefig.dpi": 200,  # a PNG, where one is asked for, at twice the screen's density
    "svg.fonttype": "none",  # text stays text: searchable, and sharp
}


def setup() -> None:
    """The book's style, and SVG for every figure a page shows."""
    mpl.rcParams.update(STYLE)
    try:  # only inside a kernel: the pages are executed by papermill
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:
        return
    set_matplotlib_formats("svg")


def show(name: str, fig=None) -> None:
    """Glue ``fig`` (default: the current figure) as ``name`` for a ``glue:figure`` directive, and close it
    so that the cell itself shows nothing."""
    from myst_nb import glue

    fig = plt.gcf() if fig is None else fig
    glue(name, fig, display=False)
    plt.close(fig)
