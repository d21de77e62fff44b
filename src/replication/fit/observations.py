"""The fitters' input: columns N, D, loss (and optionally C) checked once, with one-line errors."""
from __future__ import annotations

import csv
import math

import numpy as np

from replication.errors import ReplicationError


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


def read_csv(path: str):
    """A CSV as a DataFrame, with a one-line error if it cannot be read or names a column twice
    (pandas would rename the second ``loss`` to ``loss.1`` and the fit would use the first)."""
    import pandas as pd

    try:
        with open(path, newline="") as f:
            header = [name.strip() for name in next(csv.reader(f), [])]
        data = pd.read_csv(path, skipinitialspace=True)
    except FileNotFoundError:
        raise ReplicationError(f"data={str(path)!r}: no such file") from None
    except Exception as err:  # a parser error is one line for the user, whatever its kind
        why = " ".join(str(err).split())
        raise ReplicationError(f"data={str(path)!r}: cannot read as CSV ({type(err).__name__}: {why})") from None
    twice = [name for i, name in enumerate(header) if name in header[:i]]
    if twice:
        raise ReplicationError(f"data={str(path)!r}: column {twice[0]!r} appears more than once; allowed: "
                               "each column once (N, D, loss, C, ...)")
    return data


def inconsistent_rows(N, C, D, *, tol: float = 0.25) -> np.ndarray:
    """Indices of rows whose printed C is not 6·N·D within a factor (1 ± tol): misprints."""
    ratio = np.asarray(C, dtype=float) / (6 * np.asarray(N, dtype=float) * np.asarray(D, dtype=float))
    return np.flatnonzero(np.abs(np.log(ratio)) > math.log1p(tol))
