"""The book's one way of showing a table: readable headers, no meaningless index, numbers written as a
reader writes them (thousands separators, ×10ⁿ, one precision per column, right-aligned), a numbered
caption, nothing cut off.

``table(df, headers={...}, formats={...}, caption=...)`` returns a :class:`Table` (a pandas Styler), which
the page renders as HTML: inside a box that scrolls sideways on a narrow screen (``rp-table-scroll``,
styled in book/_static/content.css), its caption numbered in the order the page shows its tables
("Table 2: ..."). A format is one of :data:`FORMATS` or a callable; a column without one is written with
``sig`` significant figures, all its cells alike (:func:`column_texts`). Formats write plain text
(``< 0.001``, ``5.78×10¹⁷``); every cell, header and the caption is escaped when the table is rendered
(:func:`html_text`), so a string from data or a parameter is shown, never run. :func:`side_by_side` puts
rows that differ in one column only (the article's and the corrected FLOP accounting) side by side.
"""
from __future__ import annotations

import html
import itertools
import math
import numbers
import re

import pandas as pd
from pandas.io.formats.style import Styler

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def power_of_ten(mantissa: str, exponent: int) -> str:
    """"5.78", 17 as "5.78×10¹⁷"; a mantissa of 1 as the power alone ("10¹⁷")."""
    power = "10" + str(int(exponent)).translate(_SUPERSCRIPT)
    if mantissa in ("1", "-1"):
        return power if mantissa == "1" else f"−{power}"
    return f"{mantissa.replace('-', '−')}×{power}"


def sci(x: float, sig: int = 2, trailing_zeros: bool = False) -> str:
    """2.5e+11 as "2.5×10¹¹" and 1e+12 as "10¹²", with ``sig`` significant figures (``trailing_zeros``:
    kept, as a table that prints 4.50e+07 has them: "4.50×10⁷")."""
    if not math.isfinite(x):
        return _missing(x)
    if x == 0:
        return "0"
    mantissa, exponent = f"{x:.{sig - 1}e}".split("e")
    if not trailing_zeros and "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return power_of_ten(mantissa, int(exponent))


def signed(x, digits: int = 3) -> str:
    """A difference with its sign: +0.039 / −0.008; — for a missing value."""
    if not isinstance(x, numbers.Number) or not math.isfinite(x):
        return number(x) if isinstance(x, numbers.Number) else str(x)
    return f"{x:+.{digits}f}".replace("-", "−")


def _missing(x) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else ("∞" if x > 0 else "−∞")


def _plain(x: float) -> bool:
    """Whether ``x`` is written without a power of ten."""
    return x == 0 or 1e-3 <= abs(x) < 1e5


def number(x, sig: int = 3, trailing_zeros: bool = False) -> str:
    """One number as the book writes it: 12,345 / 0.0123 / 4.56×10⁷ / — for a missing value
    (``trailing_zeros``: 4.50×10⁷, not 4.5×10⁷)."""
    if x is None or isinstance(x, bool) or not isinstance(x, numbers.Number):
        return "" if x is None else str(x)
    if isinstance(x, numbers.Integral):
        return f"{int(x):,}".replace("-", "−")
    x = float(x)
    if not math.isfinite(x):
        return _missing(x)
    if x == 0:
        return "0"
    if not _plain(x):
        return sci(x, sig, trailing_zeros)
    if float(x).is_integer() and abs(x) >= 10 ** (sig - 1):
        return f"{int(x):,}".replace("-", "−")
    digits = max(0, sig - 1 - math.floor(math.log10(abs(x))))
    return f"{x:,.{digits}f}".replace("-", "−")


def _fixed(digits: int):
    return lambda x: number(x) if not isinstance(x, numbers.Number) or not math.isfinite(float(x)) \
        else f"{float(x):,.{digits}f}".replace("-", "−")


