"""The site's chrome (replication.book.chrome), piece by piece, without a build; the built site in a browser is
checked by tests/site_chrome.py (run by tests/test_site.py)."""
import shutil
import subprocess
from pathlib import Path

import pytest

from replication.book import bundle, chrome
from replication.repository import BOOK_DIR


def _git_repo(path, remote=None):
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    if remote:
        subprocess.run(["git", "-C", str(path), "remote", "add", "origin", remote], check=True)
    return path


@pytest.mark.parametrize("remote, url", [
    ("git@github.com:owner/name.git", "https://github.com/owner/name"),
    ("https://gitlab.com/owner/name.git", "https://gitlab.com/owner/name"),
    ("ssh://git@github.com/owner/name.git", "https://github.com/owner/name"),
    ("/srv/git/name.git", ""),  # a path on a disk has no web page
    (None, ""),
])
def test_repository_url_from_the_git_remote(tmp_path, remote, url):
    assert chrome.repository_url(_git_repo(tmp_path, remote)) == url


def test_a_configured_repository_wins_and_links_each_page(tmp_path):
    repo = _git_repo(tmp_path, "git@github.com:owner/name.git")
    options = chrome.provenance_options(repo, {"repository_url": "https://github.com/other/book"}, repo / "book")
    assert options["repository_url"] == "https://github.com/other/book"
    assert options["use_repository_button"] and options["use_edit_page_button"]
    assert options["path_to_docs"] == "book"
    # a host whose edit links the theme does not know: no buttons (the footer still links the commit)
    assert chrome.provenance_options(repo, {"repository_url": "https://git.example.org/o/n"}, repo / "book") == \
        {"repository_url": "https://git.example.org/o/n"}
    assert chrome.provenance_options(_git_repo(tmp_path / "bare"), {}, tmp_path / "bare" / "book") == {}


def test_the_footer_links_its_commit_to_the_repository(tmp_path):
    from replication.book import site

    repo = _git_repo(tmp_path, "git@github.com:owner/name.git")
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q",
                    "--allow-empty", "-m", "x"], check=True)
    commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=True).stdout.strip()
    assert f'<a href="https://github.com/owner/name/tree/{commit}">{commit}</a>' in site.build_footer(repo)
    subprocess.run(["git", "-C", str(repo), "remote", "remove", "origin"], check=True)
    assert f"<code>{commit}</code>" in site.build_footer(repo)


def test_the_stylesheet_bundle_inlines_imports_and_moves_urls(tmp_path):
    (tmp_path / "_static" / "styles").mkdir(parents=True)
    (tmp_path / "_static" / "styles" / "theme.css").write_text('@charset "utf-8";\n@import "../basic.css";\n')
    (tmp_path / "_static" / "basic.css").write_text("div { background: url(file.png) }")
    (tmp_path / "_static" / "styles" / "theme2.css").write_text(
        "@font-face { src: url(../vendor/f.woff2) } a { b: url('data:image/svg+xml,x') }\n/*# sourceMappingURL=x.map */")
    (tmp_path / "katex").mkdir()
    (tmp_path / "katex" / "k.css").write_text("@font-face { src: url(fonts/KaTeX_Main.woff2) }")
    seen = set()
    text = "".join(bundle.stylesheet(tmp_path, name, seen) for name in
                   ["_static/styles/theme.css", "_static/basic.css", "_static/styles/theme2.css", "katex/k.css"])
    assert text.count("url(file.png)") == 1  # inlined once, though listed twice
    assert "url(vendor/f.woff2)" in text and "url('data:image/svg+xml,x')" in text
    assert "url(../katex/fonts/KaTeX_Main.woff2)" in text
    assert "@import" not in text and "@charset" not in text and "sourceMappingURL" not in text


