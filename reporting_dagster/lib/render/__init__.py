"""The shared rendering layer: one `ReportDocument` in, the bytes of one file format out.

    render(doc, "pdf" | "csv" | "xlsx" | "json" | "html") -> bytes
    CONTENT_TYPES[fmt], EXTENSIONS[fmt]

    render_within_budget(doc, fmt) -> bytes   # the same, in a worker process under a time and size budget

Each format has its module (`csv`, `xlsx`, `jsonfmt`, `html`, `pdf`) with `render(doc) -> bytes`;
`values` holds the shared presentation rules (half-up money, ISO dates, the CSV guard) and
`charts` the SVG bar charts; `workers` the pool of renderer processes that enforces the budget
(the request path and the monthly pack render through it). No Dagster here.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from reporting_dagster.lib.render.document import ReportDocument

_MODULES = {
    "pdf": "reporting_dagster.lib.render.pdf",
    "csv": "reporting_dagster.lib.render.csv",
    "xlsx": "reporting_dagster.lib.render.xlsx",
    "json": "reporting_dagster.lib.render.jsonfmt",
    "html": "reporting_dagster.lib.render.html",
}

CONTENT_TYPES: dict[str, str] = {
    "pdf": "application/pdf",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
    "html": "text/html; charset=utf-8",
}

EXTENSIONS: dict[str, str] = {"pdf": "pdf", "csv": "csv", "xlsx": "xlsx", "json": "json", "html": "html"}

FORMATS = tuple(_MODULES)


def renderer(fmt: str) -> Callable[[ReportDocument], bytes]:
    """The `render(doc) -> bytes` of one format (modules load on first use: WeasyPrint is heavy)."""
    key = (fmt or "").strip().lower()
    if key not in _MODULES:
        raise ValueError(f"unknown report format {fmt!r}; known: {', '.join(_MODULES)}")
    return import_module(_MODULES[key]).render


def render(doc: ReportDocument, fmt: str) -> bytes:
    return renderer(fmt)(doc)


def render_within_budget(doc: ReportDocument, fmt: str) -> bytes:
    """`render` in this process's renderer pool: over REPORTS_RENDER_TIMEOUT_SECONDS or
    REPORTS_MAX_FILE_BYTES it raises `workers.RenderFailed` with a message that says so."""
    from reporting_dagster.lib.render import workers

    return workers.render_within_budget(doc, fmt)


__all__ = ["CONTENT_TYPES", "EXTENSIONS", "FORMATS", "render", "render_within_budget", "renderer"]
