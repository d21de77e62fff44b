"""The strict site build, checked in a real headless browser (Debian's chromium).

The build is incremental: after `make book` nothing is executed again. `make test` installs chromium where it
can (root with apt); elsewhere the browser checks skip with a message, except under CI where they must run.
"""
import functools
import http.server
import os
import re
import shutil
import subprocess
import threading

import pytest

from replication.book.chapters import chapters, toc_chapters
from replication.book.execution import build_command
from replication.repository import REPO_DIR

SITE = REPO_DIR / "_build" / "html"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--virtual-time-budget=20000"]

pytestmark = pytest.mark.slow


def tracked_changes() -> str:
    """``git status`` of the tracked files (what a build must never touch)."""
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_DIR,
                          capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def site():
    before = tracked_changes()
    result = subprocess.run(build_command(), capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "build succeeded" in result.stdout
    assert tracked_changes() == before, "the build changed tracked files"
    return SITE


def test_every_toc_page_exists(site):
    for page in toc_chapters():
        assert (site / f"{page}.html").is_file(), page


def test_no_page_loads_from_the_network(site):
    remote = re.compile(r'<(script|link)\b[^>]*\b(src|href)="(https?:)?//', re.I)
    for html in site.rglob("*.html"):
        for tag in remote.finditer(html.read_text()):
            line = html.read_text()[tag.start():tag.start() + 200]
            # a <link> that is not a stylesheet/preload (e.g. rel="canonical") loads nothing
            if tag.group(1).lower() == "link" and not re.search(r'rel="(stylesheet|preload|modulepreload)"', line):
                continue
            pytest.fail(f"{html.relative_to(site)} loads {line}")


def test_study_downloads_are_embedded_in_the_page(site):
    page = (site / "study.html").read_text()
    assert page.count('href="data:text/csv;base64,') == 2
    assert not (REPO_DIR / "book" / "study_runs.csv").exists()


def test_every_chapter_page_says_how_to_re_run_it(site):
    for chapter in chapters():
        page = (site / f"{chapter}.html").read_text()
        text = " ".join(re.sub(r"<[^>]+>", "", page).split())  # inline code is split into spans
        assert "rerun-note" in page and f"replication run {chapter} -p" in text, chapter
    assert "Built from commit" in (site / "intro.html").read_text()


def test_every_chapter_page_offers_its_executed_notebook(site):
    import zipfile

    import nbformat

    from replication.book.notebooks import ZIP_NAME, leftovers

    with zipfile.ZipFile(site / "_notebooks" / ZIP_NAME) as z:
        zipped = set(z.namelist())
    for chapter, path in chapters().items():
        page = (site / f"{chapter}.html").read_text()
        assert f'href="_notebooks/{chapter}.ipynb"' in page, chapter
        assert "btn-download-executed-notebook-button" in page, f"{chapter}: not in the download menu"
        nb = nbformat.read(site / "_notebooks" / f"{chapter}.ipynb", as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert any(c.get("outputs") for c in code), f"{chapter}: the notebook offered has no outputs"
        # it stands alone: numbers, citations and cross-references written in, every glued figure an output
        assert not leftovers(nb), f"{chapter}: MyST left in the notebook: {leftovers(nb)[:3]}"
        figures = [c for c in code if "figure" in c.metadata.get("tags", [])]
        assert len(figures) == path.read_text().count("{glue:figure}"), chapter
        assert all(any(k.startswith("image/") for o in c.outputs for k in o.get("data", {})) for c in figures)
        assert f"{chapter}.ipynb" in zipped


def test_site_ships_no_source_maps_and_no_thebe(site):
    assert not list(site.rglob("*.map"))
    for html in site.glob("*.html"):
        assert "THEBE_JS_URL" not in html.read_text(), html.name


def test_no_build_paths_on_pages(site):
    for html in site.rglob("*.html"):
        assert str(REPO_DIR) not in html.read_text(), html


@pytest.fixture(scope="module")
def chromium():
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing under CI: `make test` installs it (root with apt)")
        pytest.skip("chromium not installed: run `make browser` (root with apt) to enable the browser checks")
    return exe


@pytest.fixture(scope="module")
def server(site):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_pages_render_math_when_built(site):
    """KaTeX renders every formula when the site is built (replication.book.chrome): no raw TeX is left and no
    page loads a math script. What the pages fetch and log in a browser: tests/site_chrome.py."""
    checked = 0
    for page in toc_chapters():
        html = (site / f"{page}.html").read_text()
        text = re.sub(r"<script\b.*?</script>|<annotation\b.*?</annotation>", "", html, flags=re.S | re.I)
        assert "\\(" not in text and "\\[" not in text, f"{page}: raw TeX left on the page"
        assert not re.search(r"<script\b[^>]*mathjax", html, re.I), page
        checked += 'class="katex"' in html
    assert checked >= 2  # the intro and the glance chapter carry math


def claims_dom(chromium, url, profile, width: int, tries: int = 3) -> str:
    """A page's DOM after its scripts ran (the claims page's claims.js), in a window ``width`` pixels wide.
    The page loads its script once it is drawn, so on a loaded machine a dump can come before it ran (no
    ``data-claims-scroll-width`` yet, which it sets last): such a dump is taken again, ``tries`` times at most."""
    for _ in range(tries):
        result = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--window-size={width},900",
                                 f"--user-data-dir={profile}", "--dump-dom", url],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr[-2000:]
        if "data-claims-scroll-width" in result.stdout:
            break
    return result.stdout


def test_claims_page_opens_filtered_from_its_address(site, chromium, server, tmp_path):
    from replication import claims

    df = claims.table(claims.registry())
    differs = int((df["outcome"] == claims.DIFFERS).sum())
    assert differs > 0
    for width in (1400, 420):
        dom = claims_dom(chromium, f"{server}/claims.html#outcome=differs", tmp_path / "profile", width)
        rows = re.findall(r'<tbody class="claim"[^>]*>', dom)
        ids = [re.search(r'\bid="([^"]+)"', r).group(1) for r in rows]
        assert len(ids) == len(set(ids)) == len(df)  # every claim once, each with its anchor
        visible = [r for r in rows if not re.search(r'\bhidden(="[^"]*")?[ >]', r)]
        assert len(visible) == differs, width
        assert all('data-outcome="differs"' in r for r in visible)
        scroll = int(re.search(r'data-claims-scroll-width="(\d+)"', dom).group(1))
        client = int(re.search(r'data-claims-client-width="(\d+)"', dom).group(1))
        assert scroll <= client, f"{width} px: the page scrolls sideways ({scroll} > {client})"
    # a claim that holds, linked by its anchor, is unfolded
    held = df.loc[df["outcome"] == claims.HOLDS, "id"].iloc[0]
    dom = claims_dom(chromium, f"{server}/claims.html#claim-{held}", tmp_path / "profile", 1400)
    at = dom.index(f'id="claim-{held}"')
    fold = dom[:at][dom[:at].rindex("<details"):]
    assert re.match(r'<details class="claims-holding"[^>]*\bopen\b', fold), fold[:200]


def test_a_claim_linked_by_its_anchor_lands_below_the_filter_bar(site, chromium, server, tmp_path):
    import json

    from replication import claims

    df = claims.table(claims.registry())
    shown_first = df.loc[df["outcome"] != claims.HOLDS, "id"].iloc[-1]  # far down the page, not folded
    probe = """<script>window.addEventListener("load", () => setTimeout(() => {
      const row = document.getElementById(decodeURIComponent(location.hash.slice(1)));
      const bar = document.querySelector("form.claims-filter");
      document.documentElement.setAttribute("data-deep", JSON.stringify({row: row.getBoundingClientRect().top,
        bar: bar.getBoundingClientRect().bottom, scrolled: window.scrollY}));
    }, 500));</script>"""
    copy = site / "_probe_deep_claims.html"
    copy.write_text((site / "claims.html").read_text().replace("</body>", probe + "</body>"))
    try:
        dom = claims_dom(chromium, f"{server}/{copy.name}#claim-{shown_first}", tmp_path / "profile", 1400)
    finally:
        copy.unlink()
    import html as html_lib

    found = json.loads(html_lib.unescape(re.search(r'data-deep="([^"]*)"', dom).group(1)))
    assert found["scrolled"] > 0 and found["row"] >= found["bar"], found


# -- what a reader sees: verdicts, captions, tables that fit, readable numbers -------------------------------

#: pages that are not chapters with a result of their own: the landing page and the bibliography
WITHOUT_VERDICT = {"intro", "references"}

#: run in the claims page once its script has set the filter bar up (claims.js shows the bar, which the page
#: ships hidden; the script loads after the page is drawn): what choosing an outcome leaves visible
PROBE = """<script>
window.addEventListener("load", () => {
  let tries = 0;
  const look = () => {
    const form = document.querySelector("form.claims-filter");
    if (form.hidden && ++tries < 200) return setTimeout(look, 50);
    const select = form.elements.outcome;
    select.value = "differs";
    form.dispatchEvent(new Event("change", {bubbles: true}));
    const probe = {ready: !form.hidden, visible: document.querySelectorAll("tbody.claim:not([hidden])").length,
                   shownDiffers: document.querySelectorAll('tbody.claim[data-outcome="differs"]:not([hidden])').length};
    document.documentElement.setAttribute("data-probe", JSON.stringify(probe));
  };
  look();
});
</script>"""


def probed(site, chromium, server, page, profile, width=1400) -> dict:
    """:data:`PROBE`'s findings on ``page`` in a window ``width`` pixels wide (a copy of the page beside it)."""
    import html as html_lib
    import json

    copy = site / f"_probe_{page}.html"
    copy.write_text((site / f"{page}.html").read_text().replace("</body>", PROBE + "</body>"))
    try:
        dom = claims_dom(chromium, f"{server}/{copy.name}", profile, width)
    finally:
        copy.unlink()
    found = re.search(r'data-probe="([^"]*)"', dom)
    assert found, f"{page}: the probe did not run"
    return json.loads(html_lib.unescape(found.group(1)))


def test_claims_filter_shows_only_the_chosen_outcome(site, chromium, server, tmp_path):
    from replication import claims

    df = claims.table(claims.registry())
    differs = int((df["outcome"] == claims.DIFFERS).sum())
    probe = probed(site, chromium, server, "claims", tmp_path / "profile")
    assert probe["ready"], "claims.js did not set the filter bar up"
    assert probe["visible"] == probe["shownDiffers"] == differs > 0


def _article(page_html: str) -> str:
    m = re.search(r'<article class="bd-article"[^>]*>(.*)</article>', page_html, re.S)
    return m.group(1) if m else page_html


def test_every_chapter_opens_with_a_verdict_box(site):
    missing = []
    for page in toc_chapters():
        if page in WITHOUT_VERDICT:
            continue
        body = _article((site / f"{page}.html").read_text())
        box = re.search(r'<div class="(?=[^"]*\bverdict\b)(?=[^"]*\badmonition\b)[^"]*">\s*'
                        r'<p class="admonition-title">Verdict</p>', body)
        if not box:
            missing.append(page)
            continue
        # "at the top": before the chapter's second section heading
        sections = [m.start() for m in re.finditer(r"<h2\b", body)]
        assert len(sections) < 2 or box.start() < sections[1], f"{page}: the verdict box comes late"
    assert not missing, f"no Verdict box: {missing}"


def test_every_figure_has_a_number_a_caption_and_alt_text(site):
    loose = {}
    for page in toc_chapters():
        body = _article((site / f"{page}.html").read_text())
        for fig in re.findall(r"<figure\b.*?</figure>", body, re.S):
            assert "<figcaption" in fig and 'class="caption-number"' in fig, f"{page}: figure without a numbered caption"
            for alt in re.findall(r'<img\b[^>]*\balt="([^"]*)"', fig):
                assert len(alt.split()) >= 5 and not re.search(r"[0-9a-f]{16}|\.(png|svg)", alt), (page, alt)
        # an image shown outside a figure is a figure without a caption
        outside = re.sub(r"<figure\b.*?</figure>", "", body, flags=re.S)
        images = re.findall(r'<img\b[^>]*src="[^"]*\.(?:png|svg|jpg)"', outside)
        if images:
            loose[page] = len(images)
    assert not loose, f"images outside a numbered figure: {loose}"


def test_rendered_tables_have_no_e_notation_and_no_cut_cells(site):
    bad = {}
    for page in toc_chapters():
        body = _article((site / f"{page}.html").read_text())
        for table in re.findall(r"<table\b.*?</table>", body, re.S):
            cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[dh]\b[^>]*>(.*?)</t[dh]>", table, re.S)]
            hits = [c for c in cells if re.search(r"\d(?:\.\d+)?e[+-]\d", c) or c.endswith("...") or c.endswith("…")]
            if hits:
                bad.setdefault(page, []).extend(hits[:3])
    assert not bad, f"raw e-notation or cut cells in tables: {bad}"


def test_key_equations_are_numbered_and_referenced(site):
    numbered = {"glance": 1, "flops": 2, "approach3": 2, "planning": 1}
    for page, count in numbered.items():
        html = (site / f"{page}.html").read_text()
        assert html.count('class="eqno"') >= count, page
    # a reference from another chapter resolves to its number (a link into approach3.html)
    assert re.search(r'href="approach3.html#equation-eq-parametric-loss"', (site / "planning.html").read_text())


def test_figure_text_is_readable_at_1400_px(site):
    """Every text of every figure at least 11 px as the page shows it at 1400 px: the SVG's own size, shrunk
    to the column where wider (a superscript, smaller by design, is measured by its base)."""
    from _lib.figures import COLUMN_PX

    small = {}
    for page in toc_chapters():
        for src in re.findall(r'<img\b[^>]*src="(_images/[^"]+\.svg)"', (site / f"{page}.html").read_text()):
            svg = (site / src).read_text()
            natural_px = float(re.search(r'<svg [^>]*width="([\d.]+)pt"', svg).group(1)) * 4 / 3
            view_width = float(re.search(r'viewBox="0 0 ([\d.]+) ', svg).group(1))
            scale = min(natural_px, COLUMN_PX) / view_width
            for text in re.findall(r"<text\b.*?</text>", svg, re.S):
                sizes = [float(x) for x in re.findall(r"font-size: ([\d.]+)px", text)]
                if sizes and max(sizes) * scale < 11:
                    small.setdefault(page, []).append(round(max(sizes) * scale, 1))
    assert not small, f"figure text under 11 px at 1400 px: {small}"


# The site's chrome in one browser (toggles, console, weight, equations, axe-core light and dark): in this file's
# pytest worker, after its build, with its fixtures.
from site_chrome import *  # noqa: E402,F401,F403