def test_the_stylesheet_keeps_only_rules_that_can_apply():
    css = ('@font-face{font-family:X;src:url(x.woff2)}.used{a:b}.unused{c:d}.used .unused,.used > p{e:f}'
           '@media (min-width:9px){.unused{g:h}.used:not(.unused){i:j}}@keyframes k{0%{opacity:0}}'
           'p[data-x="a{b"]{k:l}.dropdown-menu.show{m:n}/* a } in a comment */html[data-theme=dark]{o:p}'
           '.bs-tooltip-auto .tooltip-arrow{q:r}')
    out = bundle.purge(css, {"used"})
    assert out == ('@font-face{font-family:X;src:url(x.woff2)}.used{a:b}.used > p{e:f}'
                   '@media (min-width:9px){.used:not(.unused){i:j}}@keyframes k{0%{opacity:0}}'
                   'p[data-x="a{b"]{k:l}.dropdown-menu.show{m:n}html[data-theme=dark]{o:p}')
    # bootstrap's tooltip rules stay where a script of the site names their classes (widgets.js does)
    assert bundle.purge(css, {"used", "bs-tooltip-auto", "tooltip-arrow"}).endswith(".bs-tooltip-auto .tooltip-arrow{q:r}")


def test_custom_properties_nothing_reads_go():
    css = (':root{--a:1px;--b:var(--c);--c:red;--d:url("data:image/svg+xml;utf8,<svg/>");color:var(--b)}'
           'html[data-theme=dark]{--e:2px;--f:var(--g)}@media (min-width:9px){.x{--h:1;margin:var(--a)}}'
           '@font-face{font-family:X;src:url(x.woff2)}')
    out = bundle.unread_properties_pruned(css, bundle.read_properties('el.style.getPropertyValue("--d")'))
    # --b and --c are read through color, --a by the margin, --d by a script; --e, --f, --h by nothing, and --g
    # (read only by --f) then goes too; a rule left empty goes
    assert out == (':root{--a:1px;--b:var(--c);--c:red;--d:url("data:image/svg+xml;utf8,<svg/>");color:var(--b)}'
                   '@media (min-width:9px){.x{margin:var(--a)}}@font-face{font-family:X;src:url(x.woff2)}')


def test_the_theme_script_is_patched_and_deferred_as_the_installed_theme_needs():
    import pydata_sphinx_theme

    theme = Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme" / "static" / "scripts"
    text = (theme / "pydata-sphinx-theme.js").read_text()
    name = "_static/scripts/pydata-sphinx-theme.js"
    # the patch finds its text in the installed theme (another version would leave the script unchanged)
    assert bundle.patched(name, text) != text and "function I(){return;" in bundle.patched(name, text)
    assert bundle.patched("_static/other.js", text) == text
    assert bundle.after_first_paint("x()").startswith("requestAnimationFrame(() => setTimeout(function () {")


def test_the_stylesheet_is_purged_against_the_scripts_pages_run(tmp_path):
    (tmp_path / "_static" / "scripts").mkdir(parents=True)
    (tmp_path / "_static" / "a.js").write_text("el.classList.add('from-a')")
    (tmp_path / "_static" / "search.js").write_text("el.classList.add('from-search')")
    (tmp_path / "_static" / "scripts" / "unlinked.js").write_text("el.classList.add('from-unlinked')")
    (tmp_path / "_static" / "s.css").write_text(".from-a{a:b}.from-search{c:d}.from-unlinked{e:f}.in-page{g:h}")
    pages = {"index.html": '<p class="in-page"></p>',
             "sub/search.html": '<script src="../_static/search.js"></script><script src="../_static/site.js?v=1">'}
    assert bundle.linked_scripts(tmp_path, pages) == {"_static/search.js"}
    bundle.write_bundles(tmp_path, ["_static/s.css"], ["_static/a.js"], pages)
    assert (tmp_path / "_static" / "site.css").read_text() == ".from-a{a:b}.from-search{c:d}.in-page{g:h}"
    assert (tmp_path / "_static" / "site.js").read_text() == "el.classList.add('from-a')"


