"""The chapters as a set. Each chapter is executed once per test run, by the strict site build
(tests/test_site.py), where a failing cell fails the build."""
from replication.book import chapters


def test_every_chapter_is_in_the_toc():
    assert set(chapters.chapters()) <= set(chapters.toc_chapters())

