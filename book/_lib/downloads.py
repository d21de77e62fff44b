"""Files a page offers for download, embedded in the page itself (``data:`` links).

The chapter's execution writes nothing: the CSV travels inside the executed notebook, so the site carries it
and neither ``book/`` nor the working directory is touched.
"""
import base64
import html

from IPython.display import HTML


def csv_links(files: dict) -> HTML:
    """``{"name.csv": (DataFrame, "what it holds")}`` as one line of download links."""
    links = []
    for name, (df, what) in files.items():
        data = base64.b64encode(df.to_csv(index=False).encode()).decode()
        links.append(f'<a download="{html.escape(name)}" href="data:text/csv;base64,{data}">'
                     f'<code>{html.escape(name)}</code></a> ({html.escape(what)})')
    return HTML("<p>Download: " + ", ".join(links) + ".</p>")
