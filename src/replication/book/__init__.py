"""The book build: chapter execution, its cache and the Sphinx extension, and the site's own tweaks."""
