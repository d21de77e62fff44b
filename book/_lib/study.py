"""Our Chinchilla study: the chapter's display tables (exponents with their intervals, as strings) and
its figures of the recipe study."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from replication.sources.chinchilla import TABLE_2
from replication.studies import chinchilla
from replication.studies.chinchilla_design import DEFAULT, ChinchillaStudy


def _fmt_ci(value: float, ci) -> str:
    if ci is None or not np.all(np.isfinite(ci)):
        return f"{value:.3f}"
    return f"{value:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"


def exponents_table(fits: dict):
    """Our a and b (10th-90th percentile intervals) beside the paper's Table 2."""
    rows = []
    for k, fit in fits.items():
        paper = TABLE_2[f"approach{k}"]
        if k == 3:
            ours = fit.details["ours"]
            a, b, ci = ours.get("a", math.nan), ours.get("b", math.nan), ours.get("ci", {})
            note = f"α={fit['alpha']:.3f}, β={fit['beta']:.3f}; closed form (C=6ND): " \
                   f"a={_fmt_ci(fit['a'], (fit.ci or {}).get('a'))}"
        else:
            a, b, ci = fit["a"], fit["b"], fit.ci or {}
            note = fit.message
        rows.append({"approach": k, "paper a": f"{paper['a']:.2f} [{paper['a_ci'][0]}, {paper['a_ci'][1]}]",
                     "ours a": _fmt_ci(a, ci.get("a")),
                     "paper b": f"{paper['b']:.2f} [{paper['b_ci'][0]}, {paper['b_ci'][1]}]",
                     "ours b": _fmt_ci(b, ci.get("b")), "note": note})
    return pd.DataFrame(rows)


def embedding_comparison(fits_by_count: dict):
    """The exponent a (with its interval) per approach, N counted with and without embeddings
    (Pearce & Song 2024). ``fits_by_count`` maps "total"/"non-embedding" to
    :func:`replication.studies.chinchilla.fit_all` results."""
    rows = []
    for k in (1, 2, 3):
        row = {"approach": k}
        for count, fits in fits_by_count.items():
            fit = fits[k]
            if k == 3:
                ours = fit.details["ours"]
                a, ci = ours.get("a", math.nan), ours.get("ci", {}).get("a")
            else:
                a, ci = fit["a"], (fit.ci or {}).get("a")
            row[f"a, N {count}"] = _fmt_ci(a, ci)
        rows.append(row)
    return pd.DataFrame(rows).set_index("approach")


def plot_recipes(study: ChinchillaStudy = DEFAULT, root=None, ax=None):
    """Final loss of every recipe run (dots) and the mean per recipe (bar)."""
    import matplotlib.pyplot as plt

    runs = chinchilla.runs_table(study, root)
    runs = runs[runs["recipe_study"]]
    ax = ax or plt.subplots(figsize=(8, 3.5))[1]
    names = list(study.recipes)
    for i, name in enumerate(names):
        y = runs.loc[runs["recipe"] == name, "loss"].to_numpy()
        ax.plot(np.full(y.size, i), y, "o", ms=4, color="tab:blue", alpha=0.7)
        ax.hlines(y.mean(), i - 0.3, i + 0.3, color="k")
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_ylabel("final validation loss")
    ax.set_title(f"recipe study: {study.ladder[study.recipe_size]} (d, L) at C={study.budgets[study.recipe_budget]:.3g}")
    return ax


def plot_lr_schedules(study: ChinchillaStudy = DEFAULT, ax=None):
    """The learning-rate schedules of the recipe variants (what the recipe claims are about)."""
    import matplotlib.pyplot as plt

    from replication.training import lr_at  # torch: only for this figure

    ax = ax or plt.subplots(figsize=(6, 3.5))[1]
    for name in study.recipes:
        cfg = study.recipe_config(name, study.recipe_seeds[0])
        total = cfg.num_steps()
        steps = np.arange(total)
        ax.plot(steps, [lr_at(int(s), cfg, total) for s in steps], lw=1, label=name)
    ax.set_xlabel("step")
    ax.set_ylabel("learning rate")
    ax.legend(fontsize=7)
    return ax
