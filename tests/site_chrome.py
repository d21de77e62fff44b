"""The built site's chrome in a real browser (issue 28): every page loaded once in one headless chromium
(tests/browser.py) and looked at light and dark at 1400 px, then at 420 px:

- the navigation and page-contents toggles open their sidebars at 420 px
- no console error in a fresh profile, no failed request (a missing favicon is one)
- at most 1.5 MB and 20 requests per page, the cache off
- no display equation wider than its column at 1400 px
- axe-core (vendored by `make vendor`, injected into the page): no serious or critical violation, light or dark
- the header's menu and tooltips work without bootstrap's script (_static/widgets.js), and a chapter fetches the
  page's script once it has been drawn

tests/test_site.py imports these tests, so that they run in its pytest worker, after its build of the site, with
its fixtures (``site``, ``chromium``, ``server``); this file is not collected on its own. The pieces of
replication.book.chrome are tested without a build in tests/test_chrome.py.
"""
import json
import os
import re

import pytest

from browser import Browser
from replication.book.chapters import toc_chapters
from replication.repository import REPO_DIR

AXE = REPO_DIR / ".vendor" / "axe-core" / "axe.min.js"
MAX_BYTES, MAX_REQUESTS = 1_500_000, 20

#: every display equation whose rendering is wider than its block, or whose block is wider than the article
EQUATIONS = """(() => {
  const article = document.querySelector("article.bd-article");
  const right = article.getBoundingClientRect().right + 1;
  const wide = [];
  for (const block of article.querySelectorAll("div.math")) {
    const shown = block.querySelector(".katex-display, mjx-container") || block;
    if (shown.scrollWidth > shown.clientWidth + 1 || block.getBoundingClientRect().right > right)
      wide.push(`${block.id || block.textContent.trim().slice(0, 40)}: ${shown.scrollWidth} px in ${shown.clientWidth} px`);
  }
  return wide;
})()"""

#: click a sidebar's toggle (the first element of its class, as both themes bind it): is its sidebar then shown,
#: with links, inside the window?
TOGGLE = """((button, dialog) => {
  const toggle = document.querySelector(button);
  if (!toggle) return "no toggle";
  if (!toggle.offsetParent) return "the toggle the themes bind is hidden";
  toggle.click();
  const shown = document.querySelector(dialog);
  const box = shown && shown.getBoundingClientRect();
  const links = shown ? shown.querySelectorAll("a[href]").length : 0;
  const ok = shown && shown.open && box.width > 100 && box.left >= 0 && box.left < innerWidth && links > 0;
  if (shown && shown.open) shown.close();
  return ok ? "opens" : `does not open its sidebar (${shown ? box.width + " px, " + links + " links" : "none"})`;
})"""

#: no transition or animation: colours measured are the ones the page settles on
STILL = """document.head.insertAdjacentHTML("beforeend",
  "<style>*, *::before, *::after { transition: none !important; animation: none !important; }</style>")"""

#: the theme once it has followed the system's colour scheme (on a change event, in auto mode)
DARK = """new Promise((done) => {
  let tries = 0;
  const look = () => document.documentElement.dataset.theme === "dark" || ++tries > 20
    ? done(document.documentElement.dataset.theme) : setTimeout(look, 50);
  look();
})"""

#: axe-core's serious and critical violations, and content outside any landmark ("region"); with the
#: experimental rule that a control's name contains the words it shows (label-content-name-mismatch). Formulas
#: are left out: KaTeX's thousands of nested spans take most of axe's time, and have the text's colours.
AXE_RUN = """axe.run({exclude: [".katex"]}, {resultTypes: ["violations"], preload: false, %s})
  .then((r) => r.violations
  .filter((v) => v.impact === "serious" || v.impact === "critical" || v.id === "region")
  .map((v) => `${v.id} (${v.impact}, ${v.nodes.length}x): ${v.nodes[0].target.join(" ")}`))"""
AXE_LIGHT = AXE_RUN % 'rules: {"label-content-name-mismatch": {enabled: true}}'
AXE_DARK = AXE_RUN % 'runOnly: {type: "rule", values: ["color-contrast"]}'  # all that dark mode changes


