"""The book build, one job per module; the package is the Sphinx extension that ``_config.yml`` loads.

- :mod:`~replication.book.chapters`: which files are chapters, their reading order (``_toc.yml``) and their
  parameters' defaults; params files checked against them
- :mod:`~replication.book.parameters`: what a parameter may be, the literal-only writer of the injected cell,
  and the strict YAML reader of params files
- :mod:`~replication.book.cache`: the execution cache's key (chapter text, parameters, library, runs, helpers)
- :mod:`~replication.book.execution`: papermill execution, and ``replication run``'s folders under a lock
- :mod:`~replication.book.sphinx`: the Sphinx hooks that execute chapters before they are parsed
- :mod:`~replication.book.site`: what the published site adds around the chapters
"""
from replication.book.sphinx import read_notebook, setup

__all__ = ["read_notebook", "setup"]
