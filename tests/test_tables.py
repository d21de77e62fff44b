"""The book's table helper (book/_lib/tables.py): one precision per column, numbers right-aligned, numbered
captions, a box that scrolls on a phone, and comparisons side by side."""
import re

import pandas as pd
import pytest

from _lib import tables


@pytest.mark.parametrize("values, sig, want", [
    ([3.9003e7, 4.33e7, 4.04e7], 3, ["3.90×10⁷", "4.33×10⁷", "4.04×10⁷"]),  # not 3.9×10⁷ beside 4.33×10⁷
    ([0.013, 0.0094, 0.0075, 0.016], 2, ["0.0130", "0.0094", "0.0075", "0.0160"]),  # one quantity: same decimals
    ([1.628, 279.6, 333.9, 0.3163], 4, ["1.628", "279.6", "333.9", "0.3163"]),  # several: same figures
    ([2.5e11, 5e11, 1e12], 3, ["2.5×10¹¹", "5.0×10¹¹", "1.0×10¹²"]),  # exact with fewer digits: fewer, for all
    ([0.95, 0.99, 0.999], 3, ["0.950", "0.990", "0.999"]),
    ([1e-4, 0.2], 3, ["10⁻⁴", "0.2"]),
    ([float("nan"), 1.5, 2.25, 0.0], 3, ["—", "1.50", "2.25", "0.00"]),
    ([50000.0, 31421.0], 3, ["50,000", "31,421"]),
    ([12, 1.5, "x", None], 3, ["12", "1.5", "x", ""]),  # integers keep their separators, text stays
])
def test_one_precision_per_column(values, sig, want):
    assert tables.column_texts(values, sig) == want


def test_named_formats_keep_one_precision_per_column():
    df = pd.DataFrame({"C": [1e12, 2.5e11], "N": [4.5e7, 7.17e7], "loss": [3.24511, 3.2]})
    shown = tables.table(df, formats={"C": "sci", "N": "sig2", "loss": "f3"}).data
    assert shown["C"].tolist() == ["1.0×10¹²", "2.5×10¹¹"]
    assert shown["N"].tolist() == ["4.5×10⁷", "7.2×10⁷"] and shown["loss"].tolist() == ["3.245", "3.200"]


def _aligned_right(html: str) -> set[int]:
    cells = {int(j) for j in re.findall(r"td\.col(\d+) \{\s*text-align: right;", html)}
    heads = {int(j) for j in re.findall(r"th\.col_heading\.col(\d+):not\(\[colspan\]\) \{\s*text-align: right;", html)}
    assert cells == heads
    return cells


def test_numbers_are_right_aligned_and_text_is_not():
    df = pd.DataFrame({"model": ["a", "b"], "loss": [3.2, 3.1], "interval": ["[0.28, 0.34]", "—"],
                       "note": ["under 0.01", "none"], "C": ["5.78×10¹⁷", "1.2×10¹⁸"]})
    assert _aligned_right(tables.table(df).to_html()) == {1, 2, 4}
    # a transposed table is aligned by the columns it shows
    t = tables.table(pd.DataFrame({"model": ["a", "b"], "loss": [3.2, 3.1]}), index="model", transpose=True)
    assert _aligned_right(t.to_html()) == {0, 1}


def test_captions_are_numbered_in_the_order_the_page_shows_them():
    df = pd.DataFrame({"x": [1.5, 2.5]})
    first, second, plain = tables.table(df, caption="B <i>"), tables.table(df, caption="A"), tables.table(df)
    html_second, html_first = second._repr_html_(), first._repr_html_()
    n = second.number
    assert first.number == n + 1 and f'<span class="caption-number">Table {n}: </span>A</caption>' in html_second
    assert f"Table {n + 1}: </span>B &lt;i&gt;</caption>" in html_first  # the caption stays escaped
    assert first._repr_html_().count(f"Table {n + 1}: ") == 1 and first.number == n + 1  # shown again: the same
    assert "<caption" not in plain._repr_html_() and plain.number is None


def test_every_table_sits_in_a_box_that_scrolls_on_a_phone():
    html = tables.table(pd.DataFrame({"x": [1]}))._repr_html_()
    assert html.startswith('<div class="rp-table-scroll">') and html.endswith("</div>")


def test_side_by_side_pairs_the_compared_rows():
    df = pd.DataFrame({"accounting": ["article"] * 2 + ["corrected"] * 2, "model": ["2", "1"] * 2,
                       "C": [5.93e17, 5.91e17, 4.26e17, 4.23e17], "N": [1e7, 2e7, 1e7, 2e7]})
    wide = tables.side_by_side(df, "accounting", "model")
    assert wide.index.tolist() == ["2", "1"]  # in the order of the rows
    assert wide.columns.tolist() == [("C", "article"), ("C", "corrected"), ("N", "all")]  # N: the same in both
    assert wide.loc["1", ("C", "corrected")] == 4.23e17
    html = tables.table(wide, headers={"C": "C (FLOPs)", "accounting": "FLOP accounting"},
                        formats={"C": "sci3"}).to_html()
    assert re.search(r'colspan="2">C \(FLOPs\)</th>', html) and "FLOP accounting</th>" in html
    assert ">model</th>" in html and "4.23×10¹⁷" in html and "<script" not in html
    assert _aligned_right(html) == {0, 1, 2}
