"""The claims page's HTML (book/_lib/claims.py): every claim once, with its anchor and badges, the claims that
hold folded away, the filter bar's counts, and badge colours (book/_static/claims.css) readable in both themes."""
import re
from html.parser import HTMLParser

import pytest

from _lib.claims import CONFIRMED, LISTED_FIRST, filters, show, slug
from replication import claims
from replication.claims import DIFFERS, DISAGREES, HOLDS, INCONCLUSIVE, KINDS, NO_CHECK, OUTCOMES, SOURCES
from replication.claims.chinchilla import FIGURE4
from replication.repository import REPO_DIR

CSS = REPO_DIR / "book" / "_static" / "claims.css"


@pytest.fixture(scope="module")
def df():
    """The claims table without the Figure 4 claims (their refit takes a minute)."""
    return claims.table([c for c in claims.registry() if FIGURE4 not in c.note])


@pytest.fixture(scope="module")
def page(df):
    """The page's claims HTML, in the order claims.md shows it."""
    parts = [filters(df), show(df, outcome=(DIFFERS, DISAGREES), cpu=False),
             show(df, outcome=(DIFFERS, DISAGREES), cpu=True), show(df, outcome=INCONCLUSIVE)]
    parts += [show(df, source) for source in SOURCES]
    return "".join(p.data for p in parts)


class Claims(HTMLParser):
    """Collects each ``tbody.claim``: its attributes, its badges, whether it sits in the fold of claims that hold;
    and the filter bar's options."""

    def __init__(self):
        super().__init__()
        self.rows, self.options, self.links = [], {}, []
        self.row = self.badge = self.select = self.option = None
        self.fold = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "details" and "claims-holding" in classes:
            self.fold += 1
        elif tag == "tbody" and "claim" in classes:
            self.row = {**a, "folded": self.fold > 0, "badges": []}
            self.rows.append(self.row)
        elif tag == "span" and "claim-badge" in classes:
            self.badge = [c for c in classes if c != "claim-badge"] + [""]
            self.row["badges"].append(self.badge)
        elif tag == "select":
            self.select = self.options.setdefault(a["name"], [])
        elif tag == "option":
            self.option = [a["value"], ""]
            self.select.append(self.option)
        elif tag == "a" and a.get("href", "").startswith("#"):
            self.links.append(a["href"][1:])

    def handle_endtag(self, tag):
        if tag == "details":
            self.fold = max(0, self.fold - 1)
        elif tag == "tbody":
            self.row = None
        elif tag == "span":
            self.badge = None
        elif tag == "option":
            self.option = None

    def handle_data(self, data):
        if self.badge is not None:
            self.badge[-1] += data
        if self.option is not None:
            self.option[1] += data


@pytest.fixture(scope="module")
def parsed(page):
    p = Claims()
    p.feed(page)
    return p


def test_every_claim_once_with_its_anchor(df, parsed):
    ids = [r["id"] for r in parsed.rows]
    assert len(ids) == len(set(ids)) == len(df)
    assert set(ids) == {f"claim-{i}" for i in df["id"]}
    # the links of a source's section to its claims listed first all land on a row of the page
    assert set(parsed.links) <= set(ids)
    listed = df[df["outcome"].isin(LISTED_FIRST)]
    assert {f"claim-{i}" for i in listed["id"]} <= set(parsed.links)


def test_each_row_carries_its_outcome_and_kind_as_badges_and_filter_attributes(df, parsed):
    by_id = df.set_index("id")
    for row in parsed.rows:
        claim = by_id.loc[row["id"].removeprefix("claim-")]
        outcome = [b for b in row["badges"] if b[0].startswith("outcome-")]
        kind = [b for b in row["badges"] if b[0].startswith("kind-")]
        # coloured by the outcome, labelled as printed (an inconclusive one with its seeds and power)
        assert outcome == [[f"outcome-{slug(claim['outcome'])}", claim["label"]]], row["id"]
        assert kind == [[f"kind-{slug(claim['kind'])}", claim["kind"]]], row["id"]
        assert (row["data-outcome"], row["data-kind"], row["data-source"]) == (
            slug(claim["outcome"]), slug(claim["kind"]), claim["source"])
        assert row["folded"] == (claim["outcome"] in CONFIRMED), row["id"]  # only those that hold or agree fold


def test_the_rows_that_do_not_hold_come_first_within_a_table(df):
    html = show(df, "T2").data
    order = [m.group(1) for m in re.finditer(r'data-outcome="([^"]+)"', html)]
    open_first = [slug(o) for o in OUTCOMES if o not in CONFIRMED] + [slug(o) for o in CONFIRMED]
    ranks = [min(open_first.index(o), len(open_first) - len(CONFIRMED)) for o in order]  # those that hold last
    assert ranks == sorted(ranks) and "holds" in order and "no-check" in order


def test_slugs():
    assert slug(NO_CHECK) == "no-check" and slug("inconclusive (3 seeds, power 0.25)") == "inconclusive-3-seeds-power-0-25"
    assert [slug(k) for k in KINDS] == ["replicated-from-data", "arithmetically-consistent", "restated", "not-checked"]


def test_filter_bar_offers_each_outcome_kind_and_source_with_its_count(df, parsed):
    assert set(parsed.options) == {"outcome", "kind", "source"}
    for name, values, key in (("outcome", OUTCOMES, slug), ("kind", KINDS, slug), ("source", SOURCES, str)):
        options = parsed.options[name]
        assert options[0] == ["", "any"]
        expected = {key(v): int((df[name] == v).sum()) for v in values if (df[name] == v).any()}
        got = {value: int(re.search(r"\((\d+)\)$", text).group(1)) for value, text in options[1:]}
        assert got == expected, name
    assert sum(int(re.search(r"\((\d+)\)$", t).group(1)) for _, t in parsed.options["outcome"][1:]) == len(df)


