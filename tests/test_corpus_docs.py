"""The Debian documentation corpus (replication.corpus.debian, markup): extraction from unpacked packages,
cleaning, deduplication, its manifest and hash, the split by whole document; on a tiny fake package folder,
with no network. The real corpus (``make corpus``) is read by tests/test_wide_design.py."""
import json

import pytest

from replication.corpus import corpus_hash, debian, load_documents, split_documents
from replication.corpus.markup import html_to_text
from replication.errors import ReplicationError

SHARED = "A paragraph long enough to count as one, which two pages of the fake manual both print word for word."

PAGE = """<!DOCTYPE html><html><head><title>Head title</title><script>var x = "script text";</script></head>
<body><div class="related" role="navigation">Previous topic | Next topic</div>
<div class="withsidebar" id="docs-body"><h1>Opening a file<a class="headerlink" href="#x">¶</a></h1>
<p>The   function   <code>open</code>
returns a file &amp; its mode&#8217;s flags.</p>
<pre>def f(x):
    return x  # indented
</pre>
<ul><li>first item</li><li>second item</li></ul>
<p>{shared}</p>
</div><div class="sphinxsidebar"><h3>This Page</h3><a href="s.txt">Show Source</a></div>
<div class="footer">© Copyright 2001-2023</div></body></html>"""


def _page(path, body):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")


@pytest.fixture
def fake_root(tmp_path, monkeypatch):
    """One fake package, ``fake-doc`` 1.0, unpacked as ``make corpus`` unpacks: pages, a duplicate, pages left
    out (an index, Sphinx's folders), a page that is empty once its navigation is gone."""
    monkeypatch.setattr(debian, "PACKAGES", {"fake-doc": ("1.0", "MIT")})
    doc = tmp_path / "root" / "fake-doc_1.0" / "usr" / "share" / "doc" / "fake-doc"
    _page(doc / "a.html", PAGE.format(shared=SHARED))
    _page(doc / "b.html", "<html><body><p>Second page: the mode flags.</p><p>" + SHARED + "</p></body></html>")
    _page(doc / "copy.html", PAGE.format(shared=SHARED))  # the same text as a.html
    _page(doc / "sub" / "c.html", "<html><body><h2>Third</h2><p>A page in a folder.</p></body></html>")
    _page(doc / "genindex.html", "<html><body><p>index entries</p></body></html>")
    _page(doc / "_sources" / "a.html", "<html><body><p>source of a</p></body></html>")
    _page(doc / "contents.html", "<html><body><p>every heading</p></body></html>")
    _page(doc / "empty.html", '<html><body><div class="navheader">Prev Up Next</div></body></html>')
    (doc / "notes.txt").write_text("not a page")
    return tmp_path / "root"


def test_html_to_text_keeps_what_a_reader_reads():
    text = html_to_text(PAGE.format(shared=SHARED))
    assert text.splitlines() == [
        "Opening a file", "The function open returns a file & its mode’s flags.", "def f(x):",
        "    return x  # indented", "first item", "second item", SHARED]


def test_documents_are_pages_cleaned_deduplicated_in_id_order(fake_root):
    docs = debian.documents(fake_root)
    ids = [i for i, _ in docs]
    # copy.html repeats a.html; the index, contents, _sources and the page of navigation alone are left out
    assert ids == ["fake-doc/fake-doc/a.html", "fake-doc/fake-doc/b.html", "fake-doc/fake-doc/sub/c.html"]
    text = dict(docs)
    assert SHARED in text["fake-doc/fake-doc/a.html"]
    # the shared paragraph is kept in the first document only; the short line of b stays
    assert text["fake-doc/fake-doc/b.html"] == "Second page: the mode flags."
    assert text["fake-doc/fake-doc/sub/c.html"] == "Third\nA page in a folder."


def test_build_writes_a_manifest_and_load_checks_it(fake_root, tmp_path):
    out = tmp_path / "corpus"
    m = debian.build(fake_root, out)
    assert m["packages"] == {"fake-doc": {"version": "1.0", "pinned": "1.0", "licence": "MIT"}}
    assert m["documents"] == 3
    docs = debian.load(out)
    assert docs == debian.documents(fake_root)
    assert m["bytes"] == sum(len(t.encode()) for _, t in docs)
    first = (out / "documents.jsonl").read_bytes()
    debian.build(fake_root, out)  # deterministic: the same packages give the same bytes
    assert (out / "documents.jsonl").read_bytes() == first
    assert json.loads((out / "manifest.json").read_text()) == m


def test_hash_changes_with_content(fake_root, tmp_path):
    before = debian.build(fake_root, tmp_path / "one")
    docs_before = debian.load(tmp_path / "one")
    page = fake_root / "fake-doc_1.0" / "usr" / "share" / "doc" / "fake-doc" / "sub" / "c.html"
    page.write_text(page.read_text().replace("A page in a folder.", "A page in another folder."))
    after = debian.build(fake_root, tmp_path / "two")
    assert after["sha256"] != before["sha256"]
    assert corpus_hash(debian.load(tmp_path / "two")) != corpus_hash(docs_before)


def test_a_damaged_or_missing_corpus_names_make_corpus(fake_root, tmp_path, monkeypatch):
    out = tmp_path / "corpus"
    debian.build(fake_root, out)
    with open(out / "documents.jsonl", "a") as f:
        f.write('{"id": "planted", "text": "planted"}\n')
    with pytest.raises(ReplicationError, match="does not match the SHA-256.*make corpus"):
        debian.load(out)
    monkeypatch.setattr(debian, "CORPUS_DIR", tmp_path / "nowhere")
    with pytest.raises(ReplicationError, match=r"corpus='debian-docs' is not on this machine .*`make corpus`"):
        load_documents("debian-docs")


def test_build_needs_every_pinned_package(fake_root, tmp_path, monkeypatch):
    monkeypatch.setattr(debian, "PACKAGES", {"fake-doc": ("1.0", "MIT"), "other-doc": ("2", "MIT")})
    with pytest.raises(ReplicationError, match="lacks the unpacked package.*other-doc"):
        debian.build(fake_root, tmp_path / "out")


def test_a_version_the_archive_replaced_is_recorded(fake_root, tmp_path):
    (fake_root / "fake-doc_1.0").rename(fake_root / "fake-doc_1%3a1.1")  # an epoch, as apt-get names the file
    m = debian.build(fake_root, tmp_path / "out")
    assert m["packages"]["fake-doc"] == {"version": "1:1.1", "pinned": "1.0", "licence": "MIT"}


def test_load_documents_reads_the_corpus_and_splits_it_by_whole_document(fake_root, tmp_path, monkeypatch):
    debian.build(fake_root, tmp_path / "corpus")
    monkeypatch.setattr(debian, "CORPUS_DIR", tmp_path / "corpus")
    docs = load_documents("debian-docs")
    train, val = split_documents(docs, 0.34, seed=0)
    assert (train, val) == split_documents(load_documents("debian-docs"), 0.34, seed=0)
    assert val and train
    assert sorted(train + val) == sorted(docs)  # every document whole, in one split only
    assert not {i for i, _ in train} & {i for i, _ in val}