#: every table wider than the article's column at the window's width, the column's width, and the search boxes in
#: view: {"column", "wide", "searches"}
TABLES = """(() => {
  const article = document.querySelector("article.bd-article") || document.querySelector("main");
  const column = article.getBoundingClientRect().width;
  const wide = [];
  for (const t of article.querySelectorAll("table")) {
    if (t.closest("[hidden]")) continue;
    const box = t.parentElement, width = t.getBoundingClientRect().width;
    if (width > column + 1 || box.scrollWidth > box.clientWidth + 1) {
      const head = (t.querySelector("th, td") || {textContent: ""}).textContent.trim().slice(0, 40);
      wide.push(`table ${Math.round(width)} px, its box ${box.clientWidth} px (scrolls ${box.scrollWidth} px), `
                + `column ${Math.round(column)} px (${head})`);
    }
  }
  const searches = Array.from(document.querySelectorAll(".search-button-field, input[type=search]"))
    .filter((e) => e.offsetParent !== null).length;
  return {column: Math.round(column), wide: wide, searches: searches};
})()"""


def survey(browser: Browser, url: str, axe_source: str | None) -> dict:
    """One page, loaded once: what it downloads and logs at 1400 px (light), its equations, axe light and dark,
    and its toggles at 420 px."""
    browser.viewport(1400, 1000, dark=False)
    found = browser.load(url)
    origin = "/".join(url.split("/")[:3]) + "/"
    found["remote"] = [u for u in found["urls"] if not u.startswith(origin)]
    found["equations"] = browser.run(EQUATIONS)
    found["tables"] = browser.run(TABLES)
    if axe_source:
        browser.run(axe_source)
        found["axe light"] = browser.run(AXE_LIGHT)
        browser.run(STILL)
        browser.viewport(1400, 1000, dark=True)
        assert browser.run(DARK) == "dark", "the theme does not follow the system's dark mode"
        found["axe dark"] = browser.run(AXE_DARK)
    browser.viewport(420, 900, dark=False)
    found["navigation"] = browser.run(f"{TOGGLE}('.primary-toggle', '#pst-primary-sidebar-modal')")
    if browser.run("!!document.querySelector('#pst-page-toc-nav')"):
        found["contents"] = browser.run(f"{TOGGLE}('.secondary-toggle', '#pst-secondary-sidebar-modal')")
    found["console"] = browser.summary()["console"]  # errors on a click or a change of theme too
    return found


@pytest.fixture(scope="module")
def surveys(site, chromium, server, tmp_path_factory):
    if not AXE.exists():
        if os.environ.get("CI"):
            pytest.fail("axe-core is missing under CI: `make vendor` fetches it")
        pytest.skip("axe-core not vendored: run `make vendor`")
    axe_source = AXE.read_text()
    with Browser(chromium, tmp_path_factory.mktemp("profile")) as browser:
        return {page: survey(browser, f"{server}/{page}.html", axe_source) for page in toc_chapters()}


def _failing(surveys, key, ok) -> dict:
    return {page: found.get(key) for page, found in surveys.items() if key in found and not ok(found[key])}


@pytest.mark.slow
def test_toggles_open_the_sidebars_at_420_px(surveys):
    assert not _failing(surveys, "navigation", lambda v: v == "opens")
    assert not _failing(surveys, "contents", lambda v: v == "opens")


@pytest.mark.slow
def test_no_console_error_no_failed_request_nothing_from_the_network(surveys):
    assert not _failing(surveys, "console", lambda v: not v)
    assert not _failing(surveys, "failed", lambda v: not v)
    assert not _failing(surveys, "remote", lambda v: not v)


@pytest.mark.slow
def test_pages_are_light(surveys):
    heavy = {page: f"{f['bytes'] / 1e6:.2f} MB in {f['requests']} requests" for page, f in surveys.items()
             if f["bytes"] > MAX_BYTES or f["requests"] > MAX_REQUESTS}
    assert not heavy, json.dumps({p: surveys[p]["urls"] for p in heavy}, indent=1) + f"\n{heavy}"
    # the themes' icons are inline SVG: neither fontawesome.js nor its web font is fetched
    assert not {p: [u for u in f["urls"] if "fontawesome" in u] for p, f in surveys.items()
                if any("fontawesome" in u for u in f["urls"])}


