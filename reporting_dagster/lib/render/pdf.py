"""PDF: the HTML page laid out by WeasyPrint, with nothing fetched from the network or disk.

The fetcher allows `data:` URLs only (the embedded logo); http(s), file and relative URLs are
refused, and WeasyPrint leaves the resource out. The HTML is the one `html.render_text` makes, with
the layout breaks for long unbroken runs and the row bands (`for_print`, see bands.py).
"""

from __future__ import annotations

from typing import Any

from reporting_dagster.lib.render import html as html_render
from reporting_dagster.lib.render.document import ReportDocument

CONTENT_TYPE = "application/pdf"


class FetchRefused(ValueError):
    """A resource other than a data: URL was asked for."""


def _is_data_url(url: str) -> bool:
    return isinstance(url, str) and url.strip()[:5].lower() == "data:"


def data_only_fetcher(url: str, *args: Any, **kwargs: Any) -> Any:
    """Fetch `data:` URLs (through WeasyPrint's own fetcher); raise for anything else."""
    if not _is_data_url(url):
        raise FetchRefused(f"refused to fetch {str(url)[:80]!r}: only data: URLs are allowed")
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols=("data",), allow_redirects=False).fetch(url.strip())


def _fetcher() -> Any:
    """A WeasyPrint URLFetcher (v68+ wants an instance) that delegates to `data_only_fetcher`."""
    from weasyprint.urls import URLFetcher

    class DataOnlyURLFetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:  # noqa: ARG002
            return data_only_fetcher(url)

    return DataOnlyURLFetcher(allowed_protocols=("data",), allow_redirects=False)


def html_to_pdf(html: str) -> bytes:
    from weasyprint import HTML

    return HTML(string=html, url_fetcher=_fetcher(), base_url=None).write_pdf()


def render(doc: ReportDocument) -> bytes:
    return html_to_pdf(html_render.render_text(doc, for_print=True))
