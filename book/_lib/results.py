"""The results page and the introduction's three findings: the headline verdicts of every chapter
(:func:`replication.claims.headlines.headlines`), written as MyST (badges, links to the chapters) and glued."""
from __future__ import annotations

from IPython.display import Markdown
from myst_nb import glue

from replication.claims.headlines import Headline
from replication.verdict import AGREES, BADGE, DIFFERS, DISAGREES, HOLDS, INCONCLUSIVE

#: the badge colour of a headline without a check
NO_CHECK_BADGE = "light"


def badge(h: Headline) -> str:
    colour = BADGE[h.outcome] if h.verdict is not None else NO_CHECK_BADGE
    return f"{{bdg-{colour}}}`{h.label}`"


def _cell(text: str) -> str:
    """Text for one cell of a MyST table: a pipe would end the cell, a newline the row."""
    return " ".join(str(text).split()).replace("|", "\\|")


def table_markdown(headlines: list[Headline]) -> str:
    """Every headline as one row of a MyST table with a caption: the quantity (a link to its chapter), the
    outcome as a badge, what the paper says and what we find (with its interval)."""
    rows = ["| quantity | outcome | the paper | we find |", "|:--|:--|:--|:--|"]
    for h in headlines:
        paper, found = (h.verdict.claim, h.verdict.found(h.fmt)) if h.verdict is not None else ("", h.note)
        link = f"{{doc}}`{_cell(h.quantity).replace('<', '(').replace('>', ')')} <{h.chapter}>`"
        rows.append("| " + " | ".join([link, badge(h), _cell(paper), _cell(found)]) + " |")
    return "````{table} Every chapter's headline verdicts\n:name: results-table\n\n" + "\n".join(rows) + "\n````"


def counts(headlines: list[Headline]) -> dict[str, int]:
    """Headlines per kind of outcome: those that agree or hold, disagree or differ, are inconclusive, or have
    no check."""
    groups = {"confirmed": (AGREES, HOLDS), "contradicted": (DISAGREES, DIFFERS), "inconclusive": (INCONCLUSIVE,)}
    out = {name: sum(h.verdict is not None and h.outcome in outcomes for h in headlines)
           for name, outcomes in groups.items()}
    out["unchecked"] = sum(h.verdict is None for h in headlines)
    return out


def verdict_markdown(headlines: list[Headline]) -> str:
    """The page's Verdict box: what the book checks, and how the checks came out, as badges."""
    c = counts(headlines)
    found = [f"{{bdg-success}}`{c['confirmed']} agree or hold`",
             f"{{bdg-danger}}`{c['contradicted']} disagree or differ`",
             f"{{bdg-secondary}}`{c['inconclusive']} inconclusive`"]
    if c["unchecked"]:
        found.append(f"{{bdg-{NO_CHECK_BADGE}}}`{c['unchecked']} without a check`")
    return (f"The claims each chapter exists to check: {len(headlines)} in {len({h.chapter for h in headlines})} "
            f"chapters, from both papers. Against the papers' own numbers, their data or our runs: {' '.join(found)}.")


def glue_page(headlines: list[Headline]) -> dict[str, int]:
    """Glue the page's Verdict box (``results_verdict``) and its table (``results_table``); return the counts."""
    glue("results_verdict", Markdown(verdict_markdown(headlines)), display=False)
    glue("results_table", Markdown(table_markdown(headlines)), display=False)
    return counts(headlines)


def _first(headlines: list[Headline], chapter: str, index: int = 0) -> Headline:
    return [h for h in headlines if h.chapter == chapter][index]


def _estimate(h: Headline) -> str:
    """An estimate with its interval and its badge: "0.510 (0.403 to 0.594) {badge}"."""
    v = h.verdict
    if v.interval is None:  # a study still training: no estimate yet
        return f"not yet estimated {badge(h)}"
    lo, hi = v.interval
    return f"{v.ours:{h.fmt}} ({lo:{h.fmt}} to {hi:{h.fmt}}) {badge(h)}"


def findings_markdown(headlines: list[Headline]) -> list[str]:
    """The introduction's three findings, each one paragraph of MyST: the exponent of Chinchilla's allocation
    (on the paper's own points and on our runs, and our runs' held-out prediction), eq. 10 refitted to the
    paper's own points, and Krasser's experiments and his rule for Perceiver AR at CPU scale. The wording is the same whatever the outcomes; the
    badges say them."""
    points, ours, held_out = (_first(headlines, "approach2"), _first(headlines, "wide"),
                              _first(headlines, "wide", 1))
    eq10 = _first(headlines, "approach3", 1)
    experiments = [h for h in headlines if h.chapter.startswith("experiment")]
    rule = _first(headlines, "transfer")
    return [
        f"**How compute should be split.** The paper's Approach 2 finds $N_{{opt}} \\propto C^a$ with "
        f"$a$ = {points.verdict.paper:.2f}. Refitted to the runs read off its own Figure 4, $a$ = "
        f"{_estimate(points)}; on our CPU-scale runs, $a$ = {_estimate(ours)}; whether a law fitted to their "
        f"smaller budgets predicts the larger ones, {badge(held_out)}.",
        f"**The paper's parametric loss.** {eq10.verdict.claim} Refitted by the paper's own method to the same "
        f"points: {eq10.verdict.found()} {badge(eq10)}",
        "**Krasser's Perceiver AR experiments, scaled down to a CPU.** Whether the model the law predicts beats the "
        "reference: " + ", ".join(f"{{doc}}`Experiment {h.chapter.removeprefix('experiment')} <{h.chapter}>` "
                                   f"{badge(h)}" for h in experiments)
        + f"; whether a prefix leaves the optimum where the law with $C_{{self}}$ puts it, {badge(rule)}.",
    ]


def glue_findings(headlines: list[Headline]) -> None:
    """Glue the introduction's findings as ``finding_1`` to ``finding_3``."""
    for i, text in enumerate(findings_markdown(headlines), 1):
        glue(f"finding_{i}", Markdown(text), display=False)
