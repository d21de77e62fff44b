"""What a fit found, and how: one result type for every fitter."""
from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

CONVERGED = "converged"
MAX_ITERATIONS = "max-iterations"
FAILED = "failed"
STATUSES = (CONVERGED, MAX_ITERATIONS, FAILED)


@dataclass(frozen=True, eq=False)  # eq: arrays and tables have no single truth value
class FitResult:
    """The estimate of one fit. Frozen: every field is computed before the result is built.

    ``method`` is a short key (``"approach3-huber"``) and ``title`` the sentence shown to people.
    ``params`` are the estimates in the papers' names (k_N, a, k_D, b; or A, B, E, alpha, beta).
    ``x`` is the vector the optimiser worked on (Approach 3: θ = (log A, log B, log E, α, β), and
    log σ for the likelihood; a closed form: the estimates in ``params`` order). ``status`` is
    converged, max-iterations or failed, from the optimiser's own flags. ``law`` is the
    compute-optimal allocation N_opt = k_N·C^a, D_opt = k_D·C^b: fitted, or for Approach 3 implied
    by the fitted surface, whose exponents a and b are then derived, not estimated. ``ci`` maps a
    name to its (lo, hi) bootstrap percentile interval when a bootstrap was run. ``table`` holds
    intermediate results (IsoFLOP vertices, envelope segments).
    """

    method: str
    title: str
    params: Mapping[str, float]
    x: np.ndarray
    fun: float
    objective: str
    status: str
    message: str
    n_points: int
    nit: int = 0
    law: Any = None  # a ScalingLaw (not imported: replication.fit.laws builds FitResults)
    ci: Mapping[str, tuple[float, float]] | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)
    table: Any = None  # a DataFrame

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"status={self.status!r}; allowed: {', '.join(STATUSES)}")
        x = np.array(self.x, dtype=float).ravel()
        x.flags.writeable = False
        put = object.__setattr__  # a frozen dataclass sets its own fields this way, once
        put(self, "x", x)
        put(self, "params", MappingProxyType({k: float(v) for k, v in self.params.items()}))
        if self.ci is not None:
            put(self, "ci", MappingProxyType({k: (float(lo), float(hi)) for k, (lo, hi) in self.ci.items()}))
        put(self, "options", MappingProxyType(dict(self.options)))
        put(self, "details", MappingProxyType(dict(self.details)))

    def __reduce__(self):  # mapping proxies do not pickle; the plain dicts rebuild the same result
        return self.__class__, tuple(_plain(getattr(self, f.name)) for f in fields(self))

    @property
    def success(self) -> bool:
        return self.status == CONVERGED

    @property
    def a(self) -> float | None:
        """The exponent of N_opt(C) of :attr:`law`."""
        return None if self.law is None else self.law.a

    @property
    def b(self) -> float | None:
        """The exponent of D_opt(C) of :attr:`law`."""
        return None if self.law is None else self.law.b

    def __getitem__(self, name: str) -> float:
        """An estimate by name, or the exponent a or b of :attr:`law` where they are derived."""
        if name in self.params:
            return self.params[name]
        if name in ("a", "b") and self.law is not None:
            return getattr(self.law, name)
        raise KeyError(name)

    def to_dict(self) -> dict:
        out = {
            "method": self.method,
            "title": self.title,
            "status": self.status,
            "success": self.success,
            "params": dict(self.params),
            "x": self.x.tolist(),
            "ci": None if self.ci is None else {k: list(v) for k, v in self.ci.items()},
            "fun": self.fun,
            "objective": self.objective,
            "message": self.message,
            "nit": self.nit,
            "n_points": self.n_points,
            "options": dict(self.options),
        }
        if self.law is not None:
            out["law"] = {"k_N": self.law.k_N, "a": self.law.a, "k_D": self.law.k_D, "b": self.law.b}
        out["details"] = {k: v for k, v in self.details.items() if _jsonable(v)}
        if self.table is not None:
            out["table"] = json.loads(self.table.to_json(orient="records"))
        return out

    def __str__(self) -> str:
        lines = [f"{self.title} on {self.n_points} points"]
        head = f"  {'parameter':<10} {'estimate':>12}"
        if self.ci:
            lo_q, hi_q = self.options.get("ci_percentiles", (10, 90))
            head += f" {f'p{lo_q:g}':>12} {f'p{hi_q:g}':>12}"
        lines.append(head)
        derived = [k for k in ("a", "b") if k not in self.params and self.law is not None]
        for name in [*self.params, *derived]:
            row = f"  {name:<10} {_fmt(self[name]):>12}"
            if self.ci and name in self.ci:
                lo, hi = self.ci[name]
                row += f" {_fmt(lo):>12} {_fmt(hi):>12}"
            lines.append(row + ("  (derived)" if name in derived else ""))
        if self.law is not None:
            lines.append(f"  law        {self.law}")
        shown = {"method": self.method, "status": self.status,
                 "objective": f"{self.fun:.10g}  ({self.objective})", "message": self.message,
                 "x": "[" + ", ".join(_fmt(v) for v in self.x) + "]"}
        if self.nit:
            shown["nit"] = self.nit
        # per-point arrays (the budget of every point) would swamp the summary; arrays nested in a
        # detail are short (one value per budget) and print on one line
        shown.update({k: _show(v) for k, v in self.details.items() if not isinstance(v, np.ndarray)})
        shown["options"] = ", ".join(f"{k}={v}" for k, v in self.options.items())
        width = max(len(k) for k in shown)
        lines += [f"  {k:>{width}}: {v}" for k, v in shown.items()]
        if self.table is not None and len(self.table):
            body = self.table if len(self.table) <= 30 else self.table.iloc[list(range(10)) + list(range(-10, 0))]
            lines.append("  " + body.to_string(float_format=_fmt).replace("\n", "\n  "))
            if len(self.table) > 30:
                lines.append(f"  ({len(self.table)} rows; first and last 10 shown)")
        return "\n".join(lines)

    __repr__ = __str__


def _show(v, nested: bool = False) -> str:
    if isinstance(v, np.ndarray):
        return np.array2string(v, separator=", ", max_line_width=10**9, threshold=20)
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{k!r}: {_show(x, True)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(_show(x, True) for x in v) + "]"
    return repr(v) if nested else str(v)


def _plain(v):
    return dict(v) if isinstance(v, MappingProxyType) else v


def _fmt(v: float) -> str:
    v = float(v)
    if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
        return f"{v:.4e}"
    return f"{v:.5g}"


def _jsonable(v) -> bool:
    try:
        json.dumps(v)
        return True
    except TypeError:
        return False
