"""The chapters as a set. Each chapter is executed once per test run, by the strict site build
(tests/test_site.py), where a failing cell fails the build."""
from replication import pipeline


def test_every_chapter_is_in_the_toc():
    assert set(pipeline.chapters()) <= set(pipeline.toc_chapters())

