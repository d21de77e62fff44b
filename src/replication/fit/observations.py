"""The fitters' input: columns N, D, loss (and optionally C) checked once, with one-line errors."""
from __future__ import annotations

import csv
import io
import math

import numpy as np
import pandas as pd

from replication.errors import ReplicationError
from replication.files import MAX_INPUT_BYTES, read_input_text


def column(data, name: str, *, required: bool = True):
    """``data[name]``, or None for an optional column that is absent."""
    if data is None or name not in data:
        if required:
            raise ReplicationError(f"data is missing column {name!r}; need columns N, D, loss (C optional)")
        return None
    return data[name]


def positive(name: str, x, n: int | None = None, *, like: str = "N") -> np.ndarray:
    """``x`` as a flat float array of finite values > 0; ``n``: the length it must have (that of ``like``)."""
    try:
        if np.asarray(x).dtype.kind == "b":  # True would silently count as 1.0
            raise TypeError
        x = np.asarray(x, dtype=float).ravel()
    except (TypeError, ValueError):
        raise ReplicationError(f"{name} must be numeric; allowed: finite values > 0") from None
    if n is not None and x.size != n:
        raise ReplicationError(f"{name} has {x.size} values but {like} has {n}; all columns must have the same length")
    if np.isnan(x).any():
        raise ReplicationError(f"{name} contains NaN at row {int(np.flatnonzero(np.isnan(x))[0])}; allowed: finite values > 0")
    bad = ~np.isfinite(x) | (x <= 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ReplicationError(f"{name}[{i}]={float(x[i])!r} is out of range; allowed: (0, inf)")
    return x


def need_points(what: str, n: int, k: int):
    if n < k:
        raise ReplicationError(f"{what} needs at least {k} points; got {n}")


def need_variation(needs: str, **columns) -> None:
    """Refuse a column that has one value in every row: the fit would not fail but return constants that the
    data cannot determine (a slope of 0, an arbitrary A or E), and call them converged. ``needs``: what the fit
    needs, for the message. None columns are skipped; so are single rows (:func:`need_points` speaks of them)."""
    for name, x in columns.items():
        if x is not None and np.size(x) > 1 and np.ptp(x) == 0:
            raise ReplicationError(f"{name} has the same value ({float(np.ravel(x)[0]):g}) in all {np.size(x)} rows; "
                                   f"{needs}")


def observations(data=None, *, N=None, D=None, loss=None, C=None, need_loss=True):
    """(N, D, loss, C) as validated float arrays, from a DataFrame/dict or from keyword arrays.

    C defaults to 6·N·D; D may be omitted when C is given (D = C / 6N).
    """
    if data is not None:
        N = column(data, "N")
        D = column(data, "D", required=column(data, "C", required=False) is None)
        loss = column(data, "loss", required=need_loss)
        C = column(data, "C", required=False)
    if N is None:
        raise ReplicationError("N is required (parameters)")
    N = positive("N", N)
    C = None if C is None else positive("C", C, N.size)
    if D is None:
        if C is None:
            raise ReplicationError("need D (tokens) or C (FLOPs)")
        D = C / (6 * N)
    D = positive("D", D, N.size)
    if C is None:
        with np.errstate(over="ignore"):
            C = 6 * N * D
        if not np.isfinite(C).all():  # the user gave N and D: say so, rather than blame a C they never gave
            i = int(np.flatnonzero(~np.isfinite(C))[0])
            raise ReplicationError(f"6·N·D overflows at row {i} (N={N[i]:g}, D={D[i]:g}); allowed: N·D up to "
                                   f"{np.finfo(float).max / 6:.3g}, or give column C")
    loss = None if loss is None else positive("loss", loss, N.size)
    if need_loss and loss is None:
        raise ReplicationError("loss is required")
    return N, D, loss, C


#: The most rows (lines after the header, blank ones included) a CSV of runs may have. Chinchilla fitted a few
#: hundred final losses, and a log of training curves (Approach 1) of 1,000 runs × 1,000 evaluations is a
#: million rows: anything longer is not a table of runs. A million rows of N, D, loss parse in 0.3 GB; ten
#: million (still under the byte cap) would take gigabytes. Counting lines is one pass in C, before parsing.
MAX_CSV_ROWS = 1_000_000
#: The most columns: the fitters read N, D, loss, C, run and horizon; a logger's extra columns are
#: welcome, but a header of millions of names (one absurd line) would become millions of pandas columns.
MAX_CSV_COLUMNS = 100


def _lines(text: str):
    """The lines of ``text``, one at a time (``csv.reader`` pulls only those the header spans)."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end + 1
        yield text[start:end]
        start = end


def read_csv(path: str, name: str = "--data", *, limit: int = MAX_INPUT_BYTES):
    """The CSV file ``path`` (named by option ``name``) as a DataFrame, with a one-line error if it cannot be read.

    Only a regular file of at most ``limit`` bytes of UTF-8 is read (:func:`replication.files.read_input_text`:
    a FIFO, a device or a symlink to one would hang or never end), with at most :data:`MAX_CSV_ROWS` rows and
    :data:`MAX_CSV_COLUMNS` columns, and no column named twice (pandas would rename the second ``loss`` to
    ``loss.1`` and the fit would use the first).
    """
    text = read_input_text(path, name, limit)
    where = f"{name}={str(path)!r}"
    if not text.strip():
        raise ReplicationError(f"{where} is empty; allowed: a CSV with a header (N, D, loss, C, ...) and one row "
                               "per run")
    rows = text.count("\n") + (not text.endswith("\n")) - 1  # the lines after the header
    if rows > MAX_CSV_ROWS:
        raise ReplicationError(f"{where} has {rows:,} rows; allowed: at most {MAX_CSV_ROWS:,} rows (one per run "
                               "or evaluation, after a header)")
    first = text.find("\n")
    if text.count(",", 0, len(text) if first < 0 else first) >= MAX_CSV_COLUMNS:  # before csv splits it
        raise ReplicationError(f"{where}: its header has more than {MAX_CSV_COLUMNS} columns; allowed: at most "
                               f"{MAX_CSV_COLUMNS} (N, D, loss, C, run, horizon, ...)")
    header = [field.strip() for field in next(csv.reader(_lines(text)), [])]
    twice = [col for i, col in enumerate(header) if col in header[:i]]
    if twice:
        raise ReplicationError(f"{where}: column {twice[0]!r} appears more than once; allowed: "
                               "each column once (N, D, loss, C, ...)")
    try:
        # pandas parses bytes without the 4-byte-per-character copy that a StringIO of the text would make
        data = pd.read_csv(io.BytesIO(text.encode("utf-8")), skipinitialspace=True)
    except Exception as err:  # a parser error is one line for the user, whatever its kind
        why = " ".join(str(err).split())
        raise ReplicationError(f"{where}: cannot read as CSV ({type(err).__name__}: {why})") from None
    if data.empty:
        raise ReplicationError(f"{where} has no rows; allowed: a CSV with a header and one row per run")
    return data


def inconsistent_rows(N, C, D, *, tol: float = 0.25) -> np.ndarray:
    """Indices of rows whose printed C is not 6·N·D within a factor (1 ± tol): misprints."""
    ratio = np.asarray(C, dtype=float) / (6 * np.asarray(N, dtype=float) * np.asarray(D, dtype=float))
    return np.flatnonzero(np.abs(np.log(ratio)) > math.log1p(tol))
