"""The book's table and figure helpers (book/_lib/tables.py, figures.py): numbers written as a reader writes them."""
import math

import matplotlib
import pandas as pd
import pytest

from _lib import figures, tables


@pytest.mark.parametrize("x, sig, want", [
    (12345, 3, "12,345"), (-7, 3, "−7"), (0.012345, 3, "0.0123"), (3.14159, 3, "3.14"), (2.0, 3, "2.00"),
    (45678.9, 3, "45,679"), (4.56e7, 3, "4.56×10⁷"), (1e12, 3, "10¹²"), (2.5e11, 2, "2.5×10¹¹"),
    (-3e-5, 2, "−3×10⁻⁵"), (0.0, 3, "0"), (math.nan, 3, "—"), (math.inf, 3, "∞"), ("text", 3, "text"),
])
def test_number(x, sig, want):
    assert tables.number(x, sig) == want


def test_sci():
    assert tables.sci(5.78e17, 3) == "5.78×10¹⁷" and tables.sci(1e-3) == "10⁻³" and tables.sci(-1e6) == "−10⁶"


def test_table_headers_formats_and_no_index():
    df = pd.DataFrame({"num_channels": [512, 1024], "C": [5.78e17, 1.2e18], "p": [0.0004, 0.21], "share": [0.358, 0.5]})
    html = tables.table(df, headers={"num_channels": "channels d", "C": "C (FLOPs)"},
                        formats={"p": "p", "share": "pct"}).to_html()
    assert "channels d" in html and "num_channels" not in html and "C (FLOPs)" in html
    assert "5.78×10¹⁷" in html and "1.20×10¹⁸" in html and "e+" not in html  # one precision per column
    assert "&lt; 0.001" in html and "0.210" in html and "35.8%" in html and "1,024" in html
    assert 'class="rp-table"' in html and "row_heading" not in html  # no 0..n index


def test_table_index_transpose_and_bad_format():
    df = pd.DataFrame({"model": ["a", "b"], "loss": [3.2451, 3.2634]})
    t = tables.table(df, index="model", formats={"loss": "f3"}, transpose=True).to_html()
    assert "3.245" in t and "3.263" in t and ">a<" in t
    with pytest.raises(ValueError, match="transpose=True needs index="):
        tables.table(df, transpose=True)
    with pytest.raises(ValueError, match=r"^format='percent' is not known; allowed: int, sci"):
        tables.table(df, formats={"loss": "percent"})


def test_figure_style_is_vector_and_colour_blind_safe():
    figures.setup()
    assert matplotlib.rcParams["svg.fonttype"] == "none"
    cycle = [c["color"] for c in matplotlib.rcParams["axes.prop_cycle"]]
    assert tuple(cycle) == figures.PALETTE and cycle[0] == "#0072B2"
