"""The book's one way of drawing a figure: vector output (SVG, sharp on any screen), a colour-blind-safe
palette, type readable on the page, and ``show(name, fig)`` to hand a figure to a numbered ``glue:figure``
directive (which carries its caption and alt text) instead of printing it where it was drawn.

Nothing is set on import. A figure is drawn inside :func:`style` (:func:`subplots` opens it for you), and
:func:`show` writes it inside the same style, after :func:`readable` has made every text at least
:data:`MIN_PX` pixels tall as the page shows it at 1400 px, and moved any legend that covers data out of the
way. The figure keeps a white background of its own, so that it reads the same in light and dark mode."""
from __future__ import annotations

import io

import matplotlib as mpl
import matplotlib.pyplot as plt
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import Collection
from matplotlib.text import Text

#: Okabe-Ito, a colour-blind-safe palette
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")

STYLE = {
    "axes.prop_cycle": mpl.cycler(color=PALETTE),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "font.size": 11,
    "axes.titlesize": "medium",
    "axes.labelsize": "medium",
    "xtick.labelsize": "medium",
    "ytick.labelsize": "medium",
    "legend.fontsize": "medium",
    "legend.title_fontsize": "medium",
    "legend.frameon": False,
    "figure.dpi": 100,
    "figure.facecolor": "white",
    "savefig.dpi": 200,  # a PNG, where one is asked for, at twice the screen's density
    "svg.fonttype": "none",  # text stays text: searchable, and sharp
    "svg.hashsalt": "chinchilla",  # the same figure gives the same file
}

#: the width of the page's text column at a 1400 px window (CSS px); a wider figure is shown shrunk to it
COLUMN_PX = 772
#: the smallest text a figure shows on that page (CSS px); the page's text is 16 px
MIN_PX = 12


def style():
    """The book's style, as a context: ``with figures.style(): fig, ax = plt.subplots()``."""
    return mpl.rc_context(STYLE)


def subplots(*args, **kwargs):
    """``plt.subplots`` in the book's style."""
    with style():
        return plt.subplots(*args, **kwargs)


def setup() -> None:
    """The book's style for every figure of the process (a page's kernel), for helpers that draw outside
    :func:`style`. Call it from a chapter, never on import."""
    mpl.rcParams.update(STYLE)


def _shown_scale(fig, renderer) -> float:
    """How much the page shrinks the figure: its saved width (the tight box, 96 CSS px per inch) against
    :data:`COLUMN_PX`."""
    width_px = (fig.get_tightbbox(renderer).width + 2 * mpl.rcParams["savefig.pad_inches"]) * 96
    return min(1.0, COLUMN_PX / width_px)


def _texts(fig):
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def _covers_data(legend, ax, renderer) -> bool:
    """Whether ``legend`` lies over a data line or point of ``ax`` (reference lines across the axes aside)."""
    box = legend.get_window_extent(renderer)
    for line in ax.lines:
        if line.get_visible() and line.get_transform() == ax.transData:
            path = line.get_transform().transform_path(line.get_path())
            if len(path.vertices) and (path.intersects_bbox(box, filled=False)
                                       or any(box.contains(x, y) for x, y in path.vertices)):
                return True
    for coll in ax.collections:
        if isinstance(coll, Collection) and coll.get_visible() and len(coll.get_offsets()):
            points = coll.get_offset_transform().transform(coll.get_offsets())
            if any(box.contains(x, y) for x, y in points):
                return True
    return False


def _legends_off_the_data(fig, renderer) -> None:
    """A legend inside its axes that covers data goes to the best place; if every place covers data, under
    the axes' axis label, in as many columns (3, 2 or 1) as fit the axes' width."""
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is None or not legend.get_visible():
            continue
        if legend.get_bbox_to_anchor().bounds != ax.bbox.bounds:
            continue  # placed by hand, outside the axes' own box
        if not _covers_data(legend, ax, renderer):
            continue
        legend.set_loc("best")
        fig.draw_without_rendering()
        if not _covers_data(legend, ax, renderer):
            continue
        texts, title = legend.get_texts(), legend.get_title()
        size = texts[0].get_fontsize() if texts else mpl.rcParams["legend.fontsize"]
        outer = ax.get_tightbbox(renderer)
        drop = (ax.bbox.y0 - outer.y0) * 72 / fig.dpi  # tick labels and axis label, in points
        for ncols in (3, 2, 1):
            below = ax.legend(legend.legend_handles, [t.get_text() for t in texts], loc="upper center",
                              bbox_to_anchor=(0.5, 0), borderaxespad=drop / size + 0.3, ncols=min(ncols, len(texts)),
                              fontsize=size, title=title.get_text() or None, title_fontsize=title.get_fontsize())
            if ncols == 1 or below.get_window_extent(renderer).width <= outer.width:
                break


def readable(fig) -> None:
    """Every text of ``fig`` at least :data:`MIN_PX` px on the page (larger where the page shrinks the
    figure), and legends off the data (:func:`_legends_off_the_data`)."""
    if not hasattr(fig.canvas, "get_renderer"):  # a Figure made without pyplot has a canvas that cannot measure
        FigureCanvasAgg(fig)
    renderer = fig.canvas.get_renderer()
    _larger_text(fig, renderer)
    _legends_off_the_data(fig, renderer)
    _larger_text(fig, renderer, layout=False)


def _larger_text(fig, renderer, layout: bool = True) -> None:
    """Texts smaller than :data:`MIN_PX` on the page made that large; laid out again (tight, unless the
    figure has a layout engine of its own) where ``layout``."""
    for _ in range(3):  # larger text widens the figure, which the page then shrinks a little more
        fig.draw_without_rendering()
        min_pt = MIN_PX * 0.75 / _shown_scale(fig, renderer)
        small = [t for t in _texts(fig) if t.get_fontsize() < min_pt - 0.05]
        if not small:
            return
        for ax in fig.axes:
            for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
                for which, ticks in (("major", axis.get_major_ticks()), ("minor", axis.get_minor_ticks())):
                    if ticks and ticks[0].label1.get_fontsize() < min_pt:
                        ax.tick_params(axis=name, which=which, labelsize=min_pt)
        for text in small:
            text.set_fontsize(min_pt)
        if layout and fig.get_layout_engine() is None:
            fig.tight_layout()


def svg(fig) -> str:
    """``fig`` as the page shows it: readable (:func:`readable`), as SVG text on its own white background,
    cut to its contents, with no date in it (the same figure gives the same file)."""
    with style():
        readable(fig)
        out = io.StringIO()
        fig.savefig(out, format="svg", bbox_inches="tight", facecolor="white", metadata={"Date": None})
    return out.getvalue()


def show(name: str, fig=None) -> None:
    """Glue ``fig`` (default: the current figure) as ``name`` for a ``glue:figure`` directive, and close it
    so that the cell itself shows nothing."""
    from IPython.display import SVG
    from myst_nb import glue

    fig = plt.gcf() if fig is None else fig
    glue(name, SVG(svg(fig)), display=False)
    plt.close(fig)