def test_math_is_rendered_when_the_page_is_written():
    try:
        script = chrome.katex_script(BOOK_DIR)
    except Exception as error:  # sphinx's ExtensionError: KaTeX not vendored, or no node
        pytest.skip(str(error))
    body = ('<p><span class="math notranslate nohighlight">\\(N_{opt} &lt; C^{a}\\)</span></p>'
            '<div class="math notranslate nohighlight" id="equation-x">\n<span class="eqno">(1)</span>'
            '\\[\nL = E + \\frac{A}{N^\\alpha}\n\\]</div>')
    out = chrome.render_math({"page": body}, script)["page"]
    assert out.count('class="katex"') == 2 and 'class="katex-display"' in out and "<math" in out
    assert '<span class="eqno">(1)</span>' in out and "\\(" not in out and "\\[" not in out
    preloads = chrome.font_preloads(out)
    assert "KaTeX_Main-Regular.woff2" in preloads and "KaTeX_Math-Italic.woff2" in preloads
    assert "KaTeX_AMS" not in preloads and chrome.font_preloads("<p>no math</p>") == ""
    with pytest.raises(Exception, match=r"page.*\\frac\{"):
        chrome.render_math({"page": '<span class="math notranslate nohighlight">\\(\\frac{\\)</span>'}, script)


def test_images_keep_their_room_and_load_late(tmp_path):
    svg = tmp_path / "a.svg"
    svg.write_text('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="360pt" height="180pt">')
    body = '<img alt="first" src="_images/a.svg" /><p>text</p><img alt="second" src="_images/b.png" />'
    out = chrome.sized_images(body, {"a.svg": svg})
    assert '<img alt="first" src="_images/a.svg" width="480" height="240" loading="lazy" decoding="async" />' in out
    assert '<img alt="second" src="_images/b.png" loading="lazy" decoding="async" />' in out


def test_a_page_is_described_by_its_verdict_else_its_first_paragraph():
    from docutils.core import publish_doctree

    prose = publish_doctree("Title\n=====\n\n.. note::\n\n   A note that is not the page's subject at all.\n\n"
                            "The first paragraph of the page, which says what the page is about, in enough words.\n")
    assert chrome.description(prose).startswith("The first paragraph of the page")
    verdict = publish_doctree(".. admonition:: Verdict\n   :class: verdict\n\n   The paper says :math:`a \\approx 0.5`."
                              " We find " + "much " * 40 + "more.\n\nOther prose that is long enough to count here.\n")
    text = chrome.description(verdict)
    assert text.startswith("The paper says a ≈ 0.5. We find much") and text.endswith(" …") and len(text) <= 162


@pytest.mark.slow
def test_a_page_prints_to_pdf(tmp_path):
    from replication.book import pdf

    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("chromium not installed: run `make browser` (root with apt)")
    (tmp_path / "index.html").write_text("<!DOCTYPE html><title>t</title><h1>The whole book</h1><p>One page.</p>")
    out = pdf.print_pdf(tmp_path / "index.html", tmp_path / "book.pdf", exe)
    assert out.read_bytes().startswith(b"%PDF-")


def test_a_changed_stylesheet_script_or_template_rewrites_every_page(tmp_path):
    """Sphinx copies book/_static and the bundles are written only in a build that writes pages: a change there
    alone marks every page out of date (chrome's env-get-outdated hook), once."""
    from types import SimpleNamespace

    (tmp_path / "_static").mkdir()
    (tmp_path / "_templates").mkdir()
    (tmp_path / "_static" / "a.css").write_text("a{}")
    app = SimpleNamespace(srcdir=str(tmp_path))
    env = SimpleNamespace(found_docs={"intro", "study", "new"})
    assert chrome._on_env_get_outdated(app, env, {"new"}, set(), set()) == ["intro", "study"]
    assert chrome._on_env_get_outdated(app, env, set(), set(), set()) == []  # nothing changed since
    (tmp_path / "_templates" / "layout.html").write_text("x")
    assert chrome._on_env_get_outdated(app, env, set(), {"study"}, set()) == ["intro", "new"]
