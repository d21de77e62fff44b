"""The book's one way of showing a table: readable headers, no meaningless index, numbers written as a
reader writes them (thousands separators, ×10ⁿ, consistent significant figures), nothing cut off.

``table(df, headers={...}, formats={...})`` returns a pandas Styler, which the page renders as HTML.
A format is one of :data:`FORMATS` or a callable; columns without one are formatted by their values
(integers with separators, other numbers with ``sig`` significant figures, ×10ⁿ outside [1e-3, 1e5)).
Formats write plain text (``< 0.001``, ``5.78×10¹⁷``); every cell, header and the caption is escaped when
the table is rendered (:func:`html_text`), so a string from data or a parameter is shown, never run.
"""
from __future__ import annotations

import html
import math
import numbers

import pandas as pd

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


def number(x, sig: int = 3) -> str:
    """One number as the book writes it: 12,345 / 0.0123 / 4.56×10⁷ / — for a missing value."""
    if x is None or isinstance(x, bool) or not isinstance(x, numbers.Number):
        return "" if x is None else str(x)
    if isinstance(x, numbers.Integral):
        return f"{int(x):,}".replace("-", "−")
    x = float(x)
    if not math.isfinite(x):
        return _missing(x)
    if x == 0:
        return "0"
    if not 1e-3 <= abs(x) < 1e5:
        return sci(x, sig)
    if float(x).is_integer() and abs(x) >= 10 ** (sig - 1):
        return f"{int(x):,}".replace("-", "−")
    digits = max(0, sig - 1 - math.floor(math.log10(abs(x))))
    return f"{x:,.{digits}f}".replace("-", "−")


def _fixed(digits: int):
    return lambda x: number(x) if not isinstance(x, numbers.Number) or not math.isfinite(float(x)) \
        else f"{float(x):,.{digits}f}".replace("-", "−")


#: named formats: "int" (separators), "sci" (×10ⁿ), "pct" (a share as a percentage), "p" (a p-value),
#: "signed"/"signed4" (with + or −, 3 or 4 decimals), "f0".."f4" (fixed decimals), "sig2".."sig4" (significant figures)
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


def _formatter(fmt, sig: int):
    if fmt is None:
        return lambda x: number(x, sig)
    if callable(fmt):
        return fmt
    if fmt not in FORMATS:
        raise ValueError(f"format={fmt!r} is not known; allowed: {', '.join(FORMATS)} or a callable")
    return FORMATS[fmt]


def table(df: pd.DataFrame, headers: dict | None = None, formats: dict | None = None, *, index: str | None = None,
          sig: int = 3, caption: str | None = None, columns: list | None = None, transpose: bool = False):
    """``df`` as the book shows it. ``headers``: column -> header (units in the header, e.g. "N (parameters)");
    ``formats``: column -> format; ``index``: a column to show first as the row label (None: no index);
    ``columns``: the columns to keep, in order; ``transpose``: rows become columns (for a wide table of
    few rows). Returns a pandas Styler."""
    if transpose and index is None:
        raise ValueError("transpose=True needs index= (the column whose values head the transposed columns)")
    headers, formats = dict(headers or {}), dict(formats or {})
    t = df.reset_index() if df.index.name is not None or isinstance(df.index, pd.MultiIndex) else df.copy()
    if columns is not None:
        t = t[list(columns)]
    shown = t.copy()
    for c in t.columns:
        f = _formatter(formats.get(c), sig)
        shown[c] = [f(v) for v in t[c]]
    shown = shown.rename(columns={c: headers.get(c, c) for c in t.columns})
    label = headers.get(index, index) if index is not None else None
    # the label heads the index column, in the header's one row; the Styler writes an axis name as it is
    axis_name = html_text(label) if label is not None else None
    if label is not None:
        shown = shown.set_index(label).rename_axis(index=None, columns=axis_name)
    if transpose:
        shown = shown.T.rename_axis(index=None, columns=axis_name)
    # the cells and headers stay plain text in styler.data; they are escaped as the table is written
    styler = shown.style.format(html_text).format_index(html_text, axis=0).format_index(html_text, axis=1)
    if label is None and not transpose:
        styler = styler.hide(axis="index")
    styler = styler.set_table_attributes('class="rp-table"')
    if caption:
        styler = styler.set_caption(html_text(caption))
    return styler