@pytest.mark.slow
def test_no_table_is_wider_than_its_column_and_one_search_box(surveys):
    for page, found in surveys.items():
        assert found["tables"]["column"] > 600, (page, found["tables"])  # the article column at 1400 px
        assert found["tables"]["searches"] == 1, f"{page}: {found['tables']['searches']} search boxes in view"
    assert not _failing(surveys, "tables", lambda v: not v["wide"]), "tables wider than the column at 1400 px"


@pytest.mark.slow
def test_no_display_equation_is_wider_than_its_column(surveys):
    assert not _failing(surveys, "equations", lambda v: not v)


@pytest.mark.slow
def test_axe_finds_no_serious_violation_light_or_dark(surveys):
    assert not _failing(surveys, "axe light", lambda v: not v)
    assert not _failing(surveys, "axe dark", lambda v: not v)


#: the header's menu and tooltips, which _static/widgets.js draws in place of bootstrap's script: what a reader
#: gets from a click, the arrow keys, Escape, a hover and a keyboard's focus
WIDGETS = """(() => {
  const found = {};
  const toggle = document.querySelector('[data-bs-toggle="dropdown"]');
  const menu = toggle.parentElement.querySelector(".dropdown-menu");
  toggle.click();
  const box = menu.getBoundingClientRect();
  found.opens = menu.classList.contains("show") && toggle.getAttribute("aria-expanded") === "true"
    && box.width > 50 && box.left >= 0 && box.right <= document.documentElement.clientWidth;
  document.body.click();
  found.closesOutside = !menu.classList.contains("show") && toggle.getAttribute("aria-expanded") === "false";
  toggle.focus();
  toggle.dispatchEvent(new KeyboardEvent("keydown", {key: "ArrowDown", bubbles: true}));
  found.arrowFocusesFirst = menu.classList.contains("show") && document.activeElement === menu.querySelector(".dropdown-item");
  document.activeElement.dispatchEvent(new KeyboardEvent("keydown", {key: "Escape", bubbles: true}));
  found.escapeReturns = !menu.classList.contains("show") && document.activeElement === toggle;
  const button = document.querySelector('.theme-switch-button[data-bs-toggle="tooltip"]');
  button.dispatchEvent(new MouseEvent("mouseenter"));
  const tip = document.querySelector(".tooltip.show .tooltip-inner");
  found.tooltip = tip ? tip.textContent : null;
  found.describedBy = tip ? button.getAttribute("aria-describedby") === tip.parentElement.id : false;
  const at = tip && tip.parentElement.getBoundingClientRect();
  found.tooltipInWindow = !!at && at.top >= button.getBoundingClientRect().bottom && at.right <= innerWidth;
  button.dispatchEvent(new MouseEvent("mouseleave"));
  found.tooltipGoes = !document.querySelector(".tooltip");
  found.named = !!button.getAttribute("aria-label") && !button.hasAttribute("title");
  return found;
})()"""


@pytest.mark.slow
def test_the_menu_and_the_tooltips_work_without_bootstrap(site, chromium, server, tmp_path):
    bundle = (site / "_static" / "site.js").read_text()
    assert "bootstrap.js.LICENSE" not in bundle and "function I(){return;" in bundle
    # a chapter fetches the bundle once it has been drawn (the search page, whose own script needs it, at once)
    page, search = (site / "study.html").read_text(), (site / "search.html").read_text()
    assert not re.search(r'<script[^>]*src="_static/site\.js', page) and 'script.src = "_static/site.js?v=' in page
    assert re.search(r'<script[^>]*src="_static/site\.js\?v=', search)
    with Browser(chromium, tmp_path / "profile") as browser:
        browser.viewport(1400, 1000, dark=False)
        loaded = browser.load(f"{server}/study.html")
        assert not [u for u in loaded["urls"] if "bootstrap" in u]
        found = browser.run(WIDGETS)
        assert browser.summary()["console"] == []
    assert found == {"opens": True, "closesOutside": True, "arrowFocusesFirst": True, "escapeReturns": True,
                     "tooltip": "Color mode", "describedBy": True, "tooltipInWindow": True, "tooltipGoes": True,
                     "named": True}
