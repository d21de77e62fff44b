"""Presentation helpers of single chapters: tables, figures and page HTML. Not part of the library."""