def luminance(hex_colour: str) -> float:
    """WCAG 2 relative luminance of an sRGB colour '#rrggbb'."""
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_contrast_formula_against_known_values():
    assert contrast("#ffffff", "#000000") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # the classic grey just below AA
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)  # and the one just above


def test_badge_colours_pass_wcag_aa_in_light_and_dark_mode(df):
    rule = re.compile(r'^(html\[data-theme="dark"\] )?\.claim-badge\.([a-z-]+) \{ color: (#[0-9a-f]{6}); '
                      r'background-color: (#[0-9a-f]{6}); \}$', re.M)
    pairs = {(bool(m.group(1)), m.group(2)): (m.group(3), m.group(4)) for m in rule.finditer(CSS.read_text())}
    needed = ([f"outcome-{slug(o)}" for o in OUTCOMES] + [f"kind-{slug(k)}" for k in KINDS]
              + [f"correction-{slug(s)}" for s in set(df["under correction"]) - {""}])
    assert len(needed) == 12
    for badge in needed:
        for dark in (False, True):
            fg, bg = pairs[(dark, badge)]
            assert contrast(fg, bg) >= 4.5, (badge, "dark" if dark else "light", fg, bg, contrast(fg, bg))


def test_page_registers_its_script_and_styles():
    import yaml

    config = yaml.safe_load((REPO_DIR / "_config.yml").read_text())["sphinx"]["config"]
    assert "claims.css" in config["html_css_files"] and "claims.js" in config["html_js_files"]
    js = (REPO_DIR / "book" / "_static" / "claims.js").read_text()
    assert "location.hash" in js and "hashchange" in js
    assert not re.search(r"fetch\(|XMLHttpRequest|https?:", js)  # offline: nothing is loaded


def test_numbers_in_e_notation_are_written_with_powers_of_ten(page):
    from _lib.claims import powers_of_ten

    assert powers_of_ten("5.78e+17") == "5.78×10¹⁷"  # the digits are kept, trailing zeros too
    assert powers_of_ten("2.50E+08 FLOPs, δ = 1e-3.") == "2.50×10⁸ FLOPs, δ = 10⁻³."
    assert powers_of_ten("1.25e+25 to 1.27e+25") == "1.25×10²⁵ to 1.27×10²⁵"
    assert powers_of_ten("T3.A1.67B.C, eq10, 6ND") == "T3.A1.67B.C, eq10, 6ND"
    # every cell's text but the claim ids (anchors such as assignment.1e26)
    cells = [re.sub(r'<a href="#claim-[^"]*">.*?</a>|<[^>]+>', "", c)
             for c in re.findall(r"<td[^>]*>(.*?)</td>", page, re.S)]
    assert cells and not [c for c in cells if re.search(r"\d[eE][+-]?\d", c)]


def test_verdict_counts_and_summary_tables(df):
    from _lib.claims import glue_counts, outcome_counts, source_table, summary_table

    counts = glue_counts(df)
    assert sum(counts[n] for n in ("n_holds", "n_differs", "n_agrees", "n_disagrees", "n_inconclusive",
                                   "n_no_check")) == len(df)
    assert counts["n_paper"] + counts["n_krasser"] + counts["n_writeups"] == len(df)
    assert counts["n_differs"] == (df["outcome"] == DIFFERS).sum()
    paper = df[df["source"].isin(["T2", "T3", "A3", "A4", "eq10"])]
    assert counts["paper_outcomes"] == outcome_counts(paper)
    assert outcome_counts(paper).startswith(f"{(paper['outcome'] == HOLDS).sum()} hold")
    for styler, rows in ((summary_table(claims.summary(df)), len(KINDS) + 1),
                         (source_table(claims.summary_by_source(df)), df["source"].nunique())):
        html = styler.to_html()
        assert 'class="rp-table"' in html and html.split("<tbody>")[1].count("<tr>") == rows
    totals = source_table(claims.summary_by_source(df)).data
    assert list(totals["total"]) == list(df.groupby("source").size().reindex(
        [s for s in SOURCES if s in set(df["source"])]).astype(str))


def test_every_claims_table_has_a_numbered_caption_in_page_order(page):
    """The page's prose introduces each list of claims; each is a table numbered with the page's others."""
    tables = re.findall(r'<table class="claims[^"]*">(.*?)<colgroup>', page)
    captions = [re.fullmatch(r'<caption><span class="caption-number">Table (\d+): </span>([^<]+)</caption>', t)
                for t in tables]
    assert tables and all(captions), [t for t, c in zip(tables, captions) if not c][:3]
    numbers = [int(c.group(1)) for c in captions]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
    texts = [c.group(2) for c in captions]
    assert "Chinchilla Table 3: Approach 1 allocations: the claims that hold or agree" in texts


def test_a_claim_is_written_without_per_cell_markup_and_its_section_not_repeated(df):
    """claims.css styles a claim's cells, and names their columns on a phone, by their place in the row: the
    page's 335 claims carry no class or label per cell (a sixth of the page's weight). Within its source's
    section a claim does not repeat the section's heading as its provenance; in the lists across sources it does."""
    own = show(df, "update").data
    assert "data-label" not in own and 'class="claim-' not in own.replace('class="claim-badge', "").replace(
        'class="claim-rule', "")
    assert "provenance: Krasser&#x27;s update note" not in own
    across = show(df, outcome=(DIFFERS, DISAGREES), cpu=False).data
    assert "; provenance: " in across
    assert re.search(r'<table class="claims corrected">', show(df, "article").data)
    css = CSS.read_text()
    for label in ("printed: ", "ours: ", "under the correction: "):
        assert f'content: "{label}"' in css