#: named formats: "int" (separators), "sci"/"sci3" (×10ⁿ, 2 or 3 significant figures), "pct" (a share as a
#: percentage), "p" (a p-value), "signed"/"signed4" (with + or −, 3 or 4 decimals), "f0".."f4" (fixed
#: decimals), "sig2".."sig4" (significant figures)
FORMATS = {
    "int": lambda x: number(int(round(x))) if isinstance(x, numbers.Number) and math.isfinite(x) else number(x),
    "sci": lambda x: sci(float(x)) if isinstance(x, numbers.Number) else str(x),
    "sci3": lambda x: sci(float(x), 3) if isinstance(x, numbers.Number) else str(x),
    "pct": lambda x: f"{100 * x:.1f}%" if isinstance(x, numbers.Number) and math.isfinite(x) else number(x),
    "p": lambda x: ("< 0.001" if x < 1e-3 else f"{x:.3f}") if isinstance(x, numbers.Number) and math.isfinite(x)
    else number(x),
    "signed": signed,
    "signed4": lambda x: signed(x, 4),
    **{f"f{d}": _fixed(d) for d in range(5)},
    **{f"sig{s}": (lambda s: lambda x: number(x, s))(s) for s in (2, 3, 4)},
}

#: the formats whose columns are written with one precision (significant figures) for every cell
_BY_COLUMN = {None: None, "sci": 2, "sci3": 3, "sig2": 2, "sig3": 3, "sig4": 4}


def _real(v) -> bool:
    """A finite, non-zero number of a float type (integers keep their separators)."""
    return (isinstance(v, numbers.Real) and not isinstance(v, (bool, numbers.Integral)) and math.isfinite(v)
            and v != 0)


def column_texts(values, sig: int = 3, sci_only: bool = False) -> list[str]:
    """A column's numbers with one precision. Numbers of one quantity (within two decades of each other,
    none needing a power of ten) get the same decimals, enough for ``sig`` significant figures in the
    smallest: 0.0130, 0.0094. Otherwise every number gets ``sig`` significant figures, trailing zeros kept
    (3.90×10⁷ beside 4.33×10⁷). Where every number is exact with fewer digits (a grid of budgets, a
    printed 6.7×10¹⁰), fewer are written, the same for all. ``sci_only``: powers of ten throughout."""
    values = list(values)
    if sci_only:  # a count asked for in powers of ten (parameters: 4.58×10⁷) is written so, not in full
        values = [float(v) if isinstance(v, numbers.Integral) and not isinstance(v, bool) else v for v in values]
    xs = [float(v) for v in values if _real(v)]
    if not xs:
        return [number(v, sig) for v in values]
    mags = [abs(x) for x in xs]
    if not sci_only and all(_plain(x) for x in xs) and max(mags) <= 100 * min(mags):
        most = max(max(0, sig - 1 - math.floor(math.log10(m))) for m in mags)
        decimals = next(d for d in range(most + 1)
                        if d == most or all(math.isclose(round(x, d), x, rel_tol=1e-12) for x in xs))
        return [f"{float(v):,.{decimals}f}".replace("-", "−") if _real(v) or (isinstance(v, float) and v == 0)
                else number(v, sig) for v in values]
    shown = next(s for s in range(1, sig + 1)
                 if s == sig or all(math.isclose(float(f"{x:.{s - 1}e}"), x, rel_tol=1e-12) for x in xs))
    return [sci(float(v), shown, trailing_zeros=True) if _real(v) and (sci_only or not _plain(v))
            else number(v, shown, trailing_zeros=True) for v in values]


#: the markup the helpers write themselves, in headers such as "N<sub>self</sub>": tags without attributes,
#: kept when the rest is escaped
OWN_MARKUP = ("<sub>", "</sub>", "<sup>", "</sup>")


