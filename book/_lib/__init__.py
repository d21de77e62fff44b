"""Presentation helpers of single chapters: tables, figures and page HTML. Not part of the library.

Importing the package sets nothing: a chapter that draws calls ``figures.setup()`` for its page's figures
(or draws inside ``figures.style()``), so every page's figures look alike."""
