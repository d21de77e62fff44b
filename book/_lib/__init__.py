"""Presentation helpers of single chapters: tables, figures and page HTML. Not part of the library.

Importing the package sets the book's figure style (SVG, the colour-blind-safe palette): every chapter
imports from it, so every page's figures look alike."""
from . import figures as _figures

_figures.setup()