def html_text(x) -> str:
    """``x`` as text in the page's HTML: escaped, so that a string from data or a parameter (a GPU record's
    name, a CSV header, a caption naming a file) shows as the characters it holds and cannot add markup or
    a script; the helpers' own :data:`OWN_MARKUP` alone is kept. (Quotes stay: the text is an element's
    content, never an attribute's.)"""
    text = html.escape(str(x), quote=False)
    for tag in OWN_MARKUP:
        text = text.replace(html.escape(tag, quote=False), tag)
    return text


def _texts(values, fmt, sig: int) -> list[str]:
    if callable(fmt):
        return [fmt(v) for v in values]
    if fmt in _BY_COLUMN:
        return column_texts(values, _BY_COLUMN[fmt] or sig, sci_only=fmt in ("sci", "sci3"))
    if fmt not in FORMATS:
        raise ValueError(f"format={fmt!r} is not known; allowed: {', '.join(FORMATS)} or a callable")
    return [FORMATS[fmt](v) for v in values]


#: a cell that holds a number, an interval of numbers or a missing one ("—"), written as the book writes them
_NUMERIC = re.compile(r"[−+\-–—~≈<>≤≥±()\[\]%∞×⁰¹²³⁴⁵⁶⁷⁸⁹⁻.,:;/\s\d]*")


def _numeric(texts) -> bool:
    """Whether a column reads as numbers (at least half of its filled cells), to be right-aligned."""
    filled = [str(t).strip() for t in texts if str(t).strip()]
    numeric = [t for t in filled if _NUMERIC.fullmatch(t) and (re.search(r"\d", t) or t in ("—", "∞"))]
    return bool(filled) and any(re.search(r"\d", t) for t in numeric) and 2 * len(numeric) >= len(filled)


_numbers = itertools.count(1)


def numbered_caption(text: str) -> tuple[int, str]:
    """The page's next table number, and ``text`` (HTML, escaped already) with it in front: "Table 3: ...".
    Every table of a page, a :class:`Table` or one a helper writes as HTML (the claims page's), takes its
    number from this one counter, in the order the page shows them."""
    number = next(_numbers)
    return number, f'<span class="caption-number">Table {number}: </span>{text}'


class Table(Styler):
    """A Styler that the page shows in a box of its own (``rp-table-scroll``: it scrolls sideways on a
    narrow screen, with a shadow at the side that hides columns), its caption numbered when first shown:
    the tables of a page (one kernel) are numbered in the order the page shows them."""

    rp_caption: str | None = None
    number: int | None = None

    def _repr_html_(self) -> str:
        if self.rp_caption and self.number is None:
            self.number, caption = numbered_caption(self.rp_caption)
            self.set_caption(caption)
        return f'<div class="rp-table-scroll">{compact(self.to_html())}</div>'


def compact(table_html: str) -> str:
    """A Styler's HTML without what no style or script of the site reads: each cell's id and its row classes,
    and the indentation (half of a chapter's table markup; the alignment rules name a cell's column class,
    which stays). A cell's text holds no newline (:func:`html_text` of one value), so no text changes."""
    table_html = re.sub(r' id="T_\w+?_(?:level\d+_)?(?:row|col)\d+(?:_col\d+)?"', "", table_html)
    table_html = re.sub(r'class="data row\d+ (col\d+)"', r'class="\1"', table_html)
    table_html = re.sub(r'class="row_heading (level\d+) row\d+"', r'class="row_heading \1"', table_html)
    return re.sub(r"\n[ \t]+", "\n", table_html).replace('" >', '">')


def table(df: pd.DataFrame, headers: dict | None = None, formats: dict | None = None, *, index: str | None = None,
          sig: int = 3, caption: str | None = None, columns: list | None = None, transpose: bool = False) -> Table:
    """``df`` as the book shows it. ``headers``: column -> header (units in the header, e.g. "N (parameters)");
    ``formats``: column -> format; ``index``: a column to show first as the row label (None: no index);
    ``columns``: the columns to keep, in order; ``transpose``: rows become columns (for a wide table of
    few rows); ``caption``: numbered as the page shows it ("Table 2: ..."). A frame of
    :func:`side_by_side` keeps its row labels and its two header rows (headers and formats name the
    quantities)."""
    if transpose and index is None:
        raise ValueError("transpose=True needs index= (the column whose values head the transposed columns)")
    headers, formats = dict(headers or {}), dict(formats or {})
    paired = isinstance(df.columns, pd.MultiIndex)
    if paired:
        t = df.copy()
    else:
        t = df.reset_index() if df.index.name is not None or isinstance(df.index, pd.MultiIndex) else df.copy()
    if columns is not None:
        t = t[list(columns)]
    shown = t.astype(object)
    for c in t.columns:
        shown[c] = _texts(t[c], formats.get(c[0] if paired else c), sig)
    if paired:
        shown = _paired_labels(shown, headers)
        label = None
    else:
        shown = shown.rename(columns={c: headers.get(c, c) for c in t.columns})
        label = headers.get(index, index) if index is not None else None
    # the label heads the index column, in the header's one row; the Styler writes an axis name as it is
    axis_name = html_text(label) if label is not None else None
    if label is not None:
        shown = shown.set_index(label).rename_axis(index=None, columns=axis_name)
    if transpose:
        shown = shown.T.rename_axis(index=None, columns=axis_name)
    styler = Table(shown)
    # the cells and headers stay plain text in styler.data; they are escaped as the table is written
    styler = styler.format(html_text).format_index(html_text, axis=0).format_index(html_text, axis=1)
    if label is None and not transpose and not paired:
        styler = styler.hide(axis="index")
    numeric = [j for j, c in enumerate(shown.columns) if _numeric(shown.iloc[:, j])]
    # a quantity's header over its compared columns (side_by_side) stays centred over them
    styler.set_table_styles([{"selector": f"td.col{j}, th.col_heading.col{j}:not([colspan])",
                              "props": "text-align: right;"} for j in numeric])
    styler = styler.set_table_attributes('class="rp-table"')
    if caption:
        styler.rp_caption = html_text(caption)
        styler.set_caption(styler.rp_caption)
    return styler


def _paired_labels(shown: pd.DataFrame, headers: dict) -> pd.DataFrame:
    """A :func:`side_by_side` frame with its headers: each quantity's header over its columns, the compared
    values under it; the row labels' header and the compared column's in the corner."""
    row_names = [headers.get(n, n) for n in shown.index.names]
    by = shown.columns.names[1]
    shown.columns = pd.MultiIndex.from_tuples([(html_text(headers.get(q, q)), html_text(v)) for q, v in shown.columns],
                                              names=[html_text(" / ".join(map(str, row_names))),
                                                     html_text(headers.get(by, by))])
    return shown.rename_axis(index=[None] * shown.index.nlevels)


def side_by_side(df: pd.DataFrame, by: str, keys: list[str] | str, values: list[str] | None = None) -> pd.DataFrame:
    """Rows that differ only in ``by`` (e.g. the FLOP accounting: "article" and "corrected"), one row per
    ``keys``, with each of ``values`` once per value of ``by``, side by side, for :func:`table`. A quantity
    that is the same under every value of ``by`` in every row is shown once, under "all"."""
    keys = [keys] if isinstance(keys, str) else list(keys)
    values = [c for c in df.columns if c not in (by, *keys)] if values is None else list(values)
    compared = list(dict.fromkeys(df[by]))
    wide = df.pivot(index=keys, columns=by, values=values)
    wide = wide.loc[list(dict.fromkeys(map(tuple, df[keys].values)) if len(keys) > 1 else dict.fromkeys(df[keys[0]]))]
    out = {}
    for q in values:
        part = wide[q][compared]
        if all(part[v].equals(part[compared[0]]) for v in compared[1:]):
            out[(q, "all")] = part[compared[0]]
        else:
            out.update({(q, v): part[v] for v in compared})
    paired = pd.DataFrame(out)
    paired.columns = pd.MultiIndex.from_tuples(paired.columns, names=[None, by])
    return paired
